package sink

import (
	"context"
	"fmt"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
)

// First runs the pipeline until n results have arrived, then stops it and
// returns them with their inputs, in arrival order (input order when every
// stage is ordered): the first matches of a search, a sample of a large
// input. Stopping early is not an error: the run is cancelled (user
// functions see context.Cause == pipeline.ErrStopped), no new item starts,
// and First returns once every goroutine of the run has exited, with a nil
// error, leaving the rest of the input unread (counted as cancelled). When
// the input has fewer than n results, it returns them all. Errors before
// the n-th result are as for every sink: under fail-fast the first is
// returned with the results before it; under continue-on-error the
// failures that arrived before the n-th result are returned joined, and
// those still on their way are not. It panics if n is less than 1.
func First[S, T any](ctx context.Context, in *pipeline.Stream[S, T], n int, opts ...Option) ([]Result[S, T], error) {
	if n < 1 {
		panic(fmt.Sprintf("sink: First: n is %d; it must be at least 1", n))
	}
	c := newConfig(opts)
	out := make([]Result[S, T], 0, min(n, 1024))
	err := engine.Consume(ctx, in, engine.Consumer[S, T]{
		Name: c.name,
		Each: func(it engine.Item[S, T]) error {
			out = append(out, Result[S, T]{Input: it.Input, Value: it.Value})
			if len(out) == n {
				return engine.ErrStop
			}
			return nil
		},
	})
	return out, err
}
