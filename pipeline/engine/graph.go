package engine

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/flowbar/flowbar/internal/knobs"
)

// DefaultChunkSize is the largest number of items moved between two stages
// in one hand-off, unless [Config].ChunkSize says otherwise.
const DefaultChunkSize = 512

// Config is the configuration of a [Pipeline]. Package pipeline builds it
// from its options.
type Config struct {
	// ContinueOnError makes every item run even when some fail; the
	// default is fail-fast.
	ContinueOnError bool
	// Observers are told when each run starts and ends.
	Observers []Observer
	// ChunkSize is the largest number of items moved between two stages
	// in one hand-off; 0 means [DefaultChunkSize].
	ChunkSize int
}

// ErrConsumerPanicked is the error an [Observer]'s Stop receives when the
// code consuming the run's results panicked (the body of a range loop over
// a sink's iterator): the run was stopped, every goroutine has exited, and
// the panic goes on up the consumer's stack once the observers are stopped.
var ErrConsumerPanicked = errors.New("pipeline: the consumer panicked")

// ErrStopped is the cancellation cause of a run whose sink stopped reading
// before the input was exhausted: a range loop that breaks, or a sink
// function that asked to stop. User functions still in flight see it through
// context.Cause. A sink that stops early on purpose does not return it.
var ErrStopped = errors.New("pipeline: stopped by the consumer")

// Observer watches runs of a pipeline. Start is called from the goroutine
// that runs the pipeline, before any item moves, with the stages in
// composition order (sources first, the sink last); it may start its own
// goroutines, which Stop must end before returning. Stop is called once every
// goroutine of the run has exited, with the error the sink is about to
// return ([ErrConsumerPanicked] when the consumer panicked). Stop is called
// exactly once per Start, whatever ends the run. The stages' meters are
// final when Stop is called.
type Observer interface {
	Start(stages []*Stage)
	Stop(err error)
}

// Pipeline is a graph of stages under construction, then a run. Stage
// constructors attach to it; a sink runs it and returns when every
// goroutine it started has exited. Create one with New (package pipeline's
// New for users).
//
// A Pipeline runs once. Building it (adding stages) is not safe from several
// goroutines at once; its [Stage] records are safe to read while it runs.
type Pipeline struct {
	cfg    Config
	knobs  knobs.Set // the heuristics switched off (package internal/knobs)
	stages []*Stage
	// starts launches the goroutines of every stage but the sink.
	starts  []func(*run)
	streams []streamInfo
	names   map[string]int
	fan     fanInfo // tees and the sinks run by Run (fanout.go, run.go)
	state   int
	mu      sync.Mutex // guards state
}

type streamInfo struct {
	from     *Stage
	consumed func() bool
}

// New returns an empty pipeline with configuration cfg. It panics if
// cfg.ChunkSize is negative or an observer is nil.
func New(cfg Config) *Pipeline {
	if cfg.ChunkSize < 0 {
		panic(fmt.Sprintf("pipeline: chunk size %d is less than 1", cfg.ChunkSize))
	}
	if cfg.ChunkSize == 0 {
		cfg.ChunkSize = DefaultChunkSize
	}
	for _, o := range cfg.Observers {
		if o == nil {
			panic("pipeline: observer is nil")
		}
	}
	return &Pipeline{cfg: cfg, knobs: knobs.Read(), names: map[string]int{}, fan: fanInfo{branches: map[*Stage]*atomic.Bool{}}}
}

// Stages returns the pipeline's stages in composition order. After a run,
// their [Stage.Counts] are the run's final figures.
func (p *Pipeline) Stages() []*Stage { return append([]*Stage(nil), p.stages...) }

// ContinueOnError reports whether failed items travel on to the sink as
// failure records (continue-on-error) instead of cancelling the run.
func (p *Pipeline) ContinueOnError() bool { return p.cfg.ContinueOnError }

// unconsumed returns a stage whose output is never consumed, or nil.
func (p *Pipeline) unconsumed() *Stage {
	for _, si := range p.streams {
		if !si.consumed() {
			return si.from
		}
	}
	return nil
}

// valid panics, with what to do, if p is nil or was not made by New.
func (p *Pipeline) valid(what string) {
	if p == nil {
		panic("pipeline: " + what + ": the pipeline is nil; create one with pipeline.New")
	}
	if p.names == nil {
		panic("pipeline: " + what + ": the pipeline is a zero value; create one with pipeline.New")
	}
}

func (p *Pipeline) mustBuild(what string) {
	p.valid(what)
	p.mu.Lock()
	st := p.state
	p.mu.Unlock()
	if st != stateBuilding {
		panic(fmt.Sprintf("pipeline: %s: the pipeline has already run; build a new one for each run", what))
	}
}

// newStage records a stage and returns it. An empty name becomes the kind
// followed by the stage's index ("map1"), and a name used twice gets a "#2"
// suffix. total is the known number of items (a slice source's length) or
// -1. It panics with a "pipeline:" message if workers is less than 1 or the
// pipeline has run.
func (p *Pipeline) newStage(name string, kind Kind, shape Shape, workers int, total int64, upstreams []*Stage) *Stage {
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
	s := &Stage{name: name, index: idx, kind: kind, shape: shape, workers: workers, total: total, upstreams: upstreams}
	p.stages = append(p.stages, s)
	return s
}
