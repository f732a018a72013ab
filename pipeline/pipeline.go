package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/sourcegraph/conc/pool"
)

// DefaultChunkSize is the largest number of items moved between two stages in
// one hand-off, unless [WithChunkSize] says otherwise.
const DefaultChunkSize = 512

// Option configures a [Pipeline].
type Option func(*config)

type config struct {
	continueOnError bool
	observers       []Observer
	chunk           int
}

// WithContinueOnError makes every item run even when some fail. Failures are
// counted per stage, passed on to the sink with their input, and returned by
// the sink joined with [errors.Join] (see [ItemErrors]) next to every
// successful result; failures still on their way to the sink when the run is
// cancelled are returned too. The default is fail-fast: the first error
// cancels the run and is returned.
func WithContinueOnError() Option {
	return func(c *config) { c.continueOnError = true }
}

// WithObserver adds an observer that is told when each run starts and ends
// and may read the stages' meters meanwhile. The progress package provides
// one; several may be added. It panics if o is nil.
func WithObserver(o Observer) Option {
	if o == nil {
		panic("pipeline: WithObserver: observer is nil")
	}
	return func(c *config) { c.observers = append(c.observers, o) }
}

// WithChunkSize sets the largest number of items moved between two stages in
// one hand-off (default [DefaultChunkSize]). Chunks are sized to the work:
// slow items move one by one as soon as they are done, fast items in chunks up
// to this size, so the setting rarely needs changing; 1 disables chunking. It
// panics if n is less than 1.
func WithChunkSize(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("pipeline: WithChunkSize: size %d is less than 1", n))
	}
	return func(c *config) { c.chunk = n }
}

// ErrConsumerPanicked is the error an [Observer]'s Stop receives when the
// code consuming the run's results panicked (the body of a range loop over
// a sink's iterator): the run was stopped, every goroutine has exited, and
// the panic goes on up the consumer's stack once the observers are stopped.
var ErrConsumerPanicked = errors.New("pipeline: the consumer panicked")

// Observer watches runs of a pipeline. Start is called from the goroutine
// that runs the pipeline, before any item moves, with the stages in
// composition order (the source first, the sink last); it may start its own
// goroutines, which Stop must end before returning. Stop is called once every
// goroutine of the run has exited, with the error the sink is about to
// return ([ErrConsumerPanicked] when the consumer panicked). Stop is called
// exactly once per Start, whatever ends the run. The stages' meters are
// final when Stop is called.
type Observer interface {
	Start(stages []*Stage)
	Stop(err error)
}

const (
	stateBuilding = iota
	stateRunning
	stateDone
)

// Pipeline is a graph of stages under construction, then a run. Stage
// constructors (package stage) attach to it; a sink (package sink) runs it
// and returns when every goroutine it started has exited.
//
// A Pipeline runs once. Building it (adding stages) is not safe from several
// goroutines at once; its [Stage] records are safe to read while it runs.
type Pipeline struct {
	cfg    config
	stages []*Stage
	// starts launches the workers of every stage but the sink.
	starts  []func(*run)
	streams []streamInfo
	names   map[string]int
	state   int
	mu      sync.Mutex // guards state
}

type streamInfo struct {
	from     *Stage
	consumed func() bool
}

// New returns an empty pipeline. It panics if an option is invalid.
func New(opts ...Option) *Pipeline {
	p := &Pipeline{cfg: config{chunk: DefaultChunkSize}, names: map[string]int{}}
	for _, o := range opts {
		if o == nil {
			panic("pipeline: New: nil option")
		}
		o(&p.cfg)
	}
	return p
}

// ContinuesOnError reports whether the pipeline was built with
// [WithContinueOnError].
func (p *Pipeline) ContinuesOnError() bool { return p.cfg.continueOnError }

// Stages returns the pipeline's stages in composition order. After a run,
// their [Stage.Counts] are the run's final figures.
func (p *Pipeline) Stages() []*Stage { return append([]*Stage(nil), p.stages...) }

func (p *Pipeline) mustBuild(what string) {
	p.mu.Lock()
	st := p.state
	p.mu.Unlock()
	if st != stateBuilding {
		panic(fmt.Sprintf("pipeline: %s: the pipeline has already run; build a new one for each run", what))
	}
}

