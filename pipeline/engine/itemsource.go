package engine

import (
	"context"
	"fmt"
	"sync/atomic"
)

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
// with them, and the last one queued is the description's.
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
		if describe != nil {
			st.desc = func() string {
				if it := last.Load(); it != nil {
					return describe(it.Input, it.Value)
				}
				return ""
			}
		}
	})
	p.starts = append(p.starts, func(r *run) {
		send := func(it Item[S, T]) bool { return q.put(r, it, 0, 0) }
		emit := func(it Item[S, T]) bool {
			if r.stopping() {
				// Checked first: the queue would still take items while
				// the next stage drains it after the cancellation, and
				// the producer would go on.
				return false
			}
			if it.Err != nil {
				return failAtSource(r, st, it, send)
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
		runProducer(r, st, q.close, func(ctx context.Context) error { return produce(ctx, emit) })
	})
	return s
}

// failAtSource accounts for an item that fails at source st and hands its
// failure record on with send under continue-on-error; it reports whether
// the source should go on.
func failAtSource[S, T any](r *run, st *Stage, it Item[S, T], send func(Item[S, T]) bool) bool {
	st.m.in.Add(1)
	if r.stopping() && isCancellation(r, it.Err) {
		st.m.cancelled.Add(1)
		return false
	}
	ie := &ItemError[S]{Input: it.Input, Stage: st.name, Err: it.Err}
	if !r.p.cfg.ContinueOnError {
		st.m.failed.Add(1)
		r.fail(ie)
		return false
	}
	if !send(Item[S, T]{Input: it.Input, Err: ie}) {
		// Cancelled while the next stage was full: the failure is still
		// returned by the sink.
		st.m.failed.Add(1)
		keepFailures(r, []Item[S, T]{{Input: it.Input, Err: ie}})
		return false
	}
	st.m.failed.Add(1)
	return true
}

// PairSource adds a source that emits, in order, an item for each index i
// of keys whose pipeline input is keys[i] and whose value is values[i] (a
// map's entries, for instance). Its total is len(keys). Like
// [SliceSource] it has no goroutine: the workers of the next stage take
// index ranges directly. The slices must not be modified until the run
// ends. It panics if they differ in length.
func PairSource[K, V any](p *Pipeline, spec SourceSpec, keys []K, values []V) *Stream[K, V] {
	p.valid("PairSource")
	if len(keys) != len(values) {
		panic(fmt.Sprintf("pipeline: source %q: %d keys for %d values", spec.Name, len(keys), len(values)))
	}
	st := spec.stage(p, int64(len(keys)))
	s := newStream[K, V](p, st)
	s.sourceless = true
	var last atomic.Int64 // the index of the last item handed out, plus one
	var weight func(V) int64
	s.onAttach = append(s.onAttach, func() {
		weight = s.weigh
		if d := s.describe; d != nil {
			st.desc = func() string {
				if i := last.Load(); i > 0 {
					return d(keys[i-1], values[i-1])
				}
				return ""
			}
		}
	})
	s.feed = &sliceFeed[K, V]{
		from: st,
		n:    int64(len(keys)),
		fill: func(dst []Item[K, V], lo, hi int) []Item[K, V] {
			for i := lo; i < hi; i++ {
				dst = append(dst, Item[K, V]{Input: keys[i], Value: values[i]})
			}
			if weight != nil {
				var w int64
				for _, v := range values[lo:hi] {
					w += weight(v)
				}
				st.m.weight.Add(w)
			}
			last.Store(int64(hi))
			return dst
		},
	}
	if len(keys) == 0 {
		markEmpty(st)
	}
	return s
}
