package workloads

import (
	"context"
	"fmt"
	"sync"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
	"github.com/sourcegraph/conc/iter"
	"github.com/sourcegraph/conc/pool"
	"github.com/sourcegraph/conc/stream"
	"golang.org/x/sync/errgroup"
)

// The three steps of the Chain workload.
func inc(x int) int    { return x + 1 }
func even(x int) bool  { return x%2 == 0 }
func triple(x int) int { return x * 3 }

// ChainRun runs xs through map(x+1), filter(even), map(x*3) with workers
// goroutines per step and returns the results keyed by input. Libraries
// that do not chain steps (errgroup and conc) run three passes over slices,
// as a user of theirs would. It panics on an unknown implementation name.
func ChainRun(impl string, xs []int, workers int) map[int]int {
	switch impl {
	case Chan:
		return chainChan(xs, workers)
	case ChanBatch:
		return chainChanBatch(xs, workers)
	case Errgroup, ConcPool, ConcStream:
		return chainPasses(impl, xs, workers)
	case ConcIter:
		return chainIter(xs, workers)
	case Flowbar:
		return chainFlowbar(xs, workers)
	case Loop:
		// Sized for its results, not its input: the filter keeps half of
		// Ints, and a map sized for twice what it holds fills about twice
		// as slowly.
		m := make(map[int]int, (len(xs)+1)/2)
		for _, x := range xs {
			if y := inc(x); even(y) {
				m[x] = triple(y)
			}
		}
		return m
	case Split, Chunked, Lookahead:
		return staged[int, int](impl)(xs, (len(xs)+1)/2, func(x int, emit func(int, int)) {
			if y := inc(x); even(y) {
				emit(x, triple(y))
			}
		})
	}
	panic(fmt.Sprintf("workloads: Chain: unknown implementation %q", impl))
}

// step runs workers goroutines that call fn for each value received from in
// and closes out when they have all finished.
func step[In, Out any](workers int, in <-chan In, out chan<- Out, fn func(In, chan<- Out)) {
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for v := range in {
				fn(v, out)
			}
		})
	}
	go func() {
		wg.Wait()
		close(out)
	}()
}

func chainChan(xs []int, workers int) map[int]int {
	type kv = pair[int, int]
	in := make(chan int, chanBuffer)
	c1 := make(chan kv, chanBuffer)
	c2 := make(chan kv, chanBuffer)
	c3 := make(chan kv, chanBuffer)
	go func() {
		defer close(in)
		for _, x := range xs {
			in <- x
		}
	}()
	step(workers, in, c1, func(x int, out chan<- kv) { out <- kv{x, inc(x)} })
	step(workers, c1, c2, func(p kv, out chan<- kv) {
		if even(p.v) {
			out <- p
		}
	})
	step(workers, c2, c3, func(p kv, out chan<- kv) { out <- kv{p.k, triple(p.v)} })
	m := make(map[int]int, len(xs)) // at most len(xs) results
	for p := range c3 {
		m[p.k] = p.v
	}
	return m
}

func chainChanBatch(xs []int, workers int) map[int]int {
	type kv = pair[int, int]
	in := make(chan []int, chanBuffer)
	c1 := make(chan []kv, chanBuffer)
	c2 := make(chan []kv, chanBuffer)
	c3 := make(chan []kv, chanBuffer)
	go func() {
		defer close(in)
		for lo := 0; lo < len(xs); lo += BatchSize {
			in <- xs[lo:min(lo+BatchSize, len(xs))]
		}
	}()
	step(workers, in, c1, func(b []int, out chan<- []kv) {
		res := make([]kv, len(b))
		for i, x := range b {
			res[i] = kv{x, inc(x)}
		}
		out <- res
	})
	step(workers, c1, c2, func(b []kv, out chan<- []kv) {
		kept := b[:0] // the batch is this worker's: filter in place
		for _, p := range b {
			if even(p.v) {
				kept = append(kept, p)
			}
		}
		if len(kept) > 0 {
			out <- kept
		}
	})
	step(workers, c2, c3, func(b []kv, out chan<- []kv) {
		for i := range b {
			b[i].v = triple(b[i].v)
		}
		out <- b
	})
	m := make(map[int]int, len(xs))
	for b := range c3 {
		for _, p := range b {
			m[p.k] = p.v
		}
	}
	return m
}

