package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/sourcegraph/conc/pool"
)

// The lifecycle of a run and of its stages. This file is the only place
// that starts a stage's goroutines, marks a stage finished and ends a run.
//
// A pipeline:
//
//	state     entered when                          left when
//	building  New                                   a sink calls Consume
//	running   Consume starts the run                every goroutine has exited
//	done      the sink returns                      never: a pipeline runs once
//
// A run, once started, is live until it ends in one of three ways, which
// decide what the sink returns:
//
//	ended     what happened                          what the sink returns
//	complete  every source ran dry                  nil, or the failures kept under continue-on-error
//	failed    first error under fail-fast           that *ItemError (context.Cause of the run's context)
//	stopped   the caller's context ended, or the    the context's cause; nothing when the sink
//	          sink stopped on purpose (ErrStop)     stopped on purpose
//
// A stage:
//
//	state     entered when                          what holds
//	building  Attach or Consume                     options may be set; nothing runs
//	running   the run starts its workers            its workers take items, meters move
//	finished  its last worker has exited            meters are final; its outputs are closed
//
// A stage without goroutines of its own (a slice or channel source) is
// finished when the workers that read it have all exited. Stages finish in
// pipeline order: a stage's outputs are closed only after all its workers
// have exited, and its consumers finish after that. The sink's stage
// finishes last, when every goroutine of the run has exited; observers are
// then stopped with the error the sink returns.

const (
	stateBuilding = iota
	stateRunning
	stateDone
)

// run is the state of one execution of a pipeline.
type run struct {
	p      *Pipeline
	ctx    context.Context // cancelled on the first error or when the sink stops
	cancel context.CancelCauseFunc
	parent context.Context
	pool   *pool.Pool

	mu      sync.Mutex
	first   error   // fail-fast: the error that stopped the run
	errs    []error // errors that are not per item (a source's own error), and failures kept after cancellation
	stopped bool    // the sink stopped on purpose

	// halted is set just before the run cancels ctx itself. When the
	// caller's context can never be cancelled (its Done is nil, as for
	// context.Background), that is the only way ctx ends, and stopping
	// reads halted alone: a load the compiler inlines, instead of a call
	// through the context interface before every item (a fifth of what an
	// item costs in a chain of maps over integers). watch says that the
	// caller's context can be cancelled: ctx is then asked as well.
	halted atomic.Bool
	watch  bool
}

// stopping reports whether the run has been cancelled.
func (r *run) stopping() bool { return r.halted.Load() || r.watch && r.ctx.Err() != nil }

// fail records an item's error. Under fail-fast the first one cancels the
// run; later ones (usually consequences of the cancellation) are dropped.
func (r *run) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.first == nil && r.ctx.Err() == nil {
		r.cancel(err)
		// The caller's context may have been cancelled since the check:
		// then its cause is the run's, and err is a consequence.
		if context.Cause(r.ctx) == err {
			r.first = err
		}
	}
}

// runError records an error that belongs to no item, such as a source's own
// error. Under fail-fast it cancels the run like an item error.
func (r *run) runError(err error) {
	if !r.p.cfg.ContinueOnError {
		r.fail(err)
		return
	}
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
}

// keepFailures keeps, for the sink's returned error, the failure records in
// items that a cancelled run can no longer hand on (under continue-on-error
// every failure is returned), unless the sink stopped on purpose and wants
// nothing more.
func keepFailures[S, T any](r *run, items []Item[S, T]) {
	for i := range items {
		if err := items[i].Err; err != nil {
			r.mu.Lock()
			if !r.stopped {
				r.errs = append(r.errs, err)
			}
			r.mu.Unlock()
		}
	}
}

// stop cancels the run because the sink wants no more items.
func (r *run) stop() {
	r.mu.Lock()
	if r.ctx.Err() == nil {
		r.stopped = true
	}
	r.mu.Unlock()
	r.cancel(ErrStopped)
}

func (r *run) stoppedOnPurpose() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopped
}

// result is the run's error apart from the per-item failures a sink keeps.
func (r *run) result() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.first != nil {
		return r.first
	}
	var errs []error
	if r.parent.Err() != nil {
		errs = append(errs, context.Cause(r.parent))
	}
	errs = append(errs, r.errs...)
	if len(errs) == 1 {
		// The cause itself, so that err == context.Canceled holds.
		return errs[0]
	}
	return errors.Join(errs...)
}

