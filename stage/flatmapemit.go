package stage

import (
	"context"
	"iter"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
)

// FlatMapEmit is [FlatMap] for expansions too large to hold in a slice: fn
// hands each output of v to emit as it makes it, and the outputs stream on
// while fn runs, each keeping the item's pipeline input, in the order fn
// emits them (outputs of different items come in completion order).
//
// emit blocks while the next stage is full, so a large expansion goes at
// the pace of its consumer with bounded memory; it returns false once the
// run is cancelled, and fn should then return: the item then counts as
// cancelled, and what it emits from then on is not handed on. An output is
// handed on when fn emits the next one or returns, so that the item is
// counted once, with its last output. fn must not call emit after it
// returns or from another goroutine.
//
// An item fn emits nothing for counts as dropped. An error returned by fn,
// or a panic (a *pipeline.PanicError with its stack), fails the item; the
// outputs emitted before it are handed on all the same (under
// continue-on-error the sink sees them beside the item's error).
//
// The stage's total is not known until its input ends. Its bar counts items
// as their expansions end; to watch a long expansion move, count its
// outputs as the stage's weight: WithUnit("outputs") and
// pipeline.AddWeight(ctx, 1) for each output emitted. Options: WithName,
// WithWorkers, WithUnit. It panics if fn is nil.
func FlatMapEmit[S, In, Out any](in *pipeline.Stream[S, In], fn func(ctx context.Context, v In, emit func(Out) bool) error, opts ...Option) *pipeline.Stream[S, Out] {
	if fn == nil {
		panic("stage: FlatMapEmit: function is nil")
	}
	c := newConfig("FlatMapEmit", unorderedOpts, opts)
	return engine.Attach([]*pipeline.Stream[S, In]{in}, spec[S, In, Out](c, fn, engine.KindFlatMap, engine.Many, false), &flatMapEmitOp[S, In, Out]{fn: fn})
}

// FlatMapSeq is [FlatMapEmit] for a function that returns its outputs as an
// iterator: the stage ranges over the sequence fn returns for v and hands
// each value on as it comes, stopping the iterator early once the run is
// cancelled. A non-nil error in the sequence fails the item and ends its
// iteration (the value paired with it is ignored); the outputs before it
// are handed on. Blocking, order, counts and options are those of
// FlatMapEmit. It panics if fn is nil.
func FlatMapSeq[S, In, Out any](in *pipeline.Stream[S, In], fn func(ctx context.Context, v In) iter.Seq2[Out, error], opts ...Option) *pipeline.Stream[S, Out] {
	if fn == nil {
		panic("stage: FlatMapSeq: function is nil")
	}
	c := newConfig("FlatMapSeq", unorderedOpts, opts)
	emitFn := func(ctx context.Context, v In, emit func(Out) bool) error {
		for out, err := range fn(ctx, v) {
			if err != nil {
				return err
			}
			if !emit(out) {
				return nil
			}
		}
		return nil
	}
	return engine.Attach([]*pipeline.Stream[S, In]{in}, spec[S, In, Out](c, fn, engine.KindFlatMap, engine.Many, false), &flatMapEmitOp[S, In, Out]{fn: emitFn})
}

// flatMapEmitOp runs one worker's items; each worker has its own emit
// closure state, so the operator value itself holds only fn.
type flatMapEmitOp[S, In, Out any] struct {
	fn func(context.Context, In, func(Out) bool) error
}

func (op *flatMapEmitOp[S, In, Out]) Work(w *engine.Worker[S, In, S, Out]) {
	ctx := w.Context()
	var (
		input   S
		held    Out  // the last output emitted, not yet handed on
		holding bool // held is set
		open    bool // fn is running for the current item
	)
	emit := func(v Out) bool {
		if !open {
			panic("stage: FlatMapEmit: emit called after the function returned")
		}
		if holding {
			w.Emit(engine.Item[S, Out]{Input: input, Value: held}, 0)
		}
		held, holding = v, true
		return !w.Stopping()
	}
	for {
		it, ok := w.Next()
		if !ok {
			return
		}
		n := w.Units(it)
		input, holding, open = it.Input, false, true
		var err error
		pe := engine.Catch(func() { err = op.fn(ctx, it.Value, emit) })
		if pe != nil {
			err = pe
		}
		open = false
		switch {
		case w.Stopping() && pe == nil:
			// Told to stop: the expansion is cut short, and the item
			// counts as cancelled.
			w.Cancel(n)
		case err != nil:
			if holding {
				w.Emit(engine.Item[S, Out]{Input: input, Value: held}, 0)
			}
			w.Fail(input, n, err)
		case !holding:
			w.Drop(n)
		default:
			w.Emit(engine.Item[S, Out]{Input: input, Value: held}, n)
		}
		var zero Out
		held = zero
	}
}
