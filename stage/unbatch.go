package stage

import (
	"fmt"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
)

// Unbatch returns a stage that turns each batch back into its items, each
// with its own pipeline input: the i-th value of a batch is paired with the
// i-th input, so Stream[[]S, []T] becomes Stream[S, T] (after [Batch] and a
// map over whole batches, sink.ByInput keys by input again). A batch whose
// values are fewer or more than its inputs fails every one of its inputs. A
// failure record of a batch becomes one per input. Items keep their batch's
// order; batches come in completion order. Each item of a batch counts as
// handed on once it is, so that items a cancelled run could not hand on are
// counted as cancelled. Options: WithName, WithWorkers.
func Unbatch[S, T any](in *pipeline.Stream[[]S, []T], opts ...Option) *pipeline.Stream[S, T] {
	c := newConfig("Unbatch", optName|optWorkers, opts)
	return engine.Attach([]*pipeline.Stream[[]S, []T]{in}, engine.Spec[[]S, []T, S, T]{
		Name: c.name, Kind: engine.KindFlatMap, Shape: engine.Many, Workers: c.workers,
		Failure: func(inputs []S, err error, out func(engine.Item[S, T])) {
			for _, e := range splitFailure[S, T](inputs, err) {
				out(e)
			}
		},
	}, engine.OperatorFunc[[]S, []T, S, T](unbatch[S, T]))
}

func unbatch[S, T any](w *engine.Worker[[]S, []T, S, T]) {
	for {
		it, ok := w.Next()
		if !ok {
			return
		}
		if len(it.Input) != len(it.Value) {
			w.Fail(it.Input, w.Units(it), fmt.Errorf("stage: Unbatch: a batch of %d inputs has %d values", len(it.Input), len(it.Value)))
			continue
		}
		if len(it.Input) == 0 {
			w.Drop(w.Units(it))
			continue
		}
		// A batch of one pipeline item per input (every batch of Batch)
		// hands each on as its own output, so that an output the run
		// could not hand on counts as cancelled; any other is handed on
		// with its first output, as a flat-map's item.
		n := w.Units(it)
		each := n == int64(len(it.Input))
		for i, v := range it.Value {
			done := int64(0)
			switch {
			case each:
				done = 1
			case i == 0:
				done = n
			}
			w.Emit(engine.Item[S, T]{Input: it.Input[i], Value: v}, done)
		}
	}
}

// splitFailure returns the failure records of each input of a failed batch:
// an error of the whole batch (a *pipeline.ItemError[[]S]) becomes one
// per input; a record that already names one input keeps its error.
func splitFailure[S, T any](inputs []S, err error) []engine.Item[S, T] {
	out := make([]engine.Item[S, T], len(inputs))
	for i, in := range inputs {
		e := err
		if ie, ok := err.(*pipeline.ItemError[[]S]); ok {
			e = &pipeline.ItemError[S]{Input: in, Stage: ie.Stage, Err: ie.Err}
		}
		out[i] = engine.Item[S, T]{Input: in, Err: e}
	}
	return out
}
