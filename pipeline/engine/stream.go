package engine

import (
	"fmt"
	"sync/atomic"
)

// Item is one element moving through a pipeline: the pipeline's original
// input it came from, its current value, and, for an item that failed under
// continue-on-error, the error (an [*ItemError]) with which it travels to
// the sink. Operators see Items; users see values.
type Item[S, T any] struct {
	Input S     // the pipeline input the item came from
	Value T     // the item's current value (the zero value for a failure)
	Err   error // nil, or the *ItemError of an item that failed upstream
}

// Stream is the typed output of a stage: values of type T, each still tied
// to the pipeline input of type S it came from, so that a sink can key
// results by input without a pass-through function.
//
// A Stream is consumed by exactly one stage or sink; a second consumer
// panics at build time. What moves items to the consumer (an edge) is
// chosen when the consumer attaches.
type Stream[S, T any] struct {
	p    *Pipeline
	from *Stage
	to   *Stage

	// The producer side, set by the producing stage's constructor: a feed
	// the consumers read directly (a slice or channel source), or, when
	// feed is nil, the producing stage's workers write to an outlet made
	// at attach time.
	feed      inlet[S, T]
	producers int
	out       outlet[S, T]
	recycle   bool // chunks may be reused (no describer keeps pointers into them)
	// sourceless says that feed is read directly from a slice or a user's
	// channel, with no goroutine of the source's own: its consumers'
	// lifecycle finishes the source.
	sourceless bool

	// units, when set, gives the number of pipeline items an item stands
	// for (a batch holds several); nil means one.
	units func(S) int64

	weigh    func(T) int64
	describe func(S, T) string
	// onAttach, set by the producer, runs once the stream has its
	// consumer: weigh and describe cannot change after that.
	onAttach []func()
}

// From returns the stage that produces the stream.
func (s *Stream[S, T]) From() *Stage { return s.from }

// Pipeline returns the pipeline the stream belongs to.
func (s *Stream[S, T]) Pipeline() *Pipeline { return s.p }

// Weigh makes the stage that produces s count the weight of each value it
// emits, as given by fn, in unit (Bytes, Rows, or any name): progress bars
// then show bytes or rows instead of items. fn is called once per item, from
// the stage's goroutines. It returns s, so that it chains after the stage
// constructor. It panics if fn is nil or s already has a consumer.
func (s *Stream[S, T]) Weigh(unit Unit, fn func(v T) int64) *Stream[S, T] {
	s.check("Weigh")
	if fn == nil {
		panic(fmt.Sprintf("pipeline: Weigh: stage %q: function is nil", s.from.name))
	}
	s.mustOpen("Weigh")
	s.weigh = fn
	s.from.unit = unit
	return s
}

// Describe gives the stage that produces s a description of its last
// result, such as the file just hashed, which progress bars show. fn
// receives the item's pipeline input and the value. It is called only when
// the description is read (a few times a second by a progress bar), never
// per item, so it may format freely. It returns s. It panics if fn is nil or
// s already has a consumer.
func (s *Stream[S, T]) Describe(fn func(input S, v T) string) *Stream[S, T] {
	s.check("Describe")
	if fn == nil {
		panic(fmt.Sprintf("pipeline: Describe: stage %q: function is nil", s.from.name))
	}
	s.mustOpen("Describe")
	s.describe = fn
	return s
}

// check panics, saying what to do, if s is nil or a zero value.
func (s *Stream[S, T]) check(what string) {
	if s == nil || s.p == nil {
		panic("pipeline: " + what + ": the stream is nil or a zero value; streams come from stage constructors such as stage.FromSlice")
	}
}

// mustOpen panics if s already has a consumer or the pipeline has run.
func (s *Stream[S, T]) mustOpen(what string) {
	s.p.mustBuild(what)
	if s.to != nil {
		panic(fmt.Sprintf("pipeline: %s: the output of stage %q is already consumed by stage %q; call it before passing the stream on", what, s.from.name, s.to.name))
	}
}

// Units returns the function giving how many pipeline items an item of s
// stands for, or nil when each stands for one. An operator whose output
// keeps its input's pipeline type S passes it on with [Output.SetUnits].
func (s *Stream[S, T]) Units() func(S) int64 { return s.units }

func newStream[S, T any](p *Pipeline, from *Stage) *Stream[S, T] {
	s := &Stream[S, T]{p: p, from: from, recycle: true}
	p.streams = append(p.streams, streamInfo{from: from, consumed: func() bool { return s.to != nil }})
	return s
}

// attach marks s as consumed by stage to and returns its reader side.
// store, for a sink that only stores results, is its storing function,
// which the producers may then call themselves; nil means that the
// consuming stage's workers read. It panics on a second consumer.
func (s *Stream[S, T]) attach(to *Stage, store func([]Item[S, T]) int64) inlet[S, T] {
	if s.to != nil {
		panic(fmt.Sprintf("pipeline: the output of stage %q is already consumed by stage %q; a stream has one consumer", s.from.name, s.to.name))
	}
	s.to = to
	for _, f := range s.onAttach {
		f()
	}
	if s.describe != nil {
		s.recycle = false
	}
	if f, ok := any(s.feed).(interface{ setConsumers(n int) }); ok {
		f.setConsumers(to.workers) // for guided reads
	}
	if s.feed != nil {
		return s.feed
	}
	if store != nil && !s.p.knobs.NoDirect {
		d := newDirectFeed(s.p, s.producers, s.recycle, store)
		s.out = d
		return d
	}
	e := newChunkEdge[S, T](s.p, s.producers, to.workers, s.recycle)
	s.out = e
	return e
}

// unitsOf returns the number of pipeline items it stands for, given its
// stream's units (nil: one).
func unitsOf[S, T any](units func(S) int64, it *Item[S, T]) int64 {
	if units == nil {
		return 1
	}
	return units(it.Input)
}

// describeLast makes the description of stage st, when describe is set,
// that of the item last points to.
func describeLast[S, T any](st *Stage, describe func(S, T) string, last *atomic.Pointer[Item[S, T]]) {
	if describe == nil {
		return
	}
	st.desc = func() string {
		if it := last.Load(); it != nil {
			return describe(it.Input, it.Value)
		}
		return ""
	}
}
