package engine

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
)

// Later registers a sink of p for [Run]: body runs one sink (it calls
// [Consume] once, on the stream it was given) and is called by Run, with
// Run's context, on a goroutine of its own. Package sink's Later is built on
// it. It panics if p is nil or has run, or body is nil.
func Later(p *Pipeline, body func(ctx context.Context) error) {
	p.mustBuild("Later")
	if body == nil {
		panic("pipeline: Later: function is nil")
	}
	p.fan.later = append(p.fan.later, body)
}

// Run runs pipeline p with every sink registered with [Later], all in one
// run: the graph of a pipeline with several sinks (the branches of a
// [Tee], or unrelated chains). It blocks until every sink's function has
// returned and every goroutine of the run has exited.
//
// The sinks are built in the order they were registered, each on its own
// goroutine, which then consumes its stream as [Consume] does; the run
// starts once every sink is built. Errors: under fail-fast the first
// failure anywhere cancels every branch, and every sink returns it; under
// continue-on-error each sink returns the failures that reached it (an item
// that failed before a tee reaches every branch). Run returns the errors of
// the sinks joined, each error once (the same *ItemError reaching two
// sinks is returned once), or nil. A sink that stops early on purpose
// (ErrStop, a sink such as First(n)) stops only its own branch: the tee
// hands it nothing more, and the other branches go on; once every sink has
// either stopped or consumed its whole input, the run stops (so that an
// endless source feeding only stopped branches ends). When ctx is cancelled every branch stops and
// every sink returns the cause.
//
// A panic in a sink's consuming code that goes up its stack ([Consumer]
// PanicThrough) stops the run, and Run panics with it once every goroutine
// has exited; so does a sink that panics while it is built (misuse: the
// stream already consumed, the pipeline already run). Run panics with a
// "pipeline:" message if p has no sink registered, has already run, or a
// registered function returns without consuming its stream.
func Run(ctx context.Context, p *Pipeline) error {
	p.mustBuild("Run")
	if ctx == nil {
		panic("pipeline: Run: nil context")
	}
	bodies := p.fan.later
	if len(bodies) == 0 {
		panic("pipeline: Run: no sink; register each sink with sink.Later")
	}
	if p.fan.gather != nil {
		panic("pipeline: Run: the pipeline is already running")
	}
	g := &gathering{regs: make([]*sinkReg, len(bodies))}
	p.fan.gather = g
	type outcome struct {
		err      error
		panicked bool
		value    any
	}
	outs := make([]outcome, len(bodies))
	var wg sync.WaitGroup
	abort := func() {
		for _, reg := range g.regs {
			if reg != nil {
				close(reg.start)
			}
		}
		wg.Wait()
		p.mu.Lock()
		p.state = stateDone
		p.mu.Unlock()
	}
	// Each sink is built while the others wait, in order: building is not
	// safe from several goroutines, and the stages' names and indices stay
	// deterministic.
	for i, body := range bodies {
		ready := make(chan struct{})
		g.cur, g.ready = i, ready
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if g.regs[i] == nil {
					close(ready) // never built: Run sees it
				}
			}()
			defer func() {
				if v := recover(); v != nil {
					outs[i].panicked, outs[i].value = true, v
				}
			}()
			outs[i].err = body(ctx)
		}()
		<-ready
		if g.regs[i] == nil {
			abort()
			if outs[i].panicked {
				panic(outs[i].value)
			}
			panic(fmt.Sprintf("pipeline: Run: sink %d of %d returned without consuming its stream (err: %v)", i+1, len(bodies), outs[i].err))
		}
	}
	for _, si := range p.streams {
		if !si.consumed() {
			abort()
			panic(fmt.Sprintf("pipeline: the output of stage %q is never consumed; connect it to a stage or a sink", si.from.name))
		}
	}
	p.executeAll(ctx, g)
	wg.Wait()
	var errs []error
	for _, o := range outs {
		if o.panicked {
			panic(o.value)
		}
		errs = append(errs, o.err)
	}
	return joinOnce(errs)
}

// gathering is the state of a [Run]: the sinks built so far.
type gathering struct {
	regs  []*sinkReg
	cur   int           // the sink being built
	ready chan struct{} // closed once it is built (or its function returned)
	// stopped counts the sinks that stopped early on purpose.
	mu      sync.Mutex
	stopped int
	over    map[*Stage]bool // the sinks that stopped or consumed all their input
}

// sinkReg is one sink of a Run, built and waiting for the run.
type sinkReg struct {
	st       *Stage
	feeds    []*Stage
	setup    func(*run)
	consume  func(*run) error
	start    chan *run     // the run, or closed if Run gave up
	consumed chan struct{} // closed once consume has returned
	err      error         // consume's error
	panicked bool          // consume panicked through
	final    chan error    // the run's error
}

var errAborted = errors.New("pipeline: Run: another sink could not be built; nothing ran")

