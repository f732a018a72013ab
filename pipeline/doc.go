// Package pipeline is what programs that compose flowbar pipelines use: the
// [Pipeline] and its options, the typed [Stream] between stages, the
// per-stage meters ([Stage], [Counts]), the error types and the [Observer]
// interface that progress bars (package progress) implement. The stages come
// from package stage and the sinks that run a pipeline from package sink;
// authors of new kinds of stage use package pipeline/engine.
//
//	p := pipeline.New()
//	squares := stage.Map(stage.FromSlice(p, inputs), square, stage.WithWorkers(8))
//	results, err := sink.ByInput(ctx, squares) // map[input]square
//
// # Streams and items
//
// A [Stream] of type Stream[S, T] carries values of type T, each still tied to
// the pipeline input of type S it came from. That is what lets a sink key
// results by input without a pass-through function. Each stream has exactly
// one consumer; a stage may read several streams (stage.Merge), emit
// several outputs per input (stage.FlatMap) or one per several inputs
// (stage.Batch, whose output's input type is []S), and a stream can be
// split into branches that each get every item (stage.Tee), each branch
// run to its own sink: sink.Later registers each sink and sink.Run runs
// them all in one run.
//
// # What runs where
//
// Building a pipeline starts nothing. A sink runs it: every stage's workers
// start as long-lived goroutines in one scoped pool, the sink consumes the
// last stream from the calling goroutine, and the sink returns only when
// every goroutine of the run has exited. A pipeline runs once. (A sink that
// only stores results, such as sink.ByInput or sink.Slice, is fed by the
// last stage's goroutines instead, one chunk at a time, while the calling
// goroutine waits.)
//
// Items move between stages in chunks sized from the measured cost of
// producing and consuming an item: items that take a millisecond move one
// by one as soon as each is done, items that take nanoseconds move up to
// [DefaultChunkSize] at a time. A worker never holds finished items while it
// waits for input, and a worker with nothing to do takes a share of the
// items another worker holds but has not started once they turn out slower
// than their chunk was sized for, whatever feeds the stage (a slice, a
// channel, a generator or another stage). A slice source has no goroutine:
// the next stage's workers take index ranges of the slice.
//
// # Ordering
//
// Stages hand on results as they complete (Python's as_completed). Ordered
// stages hand them on in input order, holding at most a bounded window of
// chunks that finished early.
//
// # Errors and panics
//
// By default the first error cancels the run: the context user functions
// receive is cancelled with that error as its cause ([context.Cause]), no new
// item starts, and the sink returns the error, an [*ItemError] that names the
// item's input and the stage. With [WithContinueOnError] every item runs; a
// failed item travels on to the sink as a failure record, skipping later
// stages, and the sink returns every failure joined next to every success.
//
// A panic in a user function becomes a [*PanicError] (value, location and
// stack; %+v prints the stack) for the item that raised it and is handled
// like any error; it never crashes the program from another goroutine. A
// panic in the body of a range loop over results (sink.All) goes up the
// caller's stack, after the run has been stopped and its goroutines have
// exited.
//
// # Cancellation and cleanup
//
// When the caller's context is cancelled, when the first error occurs under
// fail-fast, or when the sink stops early (a range loop breaks), no new item
// starts; the run returns once the user functions in flight return. Every
// send between stages selects on cancellation, so no goroutine is left
// blocked.
//
// # Memory
//
// Each edge between two stages holds at most 64 chunks (or twice the
// consumer's workers) and at most 16 × the chunk size ([WithChunkSize])
// items; a generator's goroutine buffers at most 1,024 values; an ordered
// stage holds at most its window of chunks; a batch stage holds one partial
// batch. A streaming sink therefore runs in memory independent of the
// input's length.
//
// # Meters
//
// Every [Stage] counts the items that entered it, left it, failed, were
// dropped or were cancelled, the items its outputs hold, their weight, and
// the time its workers were busy, waiting for input or blocked on the next
// stage. Workers add to these atomic counters once per chunk, so watching a
// run costs nothing per item. Items are counted in pipeline items: a batch
// of ten counts ten. Once a run has ended, for every stage
// In == Out + Failed + Dropped + Cancelled, and every stage took in exactly
// what its upstreams emitted.
package pipeline
