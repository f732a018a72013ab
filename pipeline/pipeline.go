package pipeline

import (
	"context"
	"fmt"

	"github.com/flowbar/flowbar/pipeline/engine"
)

// Pipeline is a graph of stages under construction, then a run. Stage
// constructors (package stage) attach to it; a sink (package sink) runs it
// and returns when every goroutine it started has exited. Create one with
// [New]; a nil or zero Pipeline panics when a stage is added.
//
// A Pipeline runs once. Building it (adding stages) is not safe from
// several goroutines at once; its [Stage] records (Stages method) are safe
// to read while it runs.
type Pipeline = engine.Pipeline

// Stream is the typed edge from one stage to the next: values of type T,
// each still tied to the pipeline input of type S it came from, so that a
// sink can key results by input without a pass-through function. A Stream
// has exactly one consumer; a second panics at build time.
//
// Its Weigh and Describe methods give the stage that produces it a weight
// per value (bytes, rows) and a description of its last result, both shown
// on progress bars:
//
//	hashed := stage.Map(files, hash).
//		Weigh(pipeline.Bytes, func(h Sum) int64 { return h.Size }).
//		Describe(func(path string, _ Sum) string { return path })
type Stream[S, T any] = engine.Stream[S, T]

// Stage is the runtime record of one stage: its name, kind, place and
// meters (Counts, Total, Description, Slowest). Observers receive the list
// when a run starts; all its methods are safe while the run goes on.
type Stage = engine.Stage

// Counts is a snapshot of one stage's meters; once a run has ended,
// In == Out + Failed + Dropped + Cancelled for every stage.
type Counts = engine.Counts

// SlowItem is one of a stage's slowest items (see Stage.Slowest): its
// pipeline input, formatted by fmt's %v, and how long the stage took on it.
type SlowItem = engine.SlowItem

// Kind names what a stage does ("map", "filter", "batch", ...).
type Kind = engine.Kind

// The kinds renderers treat apart: where a pipeline starts and ends.
const (
	KindSource = engine.KindSource
	KindSink   = engine.KindSink
)

// Unit names what a stage's weight counts; the zero value, [Items], means
// the stage counts items.
type Unit = engine.Unit

// Common units. Any other non-empty string works as a unit name ("pages");
// [Bytes] is shown with binary prefixes by renderers.
const (
	Items = engine.Items
	Bytes = engine.Bytes
	Rows  = engine.Rows
)

// Observer watches runs of a pipeline: Start is called before any item
// moves, with the stages in composition order; Stop once every goroutine of
// the run has exited, with the error the sink returns. Package progress
// provides one.
type Observer = engine.Observer

// ItemError is the error of one item: its pipeline input, the stage that
// failed and the cause. %+v prints the stack of a panic in the cause.
type ItemError[S any] = engine.ItemError[S]

// PanicError is the error a panic in a user function becomes: its value,
// where it happened and the stack (printed by %+v).
type PanicError = engine.PanicError

// ErrStop may be returned by the function given to sink.ForEach to stop
// the run early and cleanly: the sink returns no error for it.
var ErrStop = engine.ErrStop

// ErrStopped is the cancellation cause user functions see (through
// [context.Cause]) when the sink stopped reading early: a range loop that
// broke. A sink that stops early on purpose does not return it.
var ErrStopped = engine.ErrStopped

// ErrConsumerPanicked is the error an [Observer]'s Stop receives when the
// body of a range loop over a sink's results panicked.
var ErrConsumerPanicked = engine.ErrConsumerPanicked

// ItemErrors lists the per-item errors in err in the order they were
// recorded. S must be the pipeline's input type; it panics if err holds
// item errors of another input type, so that none is left out silently.
func ItemErrors[S any](err error) []*ItemError[S] { return engine.ItemErrors[S](err) }

// AddWeight adds n to the weight of the stage whose function received ctx,
// so that a bar moves inside one large item (bytes read so far). It is one
// atomic add; with a ctx that does not come from a stage it does nothing.
func AddWeight(ctx context.Context, n int64) { engine.AddWeight(ctx, n) }

// StageOf returns the stage whose function received ctx, or nil.
func StageOf(ctx context.Context) *Stage { return engine.StageOf(ctx) }

// DefaultChunkSize is the largest number of items moved between two stages
// in one hand-off, unless [WithChunkSize] says otherwise.
const DefaultChunkSize = engine.DefaultChunkSize

// Option configures a [Pipeline].
type Option func(*engine.Config)

// New returns an empty pipeline. It panics if an option is nil.
func New(opts ...Option) *Pipeline {
	var cfg engine.Config
	for _, o := range opts {
		if o == nil {
			panic("pipeline: New: nil option")
		}
		o(&cfg)
	}
	return engine.New(cfg)
}

// WithContinueOnError makes every item run even when some fail. Failures
// are counted per stage, passed on to the sink with their input, and
// returned by the sink joined with errors.Join (see [ItemErrors]) next to
// every successful result; failures still on their way to the sink when the
// run is cancelled are returned too. The default is fail-fast: the first
// error cancels the run and is returned.
func WithContinueOnError() Option {
	return func(c *engine.Config) { c.ContinueOnError = true }
}

// WithObserver adds an observer that is told when each run starts and ends
// and may read the stages' meters meanwhile. The progress package provides
// one; several may be added. It panics if o is nil.
func WithObserver(o Observer) Option {
	if o == nil {
		panic("pipeline: WithObserver: observer is nil")
	}
	return func(c *engine.Config) { c.Observers = append(c.Observers, o) }
}

// WithChunkSize sets the largest number of items moved between two stages
// in one hand-off (default [DefaultChunkSize]). Chunks are sized to the
// work: slow items move one by one as soon as they are done, fast items in
// chunks up to this size, so the setting rarely needs changing; 1 disables
// chunking. It panics if n is less than 1.
func WithChunkSize(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("pipeline: WithChunkSize: size %d is less than 1", n))
	}
	return func(c *engine.Config) { c.ChunkSize = n }
}
