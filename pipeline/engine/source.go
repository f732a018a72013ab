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

// SliceSource adds a source that emits the elements of xs in order. Its
// total is len(xs). The source has no goroutine: the workers of the next
// stage take index ranges of xs directly. xs must not be modified until the
// run ends.
func SliceSource[T any](p *Pipeline, spec SourceSpec, xs []T) *Stream[T, T] {
	p.valid("FromSlice")
	return pairSource(p, spec, xs, xs)
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
