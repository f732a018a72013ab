package stage

import (
	"context"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
)

// FlatMap returns a stage that calls fn on every item and hands on each
// value of the slice it returns, in the slice's order, as separate items
// that keep the item's pipeline input: one input, zero or more outputs. An
// empty slice counts the item as dropped; an error fails the item (no
// output of it is handed on). Outputs of different items come in
// completion order. The stage's total is not known until its input ends, so
// the bars after it show a growing total. Options: WithName, WithWorkers,
// WithUnit. It panics if fn is nil.
func FlatMap[S, In, Out any](in *pipeline.Stream[S, In], fn func(ctx context.Context, v In) ([]Out, error), opts ...Option) *pipeline.Stream[S, Out] {
	if fn == nil {
		panic("stage: FlatMap: function is nil")
	}
	c := newConfig("FlatMap", unorderedOpts, opts)
	return engine.Attach([]*pipeline.Stream[S, In]{in}, spec[S, In, Out](c, fn, engine.KindFlatMap, engine.Many, false), flatMapOp[S, In, Out]{fn})
}

type flatMapOp[S, In, Out any] struct {
	fn func(context.Context, In) ([]Out, error)
}

func (op flatMapOp[S, In, Out]) Work(w *engine.Worker[S, In, S, Out]) {
	ctx := w.Context()
	for {
		it, ok := w.Next()
		if !ok {
			return
		}
		outs, err := op.fn(ctx, it.Value)
		n := w.Units(it)
		switch {
		case err != nil:
			w.Fail(it.Input, n, err)
		case len(outs) == 0:
			w.Drop(n)
		default:
			input := it.Input
			for i, v := range outs {
				done := int64(0)
				if i == 0 {
					done = n // the item is handed on with its first output
				}
				w.Emit(engine.Item[S, Out]{Input: input, Value: v}, done)
			}
		}
	}
}