// NewStage records a stage and returns it. Stage and sink constructors call
// it; an empty name becomes the kind followed by the stage's index
// ("map1"), and a name used twice gets a "#2" suffix. total is the known
// number of items (a slice source's length) or -1. It panics with a
// "pipeline:" message if workers is less than 1 or the pipeline has run.
func (p *Pipeline) NewStage(name string, kind Kind, workers int, total int64, upstream *Stage) *Stage {
	if name == "" {
		p.mustBuild("adding a " + kind.String() + " stage")
	} else {
		p.mustBuild(fmt.Sprintf("adding stage %q", name))
	}
	if workers < 1 {
		panic(fmt.Sprintf("pipeline: stage %q: worker count %d is less than 1", name, workers))
	}
	idx := len(p.stages)
	if name == "" {
		name = fmt.Sprintf("%s%d", kind, idx)
	}
	if n := p.names[name]; n > 0 {
		p.names[name] = n + 1
		name = fmt.Sprintf("%s#%d", name, n+1)
	} else {
		p.names[name] = 1
	}
	s := &Stage{p: p, name: name, index: idx, kind: kind, workers: workers, total: total, upstream: upstream}
	p.stages = append(p.stages, s)
	return s
}

// SetUnit declares what the stage's weight counts. Stage constructors call
// it at build time; it panics once the run has started.
func (s *Stage) SetUnit(u Unit) {
	s.p.mustBuild("SetUnit")
	s.unit = u
}

// run is the state of one execution of a pipeline.
type run struct {
	p      *Pipeline
	ctx    context.Context // cancelled on the first error or when the sink stops
	cancel context.CancelCauseFunc
	parent context.Context
	pool   *pool.Pool

	mu      sync.Mutex
	first   error   // fail-fast: the error that stopped the run
	errs    []error // errors that are not per item (a source's own error)
	stopped bool    // the sink stopped on purpose
}

// stopping reports whether the run has been cancelled. One atomic load.
func (r *run) stopping() bool { return r.ctx.Err() != nil }

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
	if !r.p.cfg.continueOnError {
		r.fail(err)
		return
	}
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
}

// keepFailures keeps, for the sink's returned error, the failure records in
// items that a cancelled run can no longer hand on (under [WithContinueOnError]
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

// execute runs the pipeline: it calls setup (if not nil) with the run, starts
// every stage's workers, calls consume from the calling goroutine, then waits
// for every goroutine to exit.
func (p *Pipeline) execute(ctx context.Context, sinkStage *Stage, setup func(*run), consume func(*run) error) error {
	if ctx == nil {
		panic("pipeline: run with a nil context")
	}
	p.mu.Lock()
	if p.state != stateBuilding {
		p.mu.Unlock()
		panic("pipeline: the pipeline has already run; build a new one for each run")
	}
	p.state = stateRunning
	p.mu.Unlock()
	for _, si := range p.streams {
		if !si.consumed() {
			panic(fmt.Sprintf("pipeline: the output of stage %q is never consumed; connect it to a stage or a sink", si.from.name))
		}
	}

	r := &run{p: p, parent: ctx, pool: pool.New()}
	r.ctx, r.cancel = context.WithCancelCause(ctx)
	for _, o := range p.cfg.observers {
		o.Start(p.Stages())
	}
	if setup != nil {
		setup(r)
	}
	for _, start := range p.starts {
		start(r)
	}
	completed := false
	defer func() {
		if !completed {
			// consume is panicking (a range loop's body panicked): stop
			// the run and let every goroutine exit before the panic goes
			// on up the caller's stack.
			r.stop()
			r.pool.Wait()
			sinkStage.finished.Store(true)
			r.cancel(nil)
			p.mu.Lock()
			p.state = stateDone
			p.mu.Unlock()
			for _, o := range p.cfg.observers {
				o.Stop(ErrConsumerPanicked)
			}
		}
	}()
	sinkErr := consume(r)
	completed = true
	r.pool.Wait()
	sinkStage.finished.Store(true)
	r.cancel(nil)

	err := r.result()
	if sinkErr != nil {
		err = errors.Join(err, sinkErr)
	}
	p.mu.Lock()
	p.state = stateDone
	p.mu.Unlock()
	for _, o := range p.cfg.observers {
		o.Stop(err)
	}
	return err
}
