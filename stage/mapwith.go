package stage

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"sync"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
)

// MapWith is [Map] for a function that needs a value of its own on each
// worker: a connection, a hasher, a buffer, anything not safe to share
// between goroutines or costly to make per item. Each worker calls setup
// once, before its first item (a worker that gets no item never calls it),
// passes the value it built to fn for every item it runs, and, when the
// stage's input has ended or the run is cancelled, closes it if it
// implements io.Closer. A value is only ever used by its own worker, one
// item at a time, so fn needs no lock for it. Results are handed on in
// completion order; each worker blocks while the next stage is full.
//
// Errors: fn's error or panic fails its item, as in Map; the worker keeps
// its value and goes on. A setup that fails (or panics) fails, with an
// error that wraps setup's and names the item, every item its worker then
// takes, since nothing else can run them there: under fail-fast the first
// of them stops the run; under continue-on-error the other workers go on
// with their own values and every item the broken worker took is reported
// (a broken worker fails items quickly, so a setup that can fail
// transiently should retry inside itself). An error (or panic) of Close is
// an error of the stage that belongs to no item: under fail-fast it stops
// the run like an item error (results not yet handed on are then
// cancelled), under continue-on-error the sink returns it with the item
// errors. Close is called exactly once per value that setup made, also
// after a panic in fn and on cancellation, after the worker's last call of
// fn.
//
// setup receives the run's context. Options: WithName, WithWorkers,
// WithUnit, and WithRetry, WithBackoff, WithTimeout and WithRate, which
// wrap each call of fn as they do for Map (setup is not retried). It panics
// if setup or fn is nil or in already has a consumer.
func MapWith[S, In, Out, W any](in *pipeline.Stream[S, In], setup func(ctx context.Context) (W, error), fn func(ctx context.Context, w W, v In) (Out, error), opts ...Option) *pipeline.Stream[S, Out] {
	return mapWithStage("MapWith", in, setup, fn, false, opts)
}

// OrderedMapWith is [MapWith] that hands results on in input order, with
// the bounded reorder window of [OrderedMap]; it also takes WithWindow.
func OrderedMapWith[S, In, Out, W any](in *pipeline.Stream[S, In], setup func(ctx context.Context) (W, error), fn func(ctx context.Context, w W, v In) (Out, error), opts ...Option) *pipeline.Stream[S, Out] {
	return mapWithStage("OrderedMapWith", in, setup, fn, true, opts)
}

func mapWithStage[S, In, Out, W any](what string, in *pipeline.Stream[S, In], setup func(context.Context) (W, error), fn func(context.Context, W, In) (Out, error), ordered bool, opts []Option) *pipeline.Stream[S, Out] {
	if setup == nil {
		panic("stage: " + what + ": setup is nil")
	}
	if fn == nil {
		panic("stage: " + what + ": function is nil")
	}
	c := newConfig(what, allowed(ordered)|resilientOpts, opts)
	c.res.build(what, c.set)
	op := &mapWithOp[S, In, Out, W]{setup: setup, fn: fn, res: &c.res}
	return engine.Attach([]*pipeline.Stream[S, In]{in}, spec[S, In, Out](c, fn, engine.KindMap, engine.OneToOne, ordered), op)
}

type mapWithOp[S, In, Out, W any] struct {
	setup func(context.Context) (W, error)
	fn    func(context.Context, W, In) (Out, error)
	res   *resilience
	// states holds each worker's state while its Work runs: the engine
	// calls Work again on the same Worker after a panic in fn, and the
	// value must outlive that.
	states sync.Map // *engine.Worker[S, In, S, Out] -> *workerState[In, Out, W]
}

// workerState is one worker's value, once setup has run.
type workerState[In, Out, W any] struct {
	ready bool // setup has run
	val   W
	err   error // setup's error, wrapped
	call  func(context.Context, In) (Out, error)
}

func (op *mapWithOp[S, In, Out, W]) Work(w *engine.Worker[S, In, S, Out]) {
	v, _ := op.states.LoadOrStore(w, &workerState[In, Out, W]{})
	st := v.(*workerState[In, Out, W])
	engine.Each(w, func(ctx context.Context, _ S, v In) (Out, bool, error) {
		if !st.ready {
			st.ready = true
			st.val, st.err = op.runSetup(ctx)
			if st.err == nil {
				val, fn := st.val, op.fn
				st.call = guard(op.res, func(ctx context.Context, v In) (Out, error) { return fn(ctx, val, v) })
			}
		}
		if st.err != nil {
			var zero Out
			return zero, false, st.err
		}
		out, err := st.call(ctx, v)
		return out, true, err
	})
	// The input has ended or the run is cancelled: Work is not called
	// again for this worker.
	op.states.Delete(w)
	if st.ready && st.err == nil {
		w.FailStage(closeValue(st.val))
	}
}

// runSetup calls setup, turning its error or panic into the error of the
// items the worker takes.
func (op *mapWithOp[S, In, Out, W]) runSetup(ctx context.Context) (val W, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("worker setup failed: %w", &pipeline.PanicError{Value: v, Stack: debug.Stack()})
		}
	}()
	val, err = op.setup(ctx)
	if err != nil {
		return val, fmt.Errorf("worker setup failed: %w", err)
	}
	return val, nil
}

// closeValue closes val if it is an io.Closer, turning a panic into an
// error.
func closeValue[W any](val W) (err error) {
	c, ok := any(val).(io.Closer)
	if !ok {
		return nil
	}
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("closing a worker's value: %w", &pipeline.PanicError{Value: v, Stack: debug.Stack()})
		}
	}()
	if err := c.Close(); err != nil {
		return fmt.Errorf("closing a worker's value: %w", err)
	}
	return nil
}
