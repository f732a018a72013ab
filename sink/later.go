package sink

import (
	"context"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
)

// Pending is the result of a sink given to [Later] or [LaterFunc]: empty until [Run]
// returns, then the sink's value and its error.
type Pending[R any] struct {
	value R
	err   error
	done  bool
}

// Value returns what the sink returned (a map, a count, ...). Call it once
// [Run] has returned (it is set by the sink's goroutine while Run runs);
// before Run it is the zero value.
func (p *Pending[R]) Value() R { return p.value }

// Err returns the error the sink returned: nil, or the failures that
// reached it, or the error that stopped the run (see [Run]). Like Value,
// it is for after Run.
func (p *Pending[R]) Err() error { return p.err }

// Done reports whether the sink has run.
func (p *Pending[R]) Done() bool { return p.done }

// Later registers a sink for [Run] instead of running the pipeline now:
// sink is one of this package's sinks that take only a stream and options
// ([ByInput], [Slice], [Count]), called with opts on in when Run runs the
// pipeline; [LaterFunc] takes any other. It returns the holder of the
// sink's result. Use it for a pipeline with several sinks, such as the
// branches of stage.Tee, which one call to Run runs together:
//
//	b := stage.Tee(files, 2)
//	sums := sink.Later(stage.Map(b[0], hash), sink.ByInput) // *Pending[map[string]Sum]
//	n := sink.Later(b[1], sink.Count)                       // *Pending[int]
//	err := sink.Run(ctx, p)
//	fmt.Println(len(sums.Value()), n.Value())
//
// Later itself blocks on nothing and runs nothing. It panics if in or sink
// is nil or the pipeline has run.
func Later[S, T, R any](in *pipeline.Stream[S, T], sink func(ctx context.Context, in *pipeline.Stream[S, T], opts ...Option) (R, error), opts ...Option) *Pending[R] {
	if sink == nil {
		panic("sink: Later: function is nil")
	}
	return LaterFunc(in, func(ctx context.Context, in *pipeline.Stream[S, T]) (R, error) { return sink(ctx, in, opts...) })
}

// LaterFunc is [Later] for any function that runs a sink on in, such as a
// closure calling [ForEach], [Reduce] or [ByKey] with their arguments:
//
//	sizes := sink.LaterFunc(b[1], func(ctx context.Context, s *pipeline.Stream[string, int64]) (int64, error) {
//		return sink.Reduce(ctx, s, 0, func(acc, n int64) int64 { return acc + n })
//	})
//
// fn must consume in with one sink and return what it returns; it runs on
// a goroutine of its own when [Run] runs the pipeline. It panics if in or
// fn is nil or the pipeline has run.
func LaterFunc[S, T, R any](in *pipeline.Stream[S, T], fn func(ctx context.Context, in *pipeline.Stream[S, T]) (R, error)) *Pending[R] {
	if in == nil {
		panic("sink: LaterFunc: the stream is nil")
	}
	if fn == nil {
		panic("sink: LaterFunc: function is nil")
	}
	res := new(Pending[R])
	engine.Later(in.Pipeline(), func(ctx context.Context) error {
		v, err := fn(ctx, in)
		res.value, res.err, res.done = v, err, true
		return err
	})
	return res
}

// Run runs pipeline p with every sink given to [Later] or [LaterFunc], all in one run, and
// returns when every sink has returned and every goroutine of the run has
// exited; each [Pending] then holds its sink's result. The sinks' functions
// run on goroutines of their own, one per sink (so a function given to
// ForEach in one branch runs serially, but alongside the other branches').
//
// Errors: under fail-fast (the default) the first failure in any branch
// cancels every branch and is returned, and every sink's Err holds it too;
// under pipeline.WithContinueOnError each sink's Err holds the failures
// that reached it (an item that failed before a tee reaches every branch)
// and Run returns every failure once. A sink that stops early on purpose
// (a ForEach function that returns pipeline.ErrStop) stops only its
// branch: the tee above it hands it nothing more, the stages between still
// finish what they hold, and the others run to their end; once every sink
// has stopped or consumed its whole input, the run stops. When ctx is cancelled every branch
// stops and Run returns the context's cause.
//
// Run panics, once every goroutine has exited, if a sink panics while it
// is built (its stream already consumed) or if p has no sink given to
// Later, has already run, or has a stream no stage or sink consumes. A
// pipeline with one sink can use Run too, or call the sink directly as
// before.
func Run(ctx context.Context, p *pipeline.Pipeline) error {
	if p == nil {
		panic("sink: Run: the pipeline is nil")
	}
	return engine.Run(ctx, p)
}
