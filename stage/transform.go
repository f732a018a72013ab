package stage

import (
	"context"
	"reflect"
	"runtime"
	"strings"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
)

// The options transforms take.
const (
	unorderedOpts = optName | optWorkers | optUnit
	orderedOpts   = unorderedOpts | optWindow
)

func allowed(ordered bool) int {
	if ordered {
		return orderedOpts
	}
	return unorderedOpts
}

// spec is the engine spec of a stage running fn, configured by c: the stage
// is named after fn when fn is a named function and no name is given.
func spec[S, In, Out any](c config, fn any, kind engine.Kind, shape engine.Shape, ordered bool) engine.Spec[S, In, S, Out] {
	name := c.name
	if name == "" {
		name = funcName(fn)
	}
	return engine.Spec[S, In, S, Out]{
		Name:    name,
		Kind:    kind,
		Shape:   shape,
		Workers: c.workers,
		Ordered: ordered,
		Window:  c.window,
		Unit:    c.unit,
	}
}

// funcName returns the name of a named function or method ("hash" for
// main.hash), or "" for a function literal.
func funcName(fn any) string {
	v := reflect.ValueOf(fn)
	if v.Kind() != reflect.Func || v.IsNil() {
		return ""
	}
	f := runtime.FuncForPC(v.Pointer())
	if f == nil {
		return ""
	}
	name := strings.TrimSuffix(f.Name(), "-fm") // a method value
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	parts := strings.Split(name, ".")
	last := parts[len(parts)-1]
	if len(parts) < 2 || strings.HasPrefix(last, "func") && strings.Trim(last[4:], "0123456789") == "" {
		return "" // a function literal: main.main.func1
	}
	if strings.HasPrefix(last, "glob") || strings.Contains(name, ".func") {
		return ""
	}
	return last
}

// Map returns a stage that calls fn on every item with a fixed number of
// workers (option WithWorkers, default GOMAXPROCS) and hands the results on
// as they complete, like Python's as_completed: a fast item is never held
// back by a slow one before it, and items that turn slow are shared by the
// workers, whatever feeds the stage. fn receives the run's context,
// cancelled on the first error (under fail-fast), on a panic, when the
// caller's context ends or when the sink stops early. The stage is named
// after fn when fn is a named function. Options: WithName, WithWorkers,
// WithUnit, and WithRetry, WithBackoff, WithTimeout and WithRate, which wrap
// each call of fn (the package documentation says how they combine); the returned
// stream's Weigh and Describe methods give a weight and a description per
// result. It panics if fn is nil or in already has a consumer.
func Map[S, In, Out any](in *pipeline.Stream[S, In], fn func(ctx context.Context, v In) (Out, error), opts ...Option) *pipeline.Stream[S, Out] {
	return mapStage("Map", in, fn, false, opts)
}

// OrderedMap is [Map] that hands results on in input order; it also takes
// WithWindow. Up to WithWindow chunks of input (default 4 × workers) are
// worked on ahead of the oldest unfinished one; beyond that workers wait, so
// memory stays bounded however slow one item is.
func OrderedMap[S, In, Out any](in *pipeline.Stream[S, In], fn func(ctx context.Context, v In) (Out, error), opts ...Option) *pipeline.Stream[S, Out] {
	return mapStage("OrderedMap", in, fn, true, opts)
}

func mapStage[S, In, Out any](what string, in *pipeline.Stream[S, In], fn func(context.Context, In) (Out, error), ordered bool, opts []Option) *pipeline.Stream[S, Out] {
	if fn == nil {
		panic("stage: " + what + ": function is nil")
	}
	c := newConfig(what, allowed(ordered)|resilientOpts, opts)
	c.res.build(what, c.set)
	return engine.Attach([]*pipeline.Stream[S, In]{in}, spec[S, In, Out](c, fn, engine.KindMap, engine.OneToOne, ordered), mapOp[S, In, Out]{guard(&c.res, fn)})
}

type mapOp[S, In, Out any] struct {
	fn func(context.Context, In) (Out, error)
}

func (op mapOp[S, In, Out]) Work(w *engine.Worker[S, In, S, Out]) { engine.EachMap(w, op.fn) }

// Filter returns a stage that keeps the items for which keep returns true,
// with a fixed number of workers (default GOMAXPROCS), in completion order.
// The dropped items are counted on the stage's meters, and progress bars
// downstream shrink their totals accordingly. Options: WithName,
// WithWorkers, WithUnit. It panics if keep is nil.
func Filter[S, T any](in *pipeline.Stream[S, T], keep func(v T) bool, opts ...Option) *pipeline.Stream[S, T] {
	return filterStage("Filter", in, keep, false, opts)
}

// OrderedFilter is [Filter] that keeps the input order. It also takes
// WithWindow.
func OrderedFilter[S, T any](in *pipeline.Stream[S, T], keep func(v T) bool, opts ...Option) *pipeline.Stream[S, T] {
	return filterStage("OrderedFilter", in, keep, true, opts)
}

func filterStage[S, T any](what string, in *pipeline.Stream[S, T], keep func(T) bool, ordered bool, opts []Option) *pipeline.Stream[S, T] {
	if keep == nil {
		panic("stage: " + what + ": function is nil")
	}
	c := newConfig(what, allowed(ordered), opts)
	return engine.Attach([]*pipeline.Stream[S, T]{in}, spec[S, T, T](c, keep, engine.KindFilter, engine.AtMostOne, ordered), filterOp[S, T]{keep})
}

type filterOp[S, T any] struct{ keep func(T) bool }

func (op filterOp[S, T]) Work(w *engine.Worker[S, T, S, T]) {
	keep := op.keep
	engine.Each(w, func(_ context.Context, _ S, v T) (T, bool, error) { return v, keep(v), nil })
}

// OnDone returns a stage that calls fn for every item that reaches it, with
// the item's pipeline input and its outcome: the value and a nil error, or,
// for an item that failed upstream under pipeline.WithContinueOnError, the
// zero value and its *pipeline.ItemError. This is Python's
// future.add_done_callback with the input bound: no partial, no late
// binding. fn is called serially from one goroutine, in completion order, so
// it may update state without locks. The items pass on unchanged. Under
// fail-fast a failure stops the run instead of reaching fn. A panic in fn
// fails the item like a panic in a map; a panic for an item that had already
// failed is joined to that item's error. Options: WithName. It panics if fn
// is nil.
func OnDone[S, T any](in *pipeline.Stream[S, T], fn func(input S, v T, err error), opts ...Option) *pipeline.Stream[S, T] {
	if fn == nil {
		panic("stage: OnDone: function is nil")
	}
	c := newConfig("OnDone", optName, opts)
	c.workers = 1
	sp := spec[S, T, T](c, fn, engine.KindCallback, engine.OneToOne, false)
	sp.OnFailed = func(input S, err error) {
		var zero T
		fn(input, zero, err)
	}
	return engine.Attach([]*pipeline.Stream[S, T]{in}, sp, onDoneOp[S, T]{fn})
}

type onDoneOp[S, T any] struct{ fn func(S, T, error) }

func (op onDoneOp[S, T]) Work(w *engine.Worker[S, T, S, T]) {
	fn := op.fn
	engine.Each(w, func(_ context.Context, input S, v T) (T, bool, error) {
		fn(input, v, nil)
		return v, true, nil
	})
}
