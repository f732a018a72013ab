package stage

import (
	"context"
	"iter"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
)

// sourceOpts are the options every source takes.
const sourceOpts = optName | optUnit

func sourceSpec(what string, opts []Option) engine.SourceSpec {
	c := newConfig(what, sourceOpts, opts)
	return engine.SourceSpec{Name: c.name, Unit: c.unit}
}

// FromSlice returns a source that emits the elements of xs. The stage's
// total is len(xs), so progress bars show a percentage and an ETA from the
// start. It starts no goroutine: the workers of the next stage take ranges
// of xs directly. xs must not be modified until the run ends. Options:
// WithName, WithUnit; the returned stream's Weigh and Describe methods give
// a weight and a description per value.
func FromSlice[T any](p *pipeline.Pipeline, xs []T, opts ...Option) *pipeline.Stream[T, T] {
	return engine.SliceSource(p, sourceSpec("FromSlice", opts), xs)
}

// FromChan returns a source that emits the values received from ch until ch
// is closed. When the run is cancelled it stops reading, leaving any values in
// ch. It starts no goroutine: the workers of the next stage receive from ch.
// Options: WithName, WithUnit. It panics if ch is nil.
func FromChan[T any](p *pipeline.Pipeline, ch <-chan T, opts ...Option) *pipeline.Stream[T, T] {
	if ch == nil {
		panic("stage: FromChan: channel is nil")
	}
	return engine.ChanSource(p, sourceSpec("FromChan", opts), ch)
}

// FromSeq returns a source that emits the values of seq, iterated by one
// goroutine of the run. When the run is cancelled, yield returns false and
// the iteration ends. Options: WithName, WithUnit. It panics if seq is
// nil.
func FromSeq[T any](p *pipeline.Pipeline, seq iter.Seq[T], opts ...Option) *pipeline.Stream[T, T] {
	if seq == nil {
		panic("stage: FromSeq: sequence is nil")
	}
	return engine.FuncSource(p, sourceSpec("FromSeq", opts), func(_ context.Context, emit func(T) bool) error {
		for v := range seq {
			if !emit(v) {
				break
			}
		}
		return nil
	})
}

// Generate returns a source whose values are emitted by fn, run by one
// goroutine of the run. emit blocks while the next stage is busy and returns
// false once the run is cancelled, when fn should return; fn's context is
// cancelled too. An error returned by fn ends the source: under fail-fast it
// fails the run, under continue-on-error it is returned next to the item
// failures. Options: WithName, WithUnit. It panics if fn is nil.
func Generate[T any](p *pipeline.Pipeline, fn func(ctx context.Context, emit func(T) bool) error, opts ...Option) *pipeline.Stream[T, T] {
	if fn == nil {
		panic("stage: Generate: function is nil")
	}
	return engine.FuncSource(p, sourceSpec("Generate", opts), fn)
}
