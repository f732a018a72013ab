package pipeline

import (
	"context"
	"fmt"
	"sync/atomic"
)

// SourceSpec describes a source stage.
type SourceSpec[T any] struct {
	// Name of the stage; empty means "source" and its index.
	Name string
	// Unit names what the source's weight counts; a weight function set
	// with [Stream.Weigh] sets it too.
	Unit Unit
}

func (spec SourceSpec[T]) stage(p *Pipeline, total int64) *Stage {
	st := p.NewStage(spec.Name, KindSource, 1, total, nil)
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

// SliceSource attaches a source that emits the elements of xs in order. Its
// total is len(xs). The source has no goroutine: the workers of the next
// stage take index ranges of xs directly. xs must not be modified until the
// run ends.
func SliceSource[T any](p *Pipeline, spec SourceSpec[T], xs []T) *Stream[T, T] {
	st := spec.stage(p, int64(len(xs)))
	s := newStream[T, T](p, st)
	var last atomic.Pointer[T]
	var weight func(T) int64
	var describe bool
	s.onAttach = func() {
		describeLast(st, s.describe, &last)
		weight, describe = s.weigh, s.describe != nil
	}
	s.slice = &sliceFeed[T, T]{
		n: int64(len(xs)),
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
		st.finished.Store(true)
	}
	return s
}

// ChanSource attaches a source that emits the values received from ch until
// it is closed or the run is cancelled. The source has no goroutine: the
// workers of the next stage receive from ch directly. Values still in ch when
// the run is cancelled are left there. It panics if ch is nil.
func ChanSource[T any](p *Pipeline, spec SourceSpec[T], ch <-chan T) *Stream[T, T] {
	if ch == nil {
		panic(fmt.Sprintf("pipeline: source %q: channel is nil", spec.Name))
	}
	st := spec.stage(p, -1)
	s := newStream[T, T](p, st)
	s.items = ch
	s.onAttach = func() { s.fromValue = itemMaker(st, s) }
	return s
}

// itemMaker returns the function that turns a source value into an Item,
// weighing and recording it for the description when the spec asks.
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

// SourceBuffer is the capacity, in items, of the channel between a source's
// own goroutine ([FuncSource]) and the next stage.
const SourceBuffer = 1024

// FuncSource attaches a source whose one goroutine runs produce, which calls
// emit for each value in order. emit blocks while the next stage is busy and
// returns false once the run is cancelled; produce should then return. An
// error returned by produce (other than one caused by the cancellation)
// fails the run under fail-fast, and is returned next to the item failures
// under [WithContinueOnError]; a panic in produce becomes such an error too.
// It panics if produce is nil.
func FuncSource[T any](p *Pipeline, spec SourceSpec[T], produce func(ctx context.Context, emit func(T) bool) error) *Stream[T, T] {
	if produce == nil {
		panic(fmt.Sprintf("pipeline: source %q: function is nil", spec.Name))
	}
	st := spec.stage(p, -1)
	s := newStream[T, T](p, st)
	ch := make(chan T, SourceBuffer)
	s.items = ch
	s.itemsOwned = true
	s.onAttach = func() { s.fromValue = itemMaker(st, s) }
	p.starts = append(p.starts, func(r *run) {
		r.pool.Go(func() {
			defer func() {
				close(ch)
				st.finished.Store(true)
			}()
			ctx := workerContext(r, st)
			done := r.ctx.Done()
			emit := func(v T) bool {
				if r.stopping() {
					// The fast path below would still succeed while
					// the next stage drains the buffer after the
					// cancellation, and the producer would go on.
					return false
				}
				select {
				case ch <- v:
					st.m.in.Add(1)
					st.m.out.Add(1)
					return true
				default:
				}
				select {
				case ch <- v:
					st.m.in.Add(1)
					st.m.out.Add(1)
					return true
				case <-done:
					return false
				}
			}
			var err error
			func() {
				defer func() {
					if v := recover(); v != nil {
						err = &PanicError{Value: v, Stack: stack(v)}
					}
				}()
				err = produce(ctx, emit)
			}()
			if err != nil && !(r.stopping() && isCancellation(r, err)) {
				r.runError(fmt.Errorf("pipeline: source %q: %w", st.name, err))
			}
		})
	})
	return s
}
