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

// chanBuffer is the capacity of the reference pools' channels, in messages.
const chanBuffer = 1024

type pair[K, V any] struct {
	k K
	v V
}

// MapInto runs f over xs with the given implementation and number of
// workers and returns the results keyed by input. It panics on an unknown
// implementation name. opts are added to the flowbar pipeline and ignored by
// the other implementations.
func MapInto[K comparable, V any](impl string, xs []K, workers int, f func(K) V, opts ...pipeline.Option) map[K]V {
	switch impl {
	case Chan:
		return chanMap(xs, workers, f)
	case ChanBatch:
		return chanBatchMap(xs, workers, f)
	case Errgroup:
		return errgroupMap(xs, workers, f)
	case ConcPool:
		return poolMap(xs, workers, f)
	case ConcStream:
		return streamMap(xs, workers, f)
	case ConcIter:
		return iterMap(xs, workers, f)
	case Flowbar:
		return flowbarMap(xs, workers, f, opts...)
	case Loop:
		m := make(map[K]V, len(xs))
		for _, x := range xs {
			m[x] = f(x)
		}
		return m
	case Split, Chunked, Lookahead:
		return staged[K, V](impl)(xs, len(xs), func(x K, emit func(K, V)) { emit(x, f(x)) })
	}
	panic(fmt.Sprintf("workloads: MapInto: unknown implementation %q", impl))
}

// staged returns splitInto for [Split], chunkedInto for [Chunked] and
// lookaheadInto for [Lookahead]: the references that stage results through
// chunks.
func staged[K comparable, V any](impl string) func(xs []K, results int, compute func(x K, emit func(K, V))) map[K]V {
	switch impl {
	case Chunked:
		return chunkedInto[K, V]
	case Lookahead:
		return lookaheadInto[K, V]
	}
	return splitInto[K, V]
}

// splitInto is [Split]: one goroutine calls compute for every x, which
// emits the results to keep, into chunks of SplitChunk that it hands to
// the calling goroutine; that one stores them into a map sized for results
// and hands the chunks back.
func splitInto[K comparable, V any](xs []K, results int, compute func(x K, emit func(K, V))) map[K]V {
	m := make(map[K]V, results)
	full := make(chan []pair[K, V], 4)
	free := make(chan []pair[K, V], 8)
	go func() {
		defer close(full)
		buf := make([]pair[K, V], 0, SplitChunk)
		emit := func(k K, v V) {
			buf = append(buf, pair[K, V]{k, v})
			if len(buf) == SplitChunk {
				full <- buf
				select {
				case buf = <-free:
					buf = buf[:0]
				default:
					buf = make([]pair[K, V], 0, SplitChunk)
				}
			}
		}
		for _, x := range xs {
			compute(x, emit)
		}
		if len(buf) > 0 {
			full <- buf
		}
	}()
	for c := range full {
		for _, kv := range c {
			m[kv.k] = kv.v
		}
		select {
		case free <- c:
		default:
		}
	}
	return m
}

// chunkedInto is [Chunked]: compute is called for every x, as in
// splitInto, and the results it emits fill a chunk of SplitChunk that is
// stored into a map sized for results each time it is full, on the calling
// goroutine.
func chunkedInto[K comparable, V any](xs []K, results int, compute func(x K, emit func(K, V))) map[K]V {
	m := make(map[K]V, results)
	buf := make([]pair[K, V], 0, SplitChunk)
	store := func() {
		for _, kv := range buf {
			m[kv.k] = kv.v
		}
		buf = buf[:0]
	}
	emit := func(k K, v V) {
		if buf = append(buf, pair[K, V]{k, v}); len(buf) == SplitChunk {
			store()
		}
	}
	for _, x := range xs {
		compute(x, emit)
	}
	store()
	return m
}

