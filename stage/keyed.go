package stage

import (
	"context"
	"hash/maphash"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
)

// MapByKey returns a stage that calls fn on every item, where every item
// with the same key(v) goes to the same worker, and each worker takes its
// items one at a time in the order they reached the stage: for any key,
// fn sees its items in input order and never two of them at once. That is
// what stateful per-key work needs (a running total per user, a session per
// host, a file per tenant): state owned by a key needs no lock when only
// one worker touches it at a time, in order.
//
// Keys are hashed to a fixed number of workers (option WithWorkers,
// default GOMAXPROCS); the mapping of keys to workers is fixed for a run.
// "Input order" is the order in which items reach the stage: the order of
// a slice or a channel, or, after an unordered stage, that stage's
// completion order. The results of each key are handed on in that order
// too (a stage with several workers after this one may mix them again);
// results of different keys come in completion order. A worker blocks
// while the next stage is full, and the stage that routes the items blocks
// while the worker of an item's key is busy with earlier items and its
// input is full: a hot key slows the stage to the pace of one worker (the
// price of its order), the other workers still take their keys.
//
// The routing shows as a stage of its own, named after this one followed
// by "/keys". A panic in key fails the item, with its input, in that
// stage; an error or panic in fn fails the item here; failures follow the
// pipeline's error policy, and fn receives the run's context, cancelled on
// the first error under fail-fast. Options: WithName, WithWorkers,
// WithUnit. It panics if key or fn is nil.
func MapByKey[S, In, Out any, K comparable](in *pipeline.Stream[S, In], key func(v In) K, fn func(ctx context.Context, v In) (Out, error), opts ...Option) *pipeline.Stream[S, Out] {
	if key == nil {
		panic("stage: MapByKey: key function is nil")
	}
	if fn == nil {
		panic("stage: MapByKey: function is nil")
	}
	c := newConfig("MapByKey", unorderedOpts, opts)
	sp := spec[S, In, Out](c, fn, engine.KindMap, engine.OneToOne, false)
	n := uint64(c.workers)
	seed := maphash.MakeSeed()
	route := func(_ S, v In) int { return int(maphash.Comparable(seed, key(v)) % n) }
	return engine.AttachKeyed(in, route, sp, mapOp[S, In, Out]{fn})
}
