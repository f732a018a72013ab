package remote

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

// Option configures a remote stage: [Map] in the driver, [Serve] in the
// workers. Each says which options it takes; an option it does not take
// panics when the stage is built or Serve is called. Options that make up
// the stage's fingerprint ([WithCodec], [WithVersion]) must be the same on
// both sides.
type Option func(*config)

// The options, as bits of config.set.
const (
	optCodec = 1 << iota
	optVersion
	optBatch
	optWindow
	optAckWait
	optMaxDeliver
	optWorkers
	optInFlight
	optHeartbeat
	optMemory
)

var optNames = []string{"WithCodec", "WithVersion", "WithBatchSize", "WithWindow", "WithAckWait", "WithMaxDeliver", "WithWorkers", "WithInFlight", "WithHeartbeat", "WithMemoryStorage"}

const (
	mapOpts   = optCodec | optVersion | optBatch | optWindow | optAckWait | optMaxDeliver | optHeartbeat | optMemory
	serveOpts = optCodec | optVersion | optWorkers | optInFlight | optHeartbeat
)

type config struct {
	set        int
	codec      Codec
	version    string
	batch      int
	window     int
	ackWait    time.Duration
	maxDeliver int
	workers    int
	inFlight   int
	heartbeat  time.Duration
	memory     bool
}

// newConfig applies opts for what, which takes the options in allowed.
func newConfig(what string, allowed int, opts []Option) config {
	c := config{
		codec:      JSON(),
		batch:      100,
		window:     64,
		ackWait:    30 * time.Second,
		maxDeliver: 5,
		workers:    runtime.GOMAXPROCS(0),
		heartbeat:  time.Second,
	}
	for _, o := range opts {
		if o == nil {
			panic("remote: " + what + ": nil option")
		}
		o(&c)
	}
	if extra := c.set &^ allowed; extra != 0 {
		var bad, ok []string
		for i, n := range optNames {
			if extra&(1<<i) != 0 {
				bad = append(bad, n)
			}
			if allowed&(1<<i) != 0 {
				ok = append(ok, n)
			}
		}
		panic(fmt.Sprintf("remote: %s does not take %s (it takes %s)", what, strings.Join(bad, ", "), strings.Join(ok, ", ")))
	}
	if c.inFlight == 0 {
		c.inFlight = 2 * c.workers
	}
	return c
}

// WithCodec sets how values and results travel; the default is [JSON]. The
// codec's name is part of the stage's fingerprint. It panics if c is nil.
func WithCodec(c Codec) Option {
	if c == nil {
		panic("remote: WithCodec: codec is nil")
	}
	return func(cf *config) { cf.set |= optCodec; cf.codec = c }
}

// WithVersion names the version of the stage's function, such as a release
// or a hash of its code; the default is "". It is part of the stage's
// fingerprint: a driver and a worker that give different versions refuse
// each other with [ErrVersionMismatch] instead of mixing results.
func WithVersion(v string) Option {
	return func(c *config) { c.set |= optVersion; c.version = v }
}

// WithBatchSize sets the largest number of items sent to the workers in
// one message; the default is 100. A batch goes out before it is full as
// soon as no more input is ready, so that scarce or slow items are never
// held back waiting for others. It panics if n is less than 1.
func WithBatchSize(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("remote: WithBatchSize: %d is less than 1", n))
	}
	return func(c *config) { c.set |= optBatch; c.batch = n }
}

// WithWindow sets how many messages the driver keeps out at once (sent and
// not yet answered), which bounds its memory; it is then also the work
// consumer's MaxAckPending. The default is sized from the workers: the sum
// of the [WithInFlight] limits of the workers serving (announced in their
// heartbeats), and at least 64, with a MaxAckPending of 10,000; a smaller
// window than that sum leaves some workers without work. It panics if n is
// less than 1.
func WithWindow(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("remote: WithWindow: %d is less than 1", n))
	}
	return func(c *config) { c.set |= optWindow; c.window = n }
}

// WithAckWait sets how long a worker may hold a message without news
// before JetStream gives it to another worker (a worker that died); the
// default is 30s. Workers send in-progress acknowledgements every third of
// it while they work, so slow items are not redelivered. It panics if d is
// less than 100ms.
func WithAckWait(d time.Duration) Option {
	if d < 100*time.Millisecond {
		panic(fmt.Sprintf("remote: WithAckWait: %v is less than 100ms", d))
	}
	return func(c *config) { c.set |= optAckWait; c.ackWait = d }
}

// WithMaxDeliver sets how many times a message is delivered before its
// items fail with [ErrMaxDeliver]; the default is 5. It panics if n is
// less than 1.
func WithMaxDeliver(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("remote: WithMaxDeliver: %d is less than 1", n))
	}
	return func(c *config) { c.set |= optMaxDeliver; c.maxDeliver = n }
}

// WithWorkers sets how many goroutines of a [Serve] call run the stage's
// function; the default is runtime.GOMAXPROCS(0). They take items one at a
// time from every message being worked on, so a slow item holds up no
// other item of its message. It panics if n is less than 1.
func WithWorkers(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("remote: WithWorkers: %d is less than 1", n))
	}
	return func(c *config) { c.set |= optWorkers; c.workers = n }
}

// WithInFlight sets how many messages a [Serve] call pulls and works on
// at once; the default is 2 × workers. Messages pulled and not yet
// acknowledged count against the driver's [WithWindow]. It panics if n is
// less than 1.
func WithInFlight(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("remote: WithInFlight: %d is less than 1", n))
	}
	return func(c *config) { c.set |= optInFlight; c.inFlight = n }
}

// WithHeartbeat sets how often a [Serve] call announces itself, and, in the
// driver, the period after which a worker not heard from for three of them
// no longer counts as serving; the default is 1s. It panics if d is not
// positive.
func WithHeartbeat(d time.Duration) Option {
	if d <= 0 {
		panic(fmt.Sprintf("remote: WithHeartbeat: %v is not positive", d))
	}
	return func(c *config) { c.set |= optHeartbeat; c.heartbeat = d }
}

// WithMemoryStorage keeps the job's streams in the server's memory instead
// of on its disk (the default): the round trip costs less, and a job does
// not survive a restart of the server (workers dying is survived either
// way).
func WithMemoryStorage() Option {
	return func(c *config) { c.set |= optMemory; c.memory = true }
}

// maxAckPending is the work consumer's limit of messages delivered and not
// yet acknowledged.
func (c config) maxAckPending() int {
	if c.set&optWindow != 0 {
		return c.window
	}
	return 10_000
}
