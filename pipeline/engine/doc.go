// Package engine is the runtime of flowbar pipelines, for authors of new
// kinds of stage. Programs that compose pipelines use packages pipeline,
// stage and sink, which are built on it.
//
// # Streams, edges and operators
//
// A stage reads one or more typed [Stream]s and writes one. What moves the
// items of a stream to its consumer is an edge, chosen when the consumer
// attaches: index ranges of a slice, a user's channel of values, a queue
// that a generator's goroutine fills and workers take chunks of, a bounded
// channel of chunks between the workers of two stages, or, for a sink that
// only stores results, the producers storing their own chunks. Stage code
// never sees which.
//
// A stage's behaviour is an [Operator]: its Work method runs once on each
// of the stage's workers with a [Worker], through which it reads items
// (Next, NextOr), hands on outputs (Emit) and accounts for every item it
// took (Emit, Drop, Fail, Cancel). [Attach] adds the stage to the pipeline:
//
//	type double[S any] struct{}
//
//	func (double[S]) Work(w *engine.Worker[S, int, S, int]) {
//		for it, ok := w.Next(); ok; it, ok = w.Next() {
//			w.Emit(engine.Item[S, int]{Input: it.Input, Value: 2 * it.Value}, w.Units(it))
//		}
//	}
//
//	out := engine.Attach([]*pipeline.Stream[S, int]{in},
//		engine.Spec[S, int, S, int]{Name: "double", Kind: engine.KindMap, Workers: 4}, double[S]{})
//
// # Several consumers, several sinks
//
// A stream has one consumer. [Tee] gives a stream several: a stage that
// hands every item to each of its outputs, one record per output, the
// slowest consumer setting the pace. [AttachKeyed] routes each item to one
// worker of a stage (per-key state), in order. A pipeline with several
// sinks registers each with [Later] and runs them together with [Run];
// [Consume] runs a pipeline's only sink.
//
// # What the engine does for an operator
//
// Chunking: items are taken from the input and handed on in chunks sized
// from the measured cost of items, and the outputs a worker holds are handed
// on before it waits. Sharing: the items of a chunk that turn out slower
// than it was sized for are shared with the stage's idle workers (see
// [Worker]). Failure records of items that failed upstream (under
// continue-on-error) pass by the operator. Cancellation: once the run is
// cancelled, Next counts what it no longer returns as cancelled. Panics: a
// panic in Work fails the item being worked on and Work is called again.
// Lifecycle: a stage's output is closed, and the stage marked finished, when
// its last worker has returned (lifecycle.go states the states of a run and
// of a stage, and is the only place that changes them). Meters: counts and
// times are added once per chunk.
//
// # Accounting
//
// Every item that enters a stage ends exactly once: handed on (alone or as
// part of an output), dropped, failed with its input, or not processed
// because the run was cancelled. The meters count pipeline items
// ([Worker.Units]): an operator that groups items (a batch) emits one
// output that completes all of them; one that expands an item emits its
// first output with the item's count and the others with none. [Shape]
// tells downstream stages whether they can know their totals early.
//
// # Rules for operators
//
// Work must read until Next reports the end (the engine counts what it
// leaves unread as cancelled), must not keep items after the next call to
// Next, and must not start goroutines that outlive it. A Worker belongs to
// its goroutine. Misuse found when a stage is built panics with a
// "pipeline:" message.
package engine
