// Package sink provides the terminal steps of a flowbar pipeline. A sink
// runs the pipeline: it starts every stage, consumes the results from the
// calling goroutine and returns once every goroutine of the run has exited.
// (ByInput and Slice, which only store results, store them from the last
// stage's goroutines, one chunk at a time, while the calling goroutine
// waits.) User functions given to a sink always run on the calling goroutine.
//
// [ByInput] collects results into a map keyed by the pipeline input each came
// from; [ByKey] into a map keyed by a function; [Slice] into a slice; [Reduce]
// folds them; [Count] counts them; [ForEach] calls a function for each one.
// [All] is a range-over-func iterator that yields results as they complete and
// stops the run when the loop breaks. [GroupBy] groups results into a map of
// slices by a key, [CountBy] counts them by a key, [WriteLines] writes a line
// per result to an io.Writer, and [First] returns the first n results and
// stops the run, without an error for stopping early.
//
// # Several sinks
//
// A pipeline with several sinks (the branches of stage.Tee, or chains
// that are not joined) runs in one call: give each sink to [Later] (or a
// function calling one, with its arguments, to [LaterFunc]), which only
// registers it and returns a [Pending] for its result, then call [Run],
// which runs every sink, each on a goroutine of its own, and returns when
// all have returned and every goroutine of the run has exited. Under
// fail-fast the first failure anywhere stops every branch and Run returns
// it; under continue-on-error each sink's Pending holds the failures that
// reached it and Run returns each failure once. A sink that stops early on
// purpose (pipeline.ErrStop, a loop over [All] that breaks) stops only its
// own branch; the other branches run to their end, and the run stops once
// every sink has stopped or consumed its whole input. The single-sink calls
// (ByInput(ctx, s), ...) work as before and are what Later runs; a
// pipeline with sinks given to Later is run by Run only.
//
// # Errors
//
// Under the default fail-fast policy a sink returns the first error (a
// *pipeline.ItemError naming the item and the stage) and what was collected
// before it. Under pipeline.WithContinueOnError a sink collects every success
// and returns every failure joined with errors.Join; pipeline.ItemErrors
// lists them with their inputs. When the caller's context is cancelled the
// sink returns its cause with the results collected so far.
//
// # Memory
//
// [ForEach], [Reduce], [Count], [All] and [WriteLines] hold no result themselves: they
// stream inputs of any length in bounded memory. The collecting sinks hold
// what they collect; when the number of results is known in advance (a slice
// source followed by one-to-one stages) the map or slice is allocated once at
// its final size.
package sink
