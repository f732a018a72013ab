package sink

import (
	"context"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
)

// GroupBy runs the pipeline and groups its results by key(input, value)
// into a map of slices: each slice holds the values with that key in
// arrival order (input order when every stage is ordered). It blocks until
// every goroutine of the run has exited. key is called serially, from the
// calling goroutine, once per result. Errors are those of every sink: under
// fail-fast the map holds what arrived before the first error, which is
// returned; under continue-on-error it holds every success and the error
// joins every failure. A panic in key fails the item it was called for. It
// panics if key is nil.
func GroupBy[S, T any, K comparable](ctx context.Context, in *pipeline.Stream[S, T], key func(input S, v T) K, opts ...Option) (map[K][]T, error) {
	if key == nil {
		panic("sink: GroupBy: key function is nil")
	}
	c := newConfig(opts)
	m := map[K][]T{}
	err := engine.Consume(ctx, in, engine.Consumer[S, T]{
		Name: c.name,
		Each: func(it engine.Item[S, T]) error {
			k := key(it.Input, it.Value)
			m[k] = append(m[k], it.Value)
			return nil
		},
	})
	return m, err
}

// CountBy runs the pipeline and counts its results by key(input, value):
// a histogram, such as the number of times each word occurs. It holds one
// counter per distinct key, not the results, so its memory does not grow
// with the number of items. It blocks until every goroutine of the run has
// exited; key is called serially, from the calling goroutine, in arrival
// order. Errors are as for [GroupBy]: the counts are those of the results
// that arrived. It panics if key is nil.
func CountBy[S, T any, K comparable](ctx context.Context, in *pipeline.Stream[S, T], key func(input S, v T) K, opts ...Option) (map[K]int, error) {
	if key == nil {
		panic("sink: CountBy: key function is nil")
	}
	c := newConfig(opts)
	m := map[K]int{}
	err := engine.Consume(ctx, in, engine.Consumer[S, T]{
		Name: c.name,
		Each: func(it engine.Item[S, T]) error {
			m[key(it.Input, it.Value)]++
			return nil
		},
	})
	return m, err
}
