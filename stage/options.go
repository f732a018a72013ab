package stage

import (
	"fmt"
	"reflect"
	"runtime"

	"github.com/flowbar/flowbar/pipeline"
)

// Option configures a stage. Options that do not apply to a stage (Workers
// on a source, Window on an unordered map) are ignored.
type Option func(*config)

type config struct {
	name     string
	workers  int
	window   int
	unit     pipeline.Unit
	weight   any // func(T) int64 for the stage's output type T
	describe any // func(S, T) string, or func(T) string for a source
}

func newConfig(opts []Option) config {
	c := config{workers: runtime.GOMAXPROCS(0)}
	for _, o := range opts {
		if o == nil {
			panic("stage: nil option")
		}
		o(&c)
	}
	return c
}

// Name names the stage, as shown on its progress bar and in its errors.
// The default is the stage's kind and index, such as "map1".
func Name(name string) Option {
	return func(c *config) { c.name = name }
}

// Workers sets the number of goroutines that run the stage's function. The
// default is runtime.GOMAXPROCS(0); I/O-bound functions want more. It
// panics if n is less than 1.
func Workers(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("stage: Workers: %d is less than 1", n))
	}
	return func(c *config) { c.workers = n }
}

// Window bounds the reorder window of an ordered stage: how many chunks of
// input may be taken ahead of the oldest one not yet handed on. The default
// is 4 × workers. It panics if n is less than 1.
func Window(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("stage: Window: %d is less than 1", n))
	}
	return func(c *config) { c.window = n }
}

// Weight makes the stage count the weight of what it emits, as given by fn,
// in unit (pipeline.Bytes, pipeline.Rows, or any name): a progress bar then
// shows bytes or rows instead of items. fn is called once per item, from the
// stage's workers; T must be the stage's output type, which is checked when
// the stage is built. It panics if fn is nil.
func Weight[T any](unit pipeline.Unit, fn func(T) int64) Option {
	if fn == nil {
		panic("stage: Weight: function is nil")
	}
	return func(c *config) { c.unit, c.weight = unit, fn }
}

// Unit declares what the stage's weight counts without a weight function,
// for a stage whose function reports its weight as it goes with
// pipeline.AddWeight or progress.Reader (bytes read inside a large item).
// A progress bar then shows that unit. The default is to count items.
func Unit(u pipeline.Unit) Option {
	return func(c *config) { c.unit = u }
}

// Describe gives the stage a description of its last result, such as the
// file just hashed; a progress bar shows it. fn receives the item's pipeline
// input and the stage's output value. It is called only when the
// description is read (a few times a second by a progress bar), never per
// item, so it may format freely. For a source, input and value are the same
// value. The types are checked when the stage is built. It panics if fn is
// nil.
func Describe[S, T any](fn func(input S, v T) string) Option {
	if fn == nil {
		panic("stage: Describe: function is nil")
	}
	return func(c *config) { c.describe = fn }
}

// weightFor returns the weight function for a stage emitting T.
func weightFor[T any](c config, stage string) func(T) int64 {
	if c.weight == nil {
		return nil
	}
	fn, ok := c.weight.(func(T) int64)
	if !ok {
		panic(fmt.Sprintf("stage: Weight: stage %q emits %s, but the weight function is %T", stage, typeName[T](), c.weight))
	}
	return fn
}

// describerFor returns the describe function for a stage with pipeline
// input S emitting T.
func describerFor[S, T any](c config, stage string) func(S, T) string {
	if c.describe == nil {
		return nil
	}
	fn, ok := c.describe.(func(S, T) string)
	if !ok {
		panic(fmt.Sprintf("stage: Describe: stage %q has input %s and emits %s, but the describe function is %T",
			stage, typeName[S](), typeName[T](), c.describe))
	}
	return fn
}

func typeName[T any]() string { return reflect.TypeFor[T]().String() }

func (c config) label(kind string) string {
	if c.name != "" {
		return c.name
	}
	return kind
}