// lookaheadInto is [Lookahead]: compute is called for every x, as in
// chunkedInto, and the results it emits fill a run of LookaheadRun whose
// keys are looked up, then stored, each time it is full.
func lookaheadInto[K comparable, V any](xs []K, results int, compute func(x K, emit func(K, V))) map[K]V {
	m := make(map[K]V, results)
	var run [LookaheadRun]pair[K, V]
	n := 0
	store := func() {
		for _, kv := range run[:n] {
			_ = m[kv.k]
		}
		for _, kv := range run[:n] {
			m[kv.k] = kv.v
		}
		n = 0
	}
	emit := func(k K, v V) {
		run[n] = pair[K, V]{k, v}
		if n++; n == LookaheadRun {
			store()
		}
	}
	for _, x := range xs {
		compute(x, emit)
	}
	store()
	return m
}

// chanMap is the reference: one feeder, workers, one collector.
func chanMap[K comparable, V any](xs []K, workers int, f func(K) V) map[K]V {
	in := make(chan K, chanBuffer)
	out := make(chan pair[K, V], chanBuffer)
	go func() {
		defer close(in)
		for _, x := range xs {
			in <- x
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for x := range in {
				out <- pair[K, V]{x, f(x)}
			}
		})
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	m := make(map[K]V, len(xs))
	for p := range out {
		m[p.k] = p.v
	}
	return m
}

// chanBatchMap is chanMap moving sub-slices of BatchSize items.
func chanBatchMap[K comparable, V any](xs []K, workers int, f func(K) V) map[K]V {
	in := make(chan []K, chanBuffer)
	out := make(chan []pair[K, V], chanBuffer)
	go func() {
		defer close(in)
		for lo := 0; lo < len(xs); lo += BatchSize {
			in <- xs[lo:min(lo+BatchSize, len(xs))]
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for batch := range in {
				res := make([]pair[K, V], len(batch))
				for i, x := range batch {
					res[i] = pair[K, V]{x, f(x)}
				}
				out <- res
			}
		})
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	m := make(map[K]V, len(xs))
	for res := range out {
		for _, p := range res {
			m[p.k] = p.v
		}
	}
	return m
}

func errgroupMap[K comparable, V any](xs []K, workers int, f func(K) V) map[K]V {
	var g errgroup.Group
	g.SetLimit(workers)
	var mu sync.Mutex
	m := make(map[K]V, len(xs))
	for _, x := range xs {
		g.Go(func() error {
			v := f(x)
			mu.Lock()
			m[x] = v
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait() // the tasks return no error
	return m
}

func poolMap[K comparable, V any](xs []K, workers int, f func(K) V) map[K]V {
	p := pool.New().WithMaxGoroutines(workers)
	var mu sync.Mutex
	m := make(map[K]V, len(xs))
	for _, x := range xs {
		p.Go(func() {
			v := f(x)
			mu.Lock()
			m[x] = v
			mu.Unlock()
		})
	}
	p.Wait()
	return m
}

func streamMap[K comparable, V any](xs []K, workers int, f func(K) V) map[K]V {
	s := stream.New().WithMaxGoroutines(workers)
	m := make(map[K]V, len(xs))
	for _, x := range xs {
		s.Go(func() stream.Callback {
			v := f(x)
			return func() { m[x] = v } // callbacks run serially
		})
	}
	s.Wait()
	return m
}

func iterMap[K comparable, V any](xs []K, workers int, f func(K) V) map[K]V {
	vs := iter.Mapper[K, V]{MaxGoroutines: workers}.Map(xs, func(x *K) V { return f(*x) })
	m := make(map[K]V, len(xs))
	for i, x := range xs {
		m[x] = vs[i]
	}
	return m
}

func flowbarMap[K comparable, V any](xs []K, workers int, f func(K) V, opts ...pipeline.Option) map[K]V {
	p := pipeline.New(opts...)
	s := stage.Map(stage.FromSlice(p, xs), func(_ context.Context, x K) (V, error) { return f(x), nil }, stage.WithWorkers(workers))
	m, err := sink.ByInput(context.Background(), s)
	if err != nil {
		panic(fmt.Sprintf("workloads: flowbar run failed: %v", err)) // f cannot fail
	}
	return m
}
