package engine

import (
	"fmt"
	"slices"
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

// SliceSource adds a source that emits the elements of xs in order. Its
// total is len(xs). The source has no goroutine: the workers of the next
// stage take index ranges of xs directly. xs must not be modified until the
// run ends.
func SliceSource[T any](p *Pipeline, spec SourceSpec, xs []T) *Stream[T, T] {
	p.valid("FromSlice")
	return pairSource(p, spec, xs, xs)
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
	return pairSource(p, spec, keys, values)
}

// pairSource is [PairSource], and, with keys and values the same slice,
// [SliceSource].
func pairSource[K, V any](p *Pipeline, spec SourceSpec, keys []K, values []V) *Stream[K, V] {
	st := spec.stage(p, int64(len(keys)))
	s := newStream[K, V](p, st)
	s.sourceless = true
	st.mirror = true
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
			// dst is the reading worker's buffer for this feed and only
			// ever holds its items, none with an error: its room past its
			// length has a nil Err, which is left as it is.
			vs, n := values[lo:hi], len(dst)
			dst = slices.Grow(dst, hi-lo)[:n+hi-lo]
			for i, k := range keys[lo:hi] {
				d := &dst[n+i]
				d.Input, d.Value = k, vs[i]
			}
			if weight != nil {
				var w int64
				for _, v := range vs {
					w += weight(v)
				}
				st.m.weight.Add(w)
			}
			if st.desc != nil {
				last.Store(int64(hi))
			}
			return dst
		},
	}
	if len(keys) == 0 {
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
	st.mirror = true
	f := &valueFeed[T]{from: st, ch: ch}
	s.feed = f
	s.onAttach = append(s.onAttach, func() { f.item = itemMaker(st, s) })
	return s
}

// itemMaker returns the function that turns a source value into an Item,
// weighing and recording it for the description when the stream asks.
func itemMaker[T any](st *Stage, s *Stream[T, T]) func(T) Item[T, T] {
	weight, describe := s.weigh, s.describe
	if weight == nil && describe == nil {
		return func(v T) Item[T, T] { return Item[T, T]{Input: v, Value: v} }
	}
	var last atomic.Pointer[Item[T, T]]
	describeLast(st, describe, &last)
	return func(v T) Item[T, T] {
		it := Item[T, T]{Input: v, Value: v}
		if weight != nil {
			st.m.weight.Add(weight(v))
		}
		if describe != nil {
			c := it
			last.Store(&c)
		}
		return it
	}
}