// runSink runs a sink's consume as [Pipeline.execute] does, or, under
// [Run], registers it and runs it as part of the run of every sink.
func (p *Pipeline) runSink(ctx context.Context, st *Stage, feeds []*Stage, setup func(*run), consume func(*run) error) error {
	g := p.fan.gather
	if g == nil {
		if len(p.fan.later) > 0 {
			panic("pipeline: the pipeline has sinks registered with Later: run them all with Run (sink.Run), not with a sink of their own")
		}
		if len(p.fan.branches) > 0 {
			for _, si := range p.streams {
				if !si.consumed() {
					panic(fmt.Sprintf("pipeline: the output of stage %q is never consumed; each branch of a tee runs to a sink of its own: give each sink to sink.Later and run them with sink.Run", si.from.name))
				}
			}
		}
		return p.execute(ctx, st, feeds, setup, consume)
	}
	if g.regs[g.cur] != nil {
		panic("pipeline: Run: a sink consumed two streams; each sink given to Later consumes one")
	}
	reg := &sinkReg{st: st, feeds: feeds, setup: setup, consume: consume,
		start: make(chan *run, 1), consumed: make(chan struct{}), final: make(chan error, 1)}
	g.regs[g.cur] = reg
	close(g.ready)
	r, ok := <-reg.start
	if !ok {
		return errAborted
	}
	var pv any
	func() {
		reg.panicked = true
		defer func() {
			if reg.panicked {
				pv = recover()
				r.stop()
			}
			close(reg.consumed)
		}()
		reg.err = consume(r)
		reg.panicked = false
	}()
	if !reg.panicked {
		g.ended(r, st, false)
	}
	err := <-reg.final
	if reg.panicked {
		panic(pv)
	}
	return err
}

// executeAll is [Pipeline.execute] for the sinks of a [Run]: each sink's
// consume runs on the goroutine that built it, and the run ends once they
// have all returned and every goroutine of the run has exited.
func (p *Pipeline) executeAll(ctx context.Context, g *gathering) {
	p.mu.Lock()
	p.state = stateRunning
	p.mu.Unlock()
	r := newRun(p, ctx)
	for _, o := range p.cfg.Observers {
		o.Start(p.Stages())
	}
	for _, reg := range g.regs {
		if reg.setup != nil {
			reg.setup(r)
		}
	}
	for _, start := range p.starts {
		start(r)
	}
	for _, reg := range g.regs {
		reg.start <- r
	}
	panicked := false
	var sinkErrs []error
	for _, reg := range g.regs {
		<-reg.consumed
		panicked = panicked || reg.panicked
		sinkErrs = append(sinkErrs, reg.err)
	}
	r.pool.Wait()
	err := r.result()
	for _, reg := range g.regs {
		for _, f := range reg.feeds {
			f.finished.Store(true)
		}
		reg.st.finished.Store(true)
	}
	r.cancel(nil)
	p.mu.Lock()
	p.state = stateDone
	p.mu.Unlock()
	stopErr := joinOnce(append([]error{err}, sinkErrs...))
	if panicked {
		stopErr = ErrConsumerPanicked
	}
	for _, o := range p.cfg.Observers {
		o.Stop(stopErr)
	}
	for _, reg := range g.regs {
		reg.final <- errors.Join(err, reg.err)
	}
}

// stop stops the sink because its consumer wants no more items: the whole
// run for a pipeline's only sink; under [Run], only the sink's branch (the
// tees above it hand it nothing more), and the run once every sink has
// stopped.
func (k *sink[S, T]) stop() {
	g := k.r.p.fan.gather
	if g == nil {
		k.r.stop()
		return
	}
	if k.stopped {
		return
	}
	k.stopped = true
	// The tee records above the sink, up to the first on each path.
	todo := k.st.Upstreams()
	for len(todo) > 0 {
		st := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if b, ok := k.r.p.fan.branches[st]; ok {
			b.Store(true)
			continue
		}
		todo = append(todo, st.upstreams...)
	}
	g.ended(k.r, k.st, true)
}

// ended records that the sink of stage st stopped early (stopped) or
// consumed its whole input, whichever came first. Once every sink has done
// one or the other and one at least stopped, the run stops: what the
// stopped branches' upstreams still produce is wanted by no one (an
// endless source would never end).
func (g *gathering) ended(r *run, st *Stage, stopped bool) {
	g.mu.Lock()
	if g.over == nil {
		g.over = map[*Stage]bool{}
	}
	if !g.over[st] {
		g.over[st] = true
		if stopped {
			g.stopped++
		}
	}
	all := g.stopped > 0 && len(g.over) == len(g.regs)
	g.mu.Unlock()
	if all {
		r.stop()
	}
}

// joinOnce joins errs, leaving out nils and any error (or error joined in
// one) already present, so that a failure several sinks return is
// returned once. It returns nil when nothing is left.
func joinOnce(errs []error) error {
	var out []error
	seen := map[error]bool{}
	var add func(err error)
	add = func(err error) {
		if err == nil {
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok && reflect.TypeOf(err).String() == "*errors.joinError" {
			for _, e := range j.Unwrap() {
				add(e)
			}
			return
		}
		if reflect.TypeOf(err).Comparable() {
			if seen[err] {
				return
			}
			seen[err] = true
		}
		out = append(out, err)
	}
	for _, err := range errs {
		add(err)
	}
	switch len(out) {
	case 0:
		return nil
	case 1:
		return out[0]
	}
	return errors.Join(out...)
}
