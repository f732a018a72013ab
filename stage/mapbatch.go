package stage

import (
	"context"
	"fmt"
	"time"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
)

// MapBatch returns a stage that calls fn on batches of at most size items
// (a bulk API call, a database insert) while items stay items: output i of
// a batch is the result of its input i and keeps that item's pipeline
// input, so Stream[S, In] becomes Stream[S, Out] and sink.ByInput after it
// still keys by input. Progress counts items, not batches.
//
// Each worker (option WithWorkers, default GOMAXPROCS) fills a batch of its
// own from the items it takes, in the order it takes them, and calls fn
// when the batch is full, when its first item has waited maxWait (0: only
// full batches, and the last partial one at the end of the input) or at the
// end of the input; the workers' batches run in parallel. A worker blocks
// while fn runs and while the next stage is full, and holds at most size
// items, so the stage holds at most workers × size. The outputs of a
// batch are handed on in the batch's order, batches in completion order.
// fn receives the run's context; the batch slice is reused once fn returns,
// so fn must not keep it.
//
// If fn returns an error or panics, every item of the batch fails with it,
// each as its own *pipeline.ItemError naming that item's input; if it
// returns a number of outputs other than the batch's length, every item
// fails with an error that says both numbers. Under fail-fast the first
// failure cancels the run; items of a partial batch held when the run is
// cancelled are counted as cancelled. For a bulk call that reports
// errors row by row, return outputs that carry their own error (a struct
// with an Err field) and fail those items in a [Map] after the stage.
// Options: WithName, WithWorkers,
// WithUnit. It panics if fn is nil, size is less than 1 or maxWait is
// negative.
func MapBatch[S, In, Out any](in *pipeline.Stream[S, In], size int, maxWait time.Duration, fn func(ctx context.Context, batch []In) ([]Out, error), opts ...Option) *pipeline.Stream[S, Out] {
	if fn == nil {
		panic("stage: MapBatch: function is nil")
	}
	if size < 1 {
		panic(fmt.Sprintf("stage: MapBatch: size %d is less than 1", size))
	}
	if maxWait < 0 {
		panic(fmt.Sprintf("stage: MapBatch: maxWait %v is negative", maxWait))
	}
	c := newConfig("MapBatch", unorderedOpts, opts)
	return engine.Attach([]*pipeline.Stream[S, In]{in}, spec[S, In, Out](c, fn, engine.KindMap, engine.OneToOne, false),
		&mapBatchOp[S, In, Out]{fn: fn, size: size, maxWait: maxWait})
}

type mapBatchOp[S, In, Out any] struct {
	fn      func(context.Context, []In) ([]Out, error)
	size    int
	maxWait time.Duration
}

func (op *mapBatchOp[S, In, Out]) Work(w *engine.Worker[S, In, S, Out]) {
	b := &mapBatch[S, In, Out]{
		op: op, w: w, ctx: w.Context(),
		ins: make([]S, 0, op.size), vals: make([]In, 0, op.size), units: make([]int64, 0, op.size),
	}
	defer b.stopTimer()
	polls := 0 // items since the deadline was last looked at
	for {
		it, ok := w.NextOr(b.tick)
		if !ok {
			if w.Stopping() {
				b.cancel()
			} else {
				b.run()
			}
			return
		}
		if it == nil { // the partial batch waited maxWait
			b.run()
			continue
		}
		if len(b.vals) == 0 && op.maxWait > 0 {
			b.startTimer()
		}
		b.ins = append(b.ins, it.Input)
		b.vals = append(b.vals, it.Value)
		b.units = append(b.units, w.Units(it))
		if len(b.vals) >= op.size {
			b.run()
			continue
		}
		// Items kept coming, but the first may have waited long enough
		// (see tickPoll).
		if polls++; b.tick != nil && polls >= tickPoll {
			polls = 0
			select {
			case <-b.tick:
				b.tick = nil
				b.run()
			default:
			}
		}
	}
}

// mapBatch is the batch one worker of a MapBatch stage is filling.
type mapBatch[S, In, Out any] struct {
	op    *mapBatchOp[S, In, Out]
	w     *engine.Worker[S, In, S, Out]
	ctx   context.Context
	ins   []S
	vals  []In
	units []int64 // pipeline items per entry (1 unless the input holds batches)
	timer *time.Timer
	tick  <-chan time.Time // the partial batch's deadline, while one is held
}

func (b *mapBatch[S, In, Out]) startTimer() {
	if b.timer == nil {
		b.timer = time.NewTimer(b.op.maxWait)
	} else {
		b.timer.Reset(b.op.maxWait)
	}
	b.tick = b.timer.C
}

func (b *mapBatch[S, In, Out]) stopTimer() {
	if b.timer != nil {
		b.timer.Stop()
	}
	b.tick = nil
}

// run calls fn on the batch held and ends each of its items: handed on with
// its output, or failed with the batch's error.
func (b *mapBatch[S, In, Out]) run() {
	b.stopTimer()
	if len(b.vals) == 0 {
		return
	}
	if b.w.Stopping() {
		b.cancel()
		return
	}
	var outs []Out
	var err error
	if pe := engine.Catch(func() { outs, err = b.op.fn(b.ctx, b.vals) }); pe != nil {
		err = pe
	} else if err == nil && len(outs) != len(b.vals) {
		err = fmt.Errorf("stage: MapBatch: a batch of %s returned %d outputs", plural(len(b.vals), "item"), len(outs))
	}
	done := 0
	if err == nil {
		// A panic while an output is handed on (in a weight function)
		// fails that item and the ones after it.
		err = catchErr(func() {
			for ; done < len(outs); done++ {
				b.w.Emit(engine.Item[S, Out]{Input: b.ins[done], Value: outs[done]}, b.units[done])
			}
		})
	}
	if err != nil {
		for i := done; i < len(b.ins); i++ {
			b.w.Fail(b.ins[i], b.units[i], err)
		}
	}
	b.reset()
}

// cancel counts the items held as cancelled.
func (b *mapBatch[S, In, Out]) cancel() {
	var n int64
	for _, u := range b.units {
		n += u
	}
	b.w.Cancel(n)
	b.reset()
}

func (b *mapBatch[S, In, Out]) reset() {
	clear(b.ins)
	clear(b.vals)
	b.ins, b.vals, b.units = b.ins[:0], b.vals[:0], b.units[:0]
}

// catchErr is [engine.Catch] as an error: nil when f does not panic.
func catchErr(f func()) error {
	if pe := engine.Catch(f); pe != nil {
		return pe
	}
	return nil
}

// plural returns n and noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
