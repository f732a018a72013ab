package stage

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/flowbar/flowbar/pipeline"
)

// Option configures a stage. Each stage constructor says which options it
// takes; an option it does not take (WithWorkers on a source, WithWindow on
// an unordered map) panics when the stage is built.
type Option func(*config)

// The options, as bits of config.set.
const (
	optName = 1 << iota
	optWorkers
	optWindow
	optUnit
	optRetry
	optBackoff
	optTimeout
	optRate
	optCountFirst
)

var optNames = []string{"WithName", "WithWorkers", "WithWindow", "WithUnit", "WithRetry", "WithBackoff", "WithTimeout", "WithRate", "WithCountFirst"}

type config struct {
	set     int // the options given
	name    string
	workers int
	window  int
	unit    pipeline.Unit
	first   bool       // WithCountFirst
	res     resilience // WithRetry, WithBackoff, WithTimeout, WithRate
}

// newConfig applies opts for the constructor what, which takes the options
// in allowed; it panics on a nil option or one that what does not take.
func newConfig(what string, allowed int, opts []Option) config {
	c := config{workers: runtime.GOMAXPROCS(0)}
	for _, o := range opts {
		if o == nil {
			panic("stage: " + what + ": nil option")
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
		panic(fmt.Sprintf("stage: %s does not take %s (it takes %s)", what, strings.Join(bad, ", "), strings.Join(ok, ", ")))
	}
	return c
}

// WithName names the stage, as shown on its progress bar and in its errors.
// The default is the stage's kind and index, such as "map1".
func WithName(name string) Option {
	return func(c *config) { c.set |= optName; c.name = name }
}

// WithWorkers sets the number of goroutines that run the stage's function.
// The default is runtime.GOMAXPROCS(0); I/O-bound functions want more. It
// panics if n is less than 1.
func WithWorkers(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("stage: WithWorkers: %d is less than 1", n))
	}
	return func(c *config) { c.set |= optWorkers; c.workers = n }
}

// WithWindow bounds the reorder window of an ordered stage: how many chunks
// of input may be taken ahead of the oldest one not yet handed on. The
// default is 4 × workers. It panics if n is less than 1.
func WithWindow(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("stage: WithWindow: %d is less than 1", n))
	}
	return func(c *config) { c.set |= optWindow; c.window = n }
}

// WithUnit declares what the stage's weight counts without a weight
// function, for a stage whose function reports its weight as it goes with
// pipeline.AddWeight or progress.Reader (bytes read inside a large item). A
// progress bar then shows that unit. The default is to count items; a weight
// function set with the output stream's Weigh method sets the unit too.
func WithUnit(u pipeline.Unit) Option {
	return func(c *config) { c.set |= optUnit; c.unit = u }
}

// WithCountFirst makes [Walk] count the files of its tree and their bytes
// before it emits the first one, so that every stage after it knows its
// exact item and byte totals before it starts: the bar of a hashing stage
// shows a percentage from its first byte, as when a listing is summed
// before the work is submitted. The work then starts only once the tree has
// been walked once. Without it, Walk emits at once and declares the totals
// as soon as its count, which runs alongside, is done.
func WithCountFirst() Option {
	return func(c *config) { c.set |= optCountFirst; c.first = true }
}
