package workloads

import (
	"context"
	"fmt"
	"runtime"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
	"github.com/sourcegraph/conc/iter"
)

// The sizes of the LongChain workload.
const (
	LongChainItems = 1_000_000
	LongChainSteps = 6
)

// LongChain is six maps of x+1 over a million integers with GOMAXPROCS
// workers per step, collected into a map keyed by input: the cost of
// moving items through many stages. It runs the implementations that chain
// steps cheaply ([Chan], [ChanBatch], [ConcIter], [Flowbar]) and [Loop];
// errgroup and conc's pool and stream, which pay a task per item and step,
// are measured by Chain already.
func LongChain() Family {
	return Family{
		Name: "LongChain", Impls: append([]string{Chan, ChanBatch, ConcIter, Flowbar}, References()...), Reference: Chan, Items: LongChainItems,
		New: func() func(string) func() error {
			xs := Ints(LongChainItems)
			return func(impl string) func() error {
				m := LongChainRun(impl, xs, runtime.GOMAXPROCS(0))
				return func() error { return checkMap(m, xs, func(x int) int { return x + LongChainSteps }) }
			}
		},
	}
}

// LongChainRun runs xs through [LongChainSteps] maps of x+1 with workers
// goroutines per step and returns the results keyed by input. It panics on
// an unknown implementation name.
func LongChainRun(impl string, xs []int, workers int) map[int]int {
	switch impl {
	case Chan:
		return longChainChan(xs, workers)
	case ChanBatch:
		return longChainChanBatch(xs, workers)
	case ConcIter:
		return longChainIter(xs, workers)
	case Flowbar:
		return longChainFlowbar(xs, workers)
	case Loop:
		m := make(map[int]int, len(xs))
		for _, x := range xs {
			v := x
			for range LongChainSteps {
				v = inc(v)
			}
			m[x] = v
		}
		return m
	case Split, Chunked, Lookahead:
		return staged[int, int](impl)(xs, len(xs), func(x int, emit func(int, int)) {
			v := x
			for range LongChainSteps {
				v = inc(v)
			}
			emit(x, v)
		})
	}
	panic(fmt.Sprintf("workloads: LongChain: unknown implementation %q", impl))
}

func longChainChan(xs []int, workers int) map[int]int {
	type kv = pair[int, int]
	in := make(chan int, chanBuffer)
	go func() {
		defer close(in)
		for _, x := range xs {
			in <- x
		}
	}()
	c := make(chan kv, chanBuffer)
	step(workers, in, c, func(x int, out chan<- kv) { out <- kv{x, inc(x)} })
	for range LongChainSteps - 1 {
		next := make(chan kv, chanBuffer)
		step(workers, c, next, func(p kv, out chan<- kv) { out <- kv{p.k, inc(p.v)} })
		c = next
	}
	m := make(map[int]int, len(xs))
	for p := range c {
		m[p.k] = p.v
	}
	return m
}

func longChainChanBatch(xs []int, workers int) map[int]int {
	type kv = pair[int, int]
	in := make(chan []int, chanBuffer)
	go func() {
		defer close(in)
		for lo := 0; lo < len(xs); lo += BatchSize {
			in <- xs[lo:min(lo+BatchSize, len(xs))]
		}
	}()
	c := make(chan []kv, chanBuffer)
	step(workers, in, c, func(b []int, out chan<- []kv) {
		res := make([]kv, len(b))
		for i, x := range b {
			res[i] = kv{x, inc(x)}
		}
		out <- res
	})
	for range LongChainSteps - 1 {
		next := make(chan []kv, chanBuffer)
		step(workers, c, next, func(b []kv, out chan<- []kv) {
			for i := range b { // the batch is this worker's: map in place
				b[i].v = inc(b[i].v)
			}
			out <- b
		})
		c = next
	}
	m := make(map[int]int, len(xs))
	for b := range c {
		for _, p := range b {
			m[p.k] = p.v
		}
	}
	return m
}

// longChainIter runs one iter.Mapper pass per step, as a user of conc's
// iter would.
func longChainIter(xs []int, workers int) map[int]int {
	type kv = pair[int, int]
	ys := iter.Mapper[int, kv]{MaxGoroutines: workers}.Map(xs, func(x *int) kv { return kv{*x, inc(*x)} })
	for range LongChainSteps - 1 {
		ys = iter.Mapper[kv, kv]{MaxGoroutines: workers}.Map(ys, func(p *kv) kv { return kv{p.k, inc(p.v)} })
	}
	m := make(map[int]int, len(ys))
	for _, p := range ys {
		m[p.k] = p.v
	}
	return m
}

func longChainFlowbar(xs []int, workers int) map[int]int {
	p := pipeline.New()
	w := stage.WithWorkers(workers)
	incr := func(_ context.Context, x int) (int, error) { return inc(x), nil }
	s := stage.Map(stage.FromSlice(p, xs), incr, w)
	for range LongChainSteps - 1 {
		s = stage.Map(s, incr, w)
	}
	m, err := sink.ByInput(context.Background(), s)
	if err != nil {
		panic(fmt.Sprintf("workloads: flowbar run failed: %v", err)) // nothing can fail
	}
	return m
}
