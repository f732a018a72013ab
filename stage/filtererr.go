package stage

import (
	"context"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
)

// FilterErr is [Filter] for a predicate that needs the run's context (a
// lookup in a database, a HEAD request) and may fail: keep returns whether
// to keep the item and an error, which fails the item (it is neither kept
// nor dropped) and is then handled by the pipeline's error policy like a
// map's error. A panic in keep fails the item too. keep runs on a fixed
// number of workers (WithWorkers, default GOMAXPROCS), each blocking while
// the next stage is full, and kept items are handed on in completion
// order. Options: WithName, WithWorkers, WithUnit, and WithRetry,
// WithBackoff, WithTimeout and WithRate, which wrap each call of keep as
// they do for [Map]. It panics if keep is nil or in already has a consumer.
func FilterErr[S, T any](in *pipeline.Stream[S, T], keep func(ctx context.Context, v T) (bool, error), opts ...Option) *pipeline.Stream[S, T] {
	return filterErrStage("FilterErr", in, keep, false, opts)
}

// OrderedFilterErr is [FilterErr] that hands the kept items on in input
// order, with the bounded reorder window of [OrderedMap]; it also takes
// WithWindow.
func OrderedFilterErr[S, T any](in *pipeline.Stream[S, T], keep func(ctx context.Context, v T) (bool, error), opts ...Option) *pipeline.Stream[S, T] {
	return filterErrStage("OrderedFilterErr", in, keep, true, opts)
}

func filterErrStage[S, T any](what string, in *pipeline.Stream[S, T], keep func(context.Context, T) (bool, error), ordered bool, opts []Option) *pipeline.Stream[S, T] {
	if keep == nil {
		panic("stage: " + what + ": function is nil")
	}
	c := newConfig(what, allowed(ordered)|resilientOpts, opts)
	c.res.build(what, c.set)
	sp := spec[S, T, T](c, keep, engine.KindFilter, engine.AtMostOne, ordered)
	return engine.Attach([]*pipeline.Stream[S, T]{in}, sp, filterErrOp[S, T]{guard(&c.res, keep)})
}

type filterErrOp[S, T any] struct {
	keep func(context.Context, T) (bool, error)
}

func (op filterErrOp[S, T]) Work(w *engine.Worker[S, T, S, T]) {
	keep := op.keep
	engine.Each(w, func(ctx context.Context, _ S, v T) (T, bool, error) {
		ok, err := keep(ctx, v)
		return v, ok, err
	})
}
