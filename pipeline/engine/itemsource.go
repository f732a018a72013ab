package engine

import (
	"context"
	"fmt"
	"sync/atomic"
)

// FuncSource adds a source whose one goroutine runs produce, which calls
// emit for each value in order. emit blocks while the next stage is busy and
// returns false once the run is cancelled; produce should then return. An
// error returned by produce (other than one caused by the cancellation)
// fails the run under fail-fast, and is returned next to the item failures
// under continue-on-error; a panic in produce becomes such an error too. It
// panics if produce is nil.
func FuncSource[T any](p *Pipeline, spec SourceSpec, produce func(ctx context.Context, emit func(T) bool) error) *Stream[T, T] {
	p.valid("Generate")
	if produce == nil {
		panic(fmt.Sprintf("pipeline: source %q: function is nil", spec.Name))
	}
	return itemSource(p, spec, func(ctx context.Context, emit func(Item[T, T]) bool) error {
		return produce(ctx, func(v T) bool { return emit(Item[T, T]{Input: v, Value: v}) })
	})
}

// ItemSource adds a source whose one goroutine runs produce, which calls
// emit for each item in order. Unlike [FuncSource], an item's pipeline
// input and value may differ (a key and its value), and an item may fail
// at the source: an item whose Err is set enters the source and fails
// there with its Input, as an item fails in a stage ([Worker.Fail]): under
// fail-fast the first such item cancels the run and is returned by the
// sink as an [*ItemError] naming the source; under continue-on-error it
// travels to the sink and the source goes on. A failure whose error comes
// from the run's cancellation counts as cancelled instead.
//
// emit blocks while the next stage is busy and returns false once the run
// is cancelled; produce should then return. An error returned by produce
// (other than one caused by the cancellation) ends the source and is
// handled like [FuncSource]'s; a panic in produce becomes such an error.
// It panics if produce is nil.
func ItemSource[S, T any](p *Pipeline, spec SourceSpec, produce func(ctx context.Context, emit func(Item[S, T]) bool) error) *Stream[S, T] {
	p.valid("ItemSource")
	if produce == nil {
		panic(fmt.Sprintf("pipeline: source %q: function is nil", spec.Name))
	}
	return itemSource(p, spec, produce)
}

// itemSource is [ItemSource] and, with items whose input is their value,
// [FuncSource]: the source's goroutine queues its items on a [sourceQueue],
// which counts them in as they are queued and out as the next stage takes
// them (so In - Out is what waits in the queue); their weight is counted
// with them, and the last one queued is the description's. produce's ctx
// carries the stage (for AddWeight and SetTotal), a panic in it becomes its
// error, an error not caused by the run's cancellation becomes the run's,
// and the time it did not spend blocked is the source's busy time.
func itemSource[S, T any](p *Pipeline, spec SourceSpec, produce func(ctx context.Context, emit func(Item[S, T]) bool) error) *Stream[S, T] {
	st := spec.stage(p, -1)
	s := newStream[S, T](p, st)
	q := newSourceQueue[S, T](st)
	s.feed = q
	var weigh func(T) int64
	var describe func(S, T) string
	var last atomic.Pointer[Item[S, T]]
	s.onAttach = append(s.onAttach, func() {
		weigh, describe = s.weigh, s.describe
		describeLast(st, describe, &last)
	})
	p.starts = append(p.starts, func(r *run) {
		emit := func(it Item[S, T]) bool {
			if r.stopping() {
				// Checked first: the queue would still take items while
				// the next stage drains it after the cancellation, and
				// the producer would go on.
				return false
			}
			if it.Err != nil {
				return failAtSource(r, q, it)
			}
			var w int64
			if weigh != nil {
				w = weigh(it.Value)
			}
			if !q.put(r, it, 1, w) {
				return false
			}
			if describe != nil {
				c := it
				last.Store(&c)
			}
			return true
		}
		goStage(r, st, 1, func(int) {
			defer q.close()
			ctx := context.WithValue(r.ctx, stageKey{}, st)
			start := clock()
			defer func() { st.m.busy.Add(clock() - start - st.m.blocked.Load()) }()
			var err error
			if pe := Catch(func() { err = produce(ctx, emit) }); pe != nil {
				err = pe
			}
			if err != nil && !(r.stopping() && isCancellation(r, err)) {
				r.runError(fmt.Errorf("pipeline: source %q: %w", st.name, err))
			}
		}, nil, nil)
	})
	return s
}

// failAtSource accounts for an item that fails at the source of queue q
// and queues its failure record under continue-on-error; it reports
// whether the source should go on.
func failAtSource[S, T any](r *run, q *sourceQueue[S, T], it Item[S, T]) bool {
	m := &q.from.m
	m.in.Add(1)
	if r.stopping() && isCancellation(r, it.Err) {
		m.cancelled.Add(1)
		return false
	}
	m.failed.Add(1)
	ie := &ItemError[S]{Input: it.Input, Stage: q.from.name, Err: it.Err}
	rec := Item[S, T]{Input: it.Input, Err: ie}
	switch {
	case !r.p.cfg.ContinueOnError:
		r.fail(ie)
		return false
	case !q.put(r, rec, 0, 0):
		// Cancelled while the next stage was full: the failure is still
		// returned by the sink.
		keepFailures(r, []Item[S, T]{rec})
		return false
	}
	return true
}
