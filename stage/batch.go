package stage

import (
	"fmt"
	"time"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
)

// Batch returns a stage that groups items into batches of at most size, in
// arrival order, and hands a partial batch on once its first item has
// waited maxWait (0: only full batches, and the last one at the end of the
// input). A batch's pipeline input is the slice of its items' inputs, in
// the same order as its values, so that [Unbatch] can pair them again:
// Stream[S, T] becomes Stream[[]S, []T]. Progress counts items, not
// batches, here and in the stages after it. Under continue-on-error, an
// item that failed upstream passes as a batch of one failure record. One
// goroutine runs the stage. Options: WithName. It panics if size is less
// than 1 or maxWait is negative.
func Batch[S, T any](in *pipeline.Stream[S, T], size int, maxWait time.Duration, opts ...Option) *pipeline.Stream[[]S, []T] {
	if size < 1 {
		panic(fmt.Sprintf("stage: Batch: size %d is less than 1", size))
	}
	if maxWait < 0 {
		panic(fmt.Sprintf("stage: Batch: maxWait %v is negative", maxWait))
	}
	c := newConfig("Batch", optName, opts)
	units := in.Units()
	return engine.Attach([]*pipeline.Stream[S, T]{in}, engine.Spec[S, T, []S, []T]{
		Name: c.name, Kind: engine.KindBatch, Shape: engine.Many, Workers: 1,
		Failure: func(input S, err error, out func(engine.Item[[]S, []T])) {
			out(engine.Item[[]S, []T]{Input: []S{input}, Err: err})
		},
		Units: func(inputs []S) int64 {
			if units == nil {
				return int64(len(inputs))
			}
			var n int64
			for _, s := range inputs {
				n += units(s)
			}
			return n
		},
	}, &batchOp[S, T]{size: size, maxWait: maxWait})
}

type batchOp[S, T any] struct {
	size    int
	maxWait time.Duration
}

func (op *batchOp[S, T]) Work(w *engine.Worker[S, T, []S, []T]) {
	var (
		ins   []S
		vals  []T
		held  int64 // pipeline items in the batch
		timer *time.Timer
		tick  <-chan time.Time // the partial batch's deadline, while one is held
		polls int              // items since the deadline was last looked at
	)
	flush := func() {
		if len(vals) > 0 {
			w.Emit(engine.Item[[]S, []T]{Input: ins, Value: vals}, held)
			ins, vals, held = nil, nil, 0
		}
		if tick != nil {
			timer.Stop()
			tick = nil
		}
	}
	for {
		it, ok := w.NextOr(tick)
		if !ok {
			if w.Stopping() {
				w.Cancel(held)
			} else {
				flush()
			}
			return
		}
		if it == nil { // the partial batch waited maxWait
			flush()
			continue
		}
		if len(vals) == 0 {
			ins, vals = make([]S, 0, op.size), make([]T, 0, op.size)
			if op.maxWait > 0 {
				if timer == nil {
					timer = time.NewTimer(op.maxWait)
				} else {
					timer.Reset(op.maxWait)
				}
				tick = timer.C
			}
		}
		ins = append(ins, it.Input)
		vals = append(vals, it.Value)
		held += w.Units(it) // counted out with the batch
		if len(vals) >= op.size {
			flush()
			continue
		}
		// Items kept coming, but the first may have waited long enough:
		// looked at every tickPoll items, since a look at a timer's
		// channel takes a lock (it cost 80% of a batch's time).
		if polls++; tick != nil && polls >= tickPoll {
			polls = 0
			select {
			case <-tick:
				flush()
			default:
			}
		}
	}
}

// tickPoll is how many items a batching stage takes between looks at its
// partial batch's deadline while items keep coming without a wait (it
// looks at it whenever it waits for input).
const tickPoll = 64
