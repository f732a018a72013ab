package sink

import (
	"context"
	"iter"
	"maps"
	"math"
	"reflect"
	"sync/atomic"

	"github.com/flowbar/flowbar/internal/knobs"
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
)

// Option configures a sink.
type Option func(*config)

type config struct{ name string }

// WithName names the sink stage, as shown on its progress bar and in its
// errors. The default is "sink" and the stage's index.
func WithName(name string) Option { return func(c *config) { c.name = name } }

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		if o == nil {
			panic("sink: nil option")
		}
		o(&c)
	}
	return c
}

// Result is one successful result with the pipeline input it came from.
type Result[S, T any] struct {
	Input S // the pipeline input the result came from
	Value T // the result
}

// MaxBoundSize is the largest number of entries [ByInput] sizes its map for
// when it knows only an upper bound on the number of results (a slice
// source followed by filters): up to it, the map is sized for the results
// expected from the share of items the filters have kept once a thousand
// or so have arrived, instead of growing all the way.
const MaxBoundSize = 1 << 20

// ByInput runs the pipeline and collects its results into a map keyed by
// each result's original pipeline input: Python's "results[x] = f(x)" over
// futures, without a pass-through function or a futures dictionary. When the
// total is known (a slice source) the map is allocated at its final size;
// when only an upper bound is known (filters after a slice source), it is
// sized, once the first thousand or so results have arrived, for the
// results the bound and the filters' pass rate so far let it expect, up to
// [MaxBoundSize] entries. Into a map too large for the caches (some
// 250,000 entries or more) keyed by integers or other keys that hold no
// pointer, results are stored a few at a time, their keys looked up first,
// so that their waits for memory overlap: a million results go in about a
// quarter faster than one after the other. If two items come from the same
// input (duplicates in the source), the last to arrive wins. Under
// continue-on-error the map holds every success and the error joins every
// failure; under fail-fast the map holds what completed before the first
// error.
func ByInput[S comparable, T any](ctx context.Context, in *pipeline.Stream[S, T], opts ...Option) (map[S]T, error) {
	c := newConfig(opts)
	var m map[S]T
	made := 0 // the entries m was made for
	large := largeMap[S, T]()
	err := engine.Consume(ctx, in, engine.Consumer[S, T]{
		Name: c.name,
		Size: func(n int) { m, made = make(map[S]T, n), n },
		Bound: func(n int) {
			made = min(n, MaxBoundSize)
			m = resized(m, made)
		},
		Batch: func(items []engine.Item[S, T]) {
			if m == nil {
				m = make(map[S]T)
			}
			storeByInput(m, items, max(made, len(m)) >= large)
		},
	})
	if m == nil {
		m = map[S]T{}
	}
	return m, err
}

// ByKey runs the pipeline and collects its results into a map keyed by
// key(input, value). If two results have the same key, the last to arrive
// wins. It panics if key is nil.
//
// Keys may repeat, so the number of results says little about the size of
// the map: ByKey sizes it for every result it expects (the total of a slice
// source, or the bound of filters after one, as [ByInput] does) only once
// the first [KeySample] results have shown distinct keys, nine in ten or
// more. A million results grouped under ten keys then make a map of ten
// entries, not one sized for a million. Into a large map keyed by values
// that hold no pointer, results are stored as [ByInput] stores them: a few
// at a time, their keys looked up first (key is still called once per
// result, as it arrives, so that a panic in it fails that result).
func ByKey[S any, T any, K comparable](ctx context.Context, in *pipeline.Stream[S, T], key func(input S, v T) K, opts ...Option) (map[K]T, error) {
	if key == nil {
		panic("sink: ByKey: key function is nil")
	}
	c := newConfig(opts)
	m := map[K]T{}
	// expect is the number of results expected, once known; arrived
	// counts the results until the sizing is decided.
	var expect, arrived int
	decided := false
	large := largeMap[K, T]()
	var run keyRun[K, T] // results not yet stored, once m is large
	decide := func() {
		run.store(m)
		if len(m)*10 >= arrived*9 {
			m = resized(m, expect)
			run.on = run.on || expect >= large
		}
		decided = true
	}
	err := engine.Consume(ctx, in, engine.Consumer[S, T]{
		Name: c.name,
		Size: func(n int) { expect = n },
		Bound: func(n int) {
			if expect = min(n, MaxBoundSize); arrived >= KeySample {
				decide()
			}
		},
		Each: func(it engine.Item[S, T]) error {
			k := key(it.Input, it.Value)
			if run.on || len(m) >= large {
				run.add(m, k, it.Value)
			} else {
				m[k] = it.Value
			}
			if !decided {
				if arrived++; expect > 0 && arrived >= KeySample {
					decide()
				}
			}
			return nil
		},
	})
	run.store(m)
	return m, err
}