// group is the set of goroutines of one stage. When the last one exits, the
// stage is finished: closers run (closing its outputs), then the stage and
// the goroutine-less stages it reads from are marked finished.
type group struct {
	st      *Stage
	active  atomic.Int32
	closers []func()
	feeds   []*Stage // sources without goroutines, read only by this stage
}

// goStage starts n goroutines of stage st in run r, each running body(i)
// for its index i; when the last returns, the stage is finished. closers
// run first, in order, then the stages in feeds (goroutine-less sources
// read by st) and st are marked finished.
func goStage(r *run, st *Stage, n int, body func(i int), closers []func(), feeds []*Stage) {
	g := &group{st: st, closers: closers, feeds: feeds}
	g.active.Store(int32(n))
	for i := range n {
		r.pool.Go(func() {
			defer g.exit()
			body(i)
		})
	}
}

func (g *group) exit() {
	if g.active.Add(-1) != 0 {
		return
	}
	for _, f := range g.feeds {
		f.finished.Store(true)
	}
	for _, c := range g.closers {
		c()
	}
	g.st.finished.Store(true)
}

// markEmpty marks a source finished before the run when it has nothing to
// emit.
func markEmpty(st *Stage) { st.finished.Store(true) }

// begin starts a run of p: it calls setups (the sinks', which the producers
// may call from their first result on) with the run, then starts every
// stage's goroutines.
func (p *Pipeline) begin(ctx context.Context, setups []func(*run)) *run {
	p.mu.Lock()
	if p.state != stateBuilding {
		p.mu.Unlock()
		panic("pipeline: the pipeline has already run; build a new one for each run")
	}
	p.state = stateRunning
	p.mu.Unlock()
	r := &run{p: p, parent: ctx, pool: pool.New(), watch: ctx.Done() != nil}
	var cancel context.CancelCauseFunc
	r.ctx, cancel = context.WithCancelCause(ctx)
	r.cancel = func(cause error) {
		r.halted.Store(true)
		cancel(cause)
	}
	for _, o := range p.cfg.Observers {
		o.Start(p.Stages())
	}
	for _, setup := range setups {
		setup(r)
	}
	for _, start := range p.starts {
		start(r)
	}
	return r
}

// end ends run r once every goroutine has exited: the sinks' stages and
// the goroutine-less sources they read (finished) are marked finished, and
// the observers are stopped with err.
func (r *run) end(finished []*Stage, err error) {
	for _, st := range finished {
		st.finished.Store(true)
	}
	r.cancel(nil)
	r.p.mu.Lock()
	r.p.state = stateDone
	r.p.mu.Unlock()
	for _, o := range r.p.cfg.Observers {
		o.Stop(err)
	}
}

// execute runs the pipeline with its only sink, of stage st, reading the
// goroutine-less sources feeds: it starts the run, calls consume from the
// calling goroutine, then waits for every goroutine to exit and ends the
// run.
func (p *Pipeline) execute(ctx context.Context, st *Stage, feeds []*Stage, setup func(*run), consume func(*run)) error {
	if len(p.fan.later) > 0 {
		panic("pipeline: the pipeline has sinks registered with Later: run them all with Run (sink.Run), not with a sink of their own")
	}
	un := p.unconsumed()
	if un != nil && len(p.fan.branches) > 0 {
		panic(fmt.Sprintf("pipeline: the output of stage %q is never consumed; each branch of a tee runs to a sink of its own: give each sink to sink.Later and run them with sink.Run", un.name))
	}
	if ctx == nil {
		panic("pipeline: run with a nil context")
	}
	if un != nil {
		panic(fmt.Sprintf("pipeline: the output of stage %q is never consumed; connect it to a stage or a sink", un.name))
	}
	r := p.begin(ctx, []func(*run){setup})
	finished := append(feeds, st)
	completed := false
	defer func() {
		if !completed {
			// consume is panicking (a range loop's body panicked): stop
			// the run and let every goroutine exit before the panic goes
			// on up the caller's stack.
			r.stop()
			r.pool.Wait()
			r.end(finished, ErrConsumerPanicked)
		}
	}()
	consume(r)
	completed = true
	r.pool.Wait()
	err := r.result()
	r.end(finished, err)
	return err
}