// forEach calls fn(i) for every i in [0, n) with one task per index, through
// errgroup, a conc pool or a conc stream.
func forEach(impl string, n, workers int, fn func(i int)) {
	switch impl {
	case Errgroup:
		var g errgroup.Group
		g.SetLimit(workers)
		for i := range n {
			g.Go(func() error { fn(i); return nil })
		}
		_ = g.Wait()
	case ConcPool:
		p := pool.New().WithMaxGoroutines(workers)
		for i := range n {
			p.Go(func() { fn(i) })
		}
		p.Wait()
	default:
		panic("workloads: forEach: " + impl)
	}
}

// chainPasses runs the chain as three passes of one task per item; the
// last pass collects into the map (under a mutex, or in the stream's serial
// callbacks).
func chainPasses(impl string, xs []int, workers int) map[int]int {
	n := len(xs)
	ys := make([]int, n)
	keep := make([]bool, n)
	var kept []int // indices of the items the filter keeps
	m := make(map[int]int, n)
	if impl == ConcStream {
		s := stream.New().WithMaxGoroutines(workers)
		for i, x := range xs {
			s.Go(func() stream.Callback {
				y := inc(x)
				return func() { ys[i] = y }
			})
		}
		s.Wait()
		s = stream.New().WithMaxGoroutines(workers)
		for i, y := range ys {
			s.Go(func() stream.Callback {
				k := even(y)
				return func() {
					if k {
						kept = append(kept, i)
					}
				}
			})
		}
		s.Wait()
		s = stream.New().WithMaxGoroutines(workers)
		for _, i := range kept {
			s.Go(func() stream.Callback {
				z := triple(ys[i])
				return func() { m[xs[i]] = z }
			})
		}
		s.Wait()
		return m
	}
	forEach(impl, n, workers, func(i int) { ys[i] = inc(xs[i]) })
	forEach(impl, n, workers, func(i int) { keep[i] = even(ys[i]) })
	for i, k := range keep {
		if k {
			kept = append(kept, i)
		}
	}
	var mu sync.Mutex
	forEach(impl, len(kept), workers, func(j int) {
		i := kept[j]
		z := triple(ys[i])
		mu.Lock()
		m[xs[i]] = z
		mu.Unlock()
	})
	return m
}

func chainIter(xs []int, workers int) map[int]int {
	type kv = pair[int, int]
	ys := iter.Mapper[int, kv]{MaxGoroutines: workers}.Map(xs, func(x *int) kv { return kv{*x, inc(*x)} })
	keep := iter.Mapper[kv, bool]{MaxGoroutines: workers}.Map(ys, func(p *kv) bool { return even(p.v) })
	kept := ys[:0]
	for i, p := range ys {
		if keep[i] {
			kept = append(kept, p)
		}
	}
	zs := iter.Mapper[kv, int]{MaxGoroutines: workers}.Map(kept, func(p *kv) int { return triple(p.v) })
	m := make(map[int]int, len(kept))
	for i, p := range kept {
		m[p.k] = zs[i]
	}
	return m
}

func chainFlowbar(xs []int, workers int) map[int]int {
	p := pipeline.New()
	w := stage.WithWorkers(workers)
	s1 := stage.Map(stage.FromSlice(p, xs), func(_ context.Context, x int) (int, error) { return inc(x), nil }, w)
	s2 := stage.Filter(s1, even, w)
	s3 := stage.Map(s2, func(_ context.Context, x int) (int, error) { return triple(x), nil }, w)
	m, err := sink.ByInput(context.Background(), s3)
	if err != nil {
		panic(fmt.Sprintf("workloads: flowbar run failed: %v", err)) // nothing can fail
	}
	return m
}