// keyRun holds the results of a map sink whose keys are known but which
// are not yet stored: once the map is large, [ByKey] stores them lookAhead
// at a time, as storeByInput does.
type keyRun[K comparable, V any] struct {
	on   bool // the map is large: results go through the run
	n    int
	keys [lookAhead]K
	vals [lookAhead]V
}

// add holds v under k, and stores the run into m once it is full.
func (r *keyRun[K, V]) add(m map[K]V, k K, v V) {
	r.on = true
	r.keys[r.n], r.vals[r.n] = k, v
	if r.n++; r.n == lookAhead {
		r.store(m)
	}
}

// store stores the results held into m, in the order they came, their keys
// looked up first.
func (r *keyRun[K, V]) store(m map[K]V) {
	if r.n == 0 {
		return
	}
	if testHookLarge != nil {
		testHookLarge()
	}
	keys, vals := r.keys[:r.n], r.vals[:r.n]
	for _, k := range keys {
		_ = m[k]
	}
	for i, k := range keys {
		m[k] = vals[i]
	}
	r.n = 0
}

// largeEntries is the number of entries from which a map is too large for
// a core's caches: from there on each store waits for memory. (A variable,
// so that tests can run the large maps' path on small ones.)
var largeEntries = 1 << 18

// lookAhead is the number of results whose keys a map sink looks up before
// it stores them, once its map is large (see storeByInput).
const lookAhead = 8

// largeMap returns the number of entries from which the map sinks
// (storeByInput, keyRun) look up the keys of a map[K]V first: largeEntries for keys that hold no pointer
// (integers, floats, arrays and structs of them), whose hashing reads no
// other memory. Keys that point elsewhere (strings, interfaces, pointers)
// read their own memory to be hashed and compared, and looking them up
// first made storing slower (1.1-1.4 × for strings of some 50 bytes, from
// 50,000 entries to 1,000,000), so it returns the most an int holds for
// them, as it does with the lookahead heuristic switched off (see package
// internal/knobs).
func largeMap[K comparable, V any]() int {
	if knobs.Read().NoLookahead || !pointerFree(reflect.TypeFor[K]()) {
		return math.MaxInt
	}
	return largeEntries
}

// testHookLarge, when set by a test, is called each time a map sink stores
// into a large map with its keys looked up first (storeByInput, keyRun).
var testHookLarge func()

