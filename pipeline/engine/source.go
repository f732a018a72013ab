package engine

import (
	"context"
	"fmt"
	"sync/atomic"
)

// SourceSpec describes a source stage.
type SourceSpec struct {
	// Name of the stage; empty means "source" and its index.
	Name string
	// Unit names what the source's weight counts; a weight function set
	// with [Stream.Weigh] sets it too.
	Unit Unit
}

func (spec SourceSpec) stage(p *Pipeline, total int64) *Stage {
	st := p.newStage(spec.Name, KindSource, OneToOne, 1, total, nil)
	st.unit = spec.Unit
	return st
}

// describeLast installs a describer reading the pointer last points to.
func describeLast[T any](st *Stage, describe func(T, T) string, last *atomic.Pointer[T]) {
	if describe == nil {
		return
	}
	st.desc = func() string {
		if v := last.Load(); v != nil {
			return describe(*v, *v)
		}
		return ""
	}
}

// SliceSource adds a source that emits the elements of xs in order. Its
// total is len(xs). The source has no goroutine: the workers of the next
// stage take index ranges of xs directly. xs must not be modified until the
// run ends.
func SliceSource[T any](p *Pipeline, spec SourceSpec, xs []T) *Stream[T, T] {
	p.valid("FromSlice")
	st := spec.stage(p, int64(len(xs)))
	s := newStream[T, T](p, st)
	s.sourceless = true
	var last atomic.Pointer[T]
	var weight func(T) int64
	var describe bool
	s.onAttach = append(s.onAttach, func() {
		describeLast(st, s.describe, &last)
		weight, describe = s.weigh, s.describe != nil
	})
	s.feed = &sliceFeed[T, T]{
		from: st,
		n:    int64(len(xs)),
		fill: func(dst []Item[T, T], lo, hi int) []Item[T, T] {
			for _, v := range xs[lo:hi] {
				dst = append(dst, Item[T, T]{Input: v, Value: v})
			}
			if weight != nil {
				var w int64
				for _, v := range xs[lo:hi] {
					w += weight(v)
				}
				st.m.weight.Add(w)
			}
			if describe {
				last.Store(&xs[hi-1])
			}
			return dst
		},
	}
	if len(xs) == 0 {
		markEmpty(st)
	}
	return s
}

// ChanSource adds a source that emits the values received from ch until it
// is closed or the run is cancelled. The source has no goroutine: the
// workers of the next stage receive from ch directly. Values still in ch
// when the run is cancelled are left there. It panics if ch is nil.
func ChanSource[T any](p *Pipeline, spec SourceSpec, ch <-chan T) *Stream[T, T] {
	p.valid("FromChan")
	if ch == nil {
		panic(fmt.Sprintf("pipeline: source %q: channel is nil", spec.Name))
	}
	st := spec.stage(p, -1)
	s := newStream[T, T](p, st)
	s.sourceless = true
	f := &valueFeed[T]{from: st, ch: ch}
	s.feed = f
	s.onAttach = append(s.onAttach, func() { f.item = itemMaker(st, s) })
	return s
}

// itemMaker returns the function that turns a source value into an Item,
// weighing and recording it for the description when the stream asks.
func itemMaker[T any](st *Stage, s *Stream[T, T]) func(T) Item[T, T] {
	weight := s.weigh
	if weight == nil && s.describe == nil {
		return func(v T) Item[T, T] { return Item[T, T]{Input: v, Value: v} }
	}
	var last atomic.Pointer[T]
	describeLast(st, s.describe, &last)
	describe := s.describe != nil
	return func(v T) Item[T, T] {
		if weight != nil {
			st.m.weight.Add(weight(v))
		}
		if describe {
			c := v
			last.Store(&c)
		}
		return Item[T, T]{Input: v, Value: v}
	}
}

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

// runProducer runs produce on a source's own goroutine, then closeOut:
// produce's ctx carries the stage (for AddWeight and SetTotal), a panic in
// it becomes its error, an error not caused by the run's cancellation
// becomes the run's, and the time it did not spend blocked is the source's
// busy time.
func runProducer(r *run, st *Stage, closeOut func(), produce func(ctx context.Context) error) {
	goStage(r, st, 1, func(int) {
		defer closeOut()
		ctx := context.WithValue(r.ctx, stageKey{}, st)
		var err error
		start := clock()
		defer func() { st.m.busy.Add(clock() - start - st.m.blocked.Load()) }()
		func() {
			defer func() {
				if v := recover(); v != nil {
					err = newPanicError(v)
				}
			}()
			err = produce(ctx)
		}()
		if err != nil && !(r.stopping() && isCancellation(r, err)) {
			r.runError(fmt.Errorf("pipeline: source %q: %w", st.name, err))
		}
	}, nil, nil)
}
