// Package remote runs a flowbar map stage on a fleet of worker processes,
// on this machine or many, through NATS JetStream work queues: the driver
// keeps its pipeline, sinks, error records and progress bars, and the
// workers run the stage's ordinary Go function.
//
// In the driver, [Map] replaces stage.Map; in the workers (usually a
// subcommand of the same binary, so that the function is compiled in),
// [Serve] runs it:
//
//	sq := func(ctx context.Context, x int) (int, error) { return x * x, nil }
//	// driver
//	out := remote.Map(stage.FromSlice(p, xs), nc, "square", sq)
//	squares, err := sink.ByInput(ctx, out)
//	// each worker
//	err := remote.Serve(ctx, nc, "square", sq, remote.WithWorkers(8))
//
// # Delivery
//
// Items travel in messages of up to [WithBatchSize] items, sent as soon as
// no more input is ready. Processing is at least once: a message a worker
// does not acknowledge in time (it died) goes to another worker. Results
// reach the sink once: each item carries an id, the server drops repeated
// messages within its deduplication window, and the driver drops results
// for items already answered. A worker acknowledges a message only after
// its results are stored. Redeliveries count as retries on the stage's
// meters; a message delivered [WithMaxDeliver] times fails its items with
// [ErrMaxDeliver], so a poisoned item never hangs the run.
//
// # Errors
//
// Every failure is an item's, with its input, under the pipeline's policy
// (fail-fast or continue-on-error) exactly as for a local map: the
// function's error or panic on a worker ([*WorkerError]), an item the
// codec cannot encode or too large for the server ([ErrTooLarge]), a job
// that cannot be set up on the server ([ErrSetup]), a worker running
// another version of the stage ([ErrVersionMismatch]).
//
// # Lifecycle
//
// The driver creates a job's streams and consumers when the run starts
// and deletes them when the stage ends, whatever ends it; workers then
// stop taking its work and wait for the next job. One stage name runs one
// job at a time: a second driver fails with [ErrSetup] until the first
// ends ([Clean] removes what a killed driver left). The driver's stage runs
// on one goroutine, which starts no other; the NATS client's callbacks
// reach it through a bounded channel and have all returned when the stage
// ends. Serve runs its own goroutines and returns after they have exited.
package remote