// pointerFree reports whether values of type t hold no pointer.
func pointerFree(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	case reflect.Array:
		return pointerFree(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !pointerFree(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}

// storeByInput stores each item's value under its input. Into a large map
// (one that does not stay in the caches), each store waits for memory, and
// one store after another waits in turn. Each run of lookAhead items is then
// looked up first: the lookups do not depend on one another, so their waits
// for memory overlap, and the stores that follow find the memory they write
// cached. From 250,000 to 1,000,000 results keyed by integers, stored into
// a map made for them, go in a fifth to a quarter faster this way; into a
// map that fits in the caches (30,000 to 100,000 of them) the lookups would
// only add their cost, a tenth to a fifth of the stores'.
func storeByInput[S comparable, T any](m map[S]T, items []engine.Item[S, T], large bool) {
	if !large {
		for i := range items {
			m[items[i].Input] = items[i].Value
		}
		return
	}
	if testHookLarge != nil {
		testHookLarge()
	}
	for lo := 0; lo < len(items); lo += lookAhead {
		run := items[lo:min(lo+lookAhead, len(items))]
		for i := range run {
			_ = m[run[i].Input]
		}
		for i := range run {
			m[run[i].Input] = run[i].Value
		}
	}
}

// resized returns a map sized for n entries that holds m's.
func resized[K comparable, V any](m map[K]V, n int) map[K]V {
	sized := make(map[K]V, n)
	maps.Copy(sized, m)
	return sized
}

// KeySample is the number of results whose keys [ByKey] looks at before it
// sizes its map for every result it expects.
const KeySample = 1024

// Slice runs the pipeline and returns its results in arrival order (input
// order when every stage is ordered).
func Slice[S, T any](ctx context.Context, in *pipeline.Stream[S, T], opts ...Option) ([]T, error) {
	c := newConfig(opts)
	var out []T
	err := engine.Consume(ctx, in, engine.Consumer[S, T]{
		Name: c.name,
		Size: func(n int) { out = make([]T, 0, n) },
		Batch: func(items []engine.Item[S, T]) {
			for i := range items {
				out = append(out, items[i].Value)
			}
		},
	})
	return out, err
}

// ForEach runs the pipeline and calls fn for every result, serially from
// the calling goroutine, in arrival order. An error from fn is the failure of
// that item: under fail-fast it stops the run and is returned. fn's memory
// use does not depend on the number of items, so ForEach streams inputs of
// any length. It panics if fn is nil.
func ForEach[S, T any](ctx context.Context, in *pipeline.Stream[S, T], fn func(input S, v T) error, opts ...Option) error {
	if fn == nil {
		panic("sink: ForEach: function is nil")
	}
	c := newConfig(opts)
	return engine.Consume(ctx, in, engine.Consumer[S, T]{
		Name: c.name,
		Each: func(it engine.Item[S, T]) error { return fn(it.Input, it.Value) },
	})
}

// Reduce runs the pipeline and folds its results, in arrival order, into an
// accumulator that starts at init. It panics if fn is nil.
func Reduce[S, T, A any](ctx context.Context, in *pipeline.Stream[S, T], init A, fn func(acc A, v T) A, opts ...Option) (A, error) {
	if fn == nil {
		panic("sink: Reduce: function is nil")
	}
	c := newConfig(opts)
	acc := init
	err := engine.Consume(ctx, in, engine.Consumer[S, T]{
		Name: c.name,
		Each: func(it engine.Item[S, T]) error {
			acc = fn(acc, it.Value)
			return nil
		},
	})
	return acc, err
}

// Count runs the pipeline and returns the number of results.
func Count[S, T any](ctx context.Context, in *pipeline.Stream[S, T], opts ...Option) (int, error) {
	return Reduce(ctx, in, 0, func(n int, _ T) int { return n + 1 }, opts...)
}

// All returns an iterator that runs the pipeline and yields each result with
// its input as it completes, so a caller can act on early results while the
// rest run, and break out of the loop to stop the run. Breaking cancels the
// run and waits for its goroutines to exit before the loop ends.
//
// Errors come through the loop: under continue-on-error each failure is
// yielded as it arrives, with its input in the Result and a
// *pipeline.ItemError; under fail-fast the error that stopped the run is
// yielded once, last, with a zero Result. The pipeline runs when the loop
// starts; the iterator can be ranged over once, and panics the second time.
func All[S, T any](ctx context.Context, in *pipeline.Stream[S, T], opts ...Option) iter.Seq2[Result[S, T], error] {
	c := newConfig(opts)
	var used atomic.Bool
	return func(yield func(Result[S, T], error) bool) {
		if used.Swap(true) {
			panic("sink: All: the iterator was ranged over twice; a pipeline runs once")
		}
		broke := false
		err := engine.Consume(ctx, in, engine.Consumer[S, T]{
			Name:         c.name,
			PanicThrough: true,
			Each: func(it engine.Item[S, T]) error {
				if !yield(Result[S, T]{Input: it.Input, Value: it.Value}, nil) {
					broke = true
					return engine.ErrStop
				}
				return nil
			},
			Failed: func(ie *pipeline.ItemError[S]) error {
				if broke {
					// The loop has ended (a failure record may still
					// arrive when the run was also cancelled): yield
					// must not be called again.
					return engine.ErrStop
				}
				if !yield(Result[S, T]{Input: ie.Input}, ie) {
					broke = true
					return engine.ErrStop
				}
				return nil
			},
		})
		if err != nil && !broke {
			yield(Result[S, T]{}, err)
		}
	}
}
