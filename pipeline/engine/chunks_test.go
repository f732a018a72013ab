package engine_test

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/flowbar/flowbar/internal/meterstest"
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// chain runs xs through map(x+1), filter(even), map(x*3) into a map keyed
// by input, checks the result and returns the pipeline.
func chain(t *testing.T, xs []int, opts ...stage.Option) *pipeline.Pipeline {
	t.Helper()
	p := pipeline.New()
	s1 := stage.Map(stage.FromSlice(p, xs), func(_ context.Context, x int) (int, error) { return x + 1, nil }, opts...)
	s2 := stage.Filter(s1, func(x int) bool { return x%2 == 0 })
	s3 := stage.Map(s2, func(_ context.Context, x int) (int, error) { return 3 * x, nil })
	m, err := sink.ByInput(context.Background(), s3)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != len(xs)/2 {
		t.Fatalf("got %d results, want %d", len(m), len(xs)/2)
	}
	for x, v := range m {
		if v != 3*(x+1) {
			t.Fatalf("m[%d] = %d, want %d", x, v, 3*(x+1))
		}
	}
	return p
}

// countChain runs xs through map, filter, map into a count.
func countChain(xs []int) int {
	p := pipeline.New()
	s1 := stage.Map(stage.FromSlice(p, xs), func(_ context.Context, x int) (int, error) { return x + 1, nil })
	s2 := stage.Filter(s1, func(x int) bool { return x%2 == 0 })
	s3 := stage.Map(s2, func(_ context.Context, x int) (int, error) { return 3 * x, nil })
	n, _ := sink.Count(context.Background(), s3)
	return n
}

// Chunks that a consumer has finished with are filled again by the
// producer: a run allocates a bounded number of chunks, not one per
// hand-off as it did before chunks were reused.
func TestChunksAreReused(t *testing.T) {
	var allocs []float64
	for _, n := range []int{100_000, 400_000} {
		xs := ints(n)
		if got := countChain(xs); got != n/2 {
			t.Fatalf("Count = %d, want %d", got, n/2)
		}
		a := testing.AllocsPerRun(3, func() { countChain(xs) })
		t.Logf("%d items: %.0f allocations", n, a)
		allocs = append(allocs, a)
	}
	// The stages and their goroutines, and a few dozen chunks per edge,
	// whatever the number of items: four times the items must not come
	// near four times the allocations (one chunk per hand-off would be
	// some 2,300 for 400k items; about 600 is usual, more on a loaded
	// machine, where chunks are sized smaller).
	if allocs[1] > 1.5*allocs[0] || allocs[1] > 1500 {
		t.Errorf("allocations grow with the input: %.0f for 100k items, %.0f for 400k", allocs[0], allocs[1])
	}
}

// slowStore runs xs through a map of two workers into a sink whose Batch
// takes longer per item than the map does, so that chunks queue up for the
// goroutine storing, and returns the sum it stored.
func slowStore(xs []int) int {
	p := pipeline.New()
	s := stage.Map(stage.FromSlice(p, xs), func(_ context.Context, x int) (int, error) { return x + 1, nil }, stage.WithWorkers(2))
	sum := 0
	var mix uint64
	_ = engine.Consume(context.Background(), s, engine.Consumer[int, int]{Batch: func(items []engine.Item[int, int]) {
		for i := range items {
			v := uint64(items[i].Value)
			for range 512 { // some 250 ns of work per item
				v ^= v << 13
				v ^= v >> 7
				v ^= v << 17
			}
			mix ^= v
			sum += items[i].Value
		}
	}})
	slowStoreMix = mix
	return sum
}

// slowStoreMix keeps the work of slowStore's sink from being optimized away.
var slowStoreMix uint64

// The chunks a slow sink has stored go back to the producers whatever the
// length of the queue it stored them from: a run allocates a bounded amount
// of chunks, not one for most hand-offs (with room for two chunks per
// producer in the feed's free list, 3 of 4 hand-offs allocated one). Bytes
// are counted, not allocations: a chunk that two workers may share has a
// small header allocated for it.
func TestChunksStoredBySlowSinkAreReused(t *testing.T) {
	// Chunks of a fixed size: sized from the measured cost, they are much
	// smaller when the items are slow (under the race detector, say), and
	// the headers of the many more chunks handed on would hide what the
	// test looks for.
	t.Setenv("FLOWBAR_KNOBS", "sizing")
	var mb []float64
	for _, n := range []int{100_000, 400_000} {
		xs := ints(n)
		if got, want := slowStore(xs), n*(n+1)/2; got != want {
			t.Fatalf("sum = %d, want %d", got, want)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 3 {
			slowStore(xs)
		}
		runtime.ReadMemStats(&after)
		m := float64(after.TotalAlloc-before.TotalAlloc) / 3 / (1 << 20)
		t.Logf("%d items: %.2f MiB allocated", n, m)
		mb = append(mb, m)
	}
	// A chunk of 512 items here is 16 KiB, and the 300k items more make
	// some 590 hand-offs more: 9 MiB more if each allocated a chunk. The
	// feed holds at most 16 chunks' worth of items, and keeps as many for
	// reuse; the headers of shared chunks add some 0.1 MiB.
	if mb[1]-mb[0] > 1.5 {
		t.Errorf("the chunks allocated grow with the input: %.2f MiB for 100k items, %.2f MiB for 400k", mb[0], mb[1])
	}
}

// A stage with a describer keeps pointers into the chunks it sent, so its
// chunks are never reused: reading descriptions while the run goes on is
// race-free and always shows a result the stage produced.
func TestDescribedChunksAreNotReused(t *testing.T) {
	xs := ints(100_000)
	p := pipeline.New()
	s1 := stage.Map(stage.FromSlice(p, xs), func(_ context.Context, x int) (int, error) { return x + 1, nil }).Describe(func(in, v int) string {
		if v != in+1 {
			return "wrong " + strconv.Itoa(in) + " " + strconv.Itoa(v)
		}
		return "ok"
	})
	s2 := stage.Map(s1, func(_ context.Context, x int) (int, error) { return x * 2, nil })
	stages := p.Stages()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			if d := stages[1].Description(); d != "" && d != "ok" {
				t.Errorf("description %q", d)
				return
			}
		}
	})
	n, err := sink.Count(context.Background(), s2)
	close(done)
	wg.Wait()
	if err != nil || n != len(xs) {
		t.Fatalf("Count = %d, %v", n, err)
	}
	meterstest.Check(t, p)
}

// Every item reaches a batch consumer once, with the counts balanced, for
// one worker and many, and a chain with a filter in it.
func TestBatchConsumerSeesEveryItem(t *testing.T) {
	for _, workers := range workerCounts {
		t.Run("workers="+strconv.Itoa(workers), func(t *testing.T) {
			p := chain(t, ints(50_001), stage.WithWorkers(workers))
			meterstest.Check(t, p)
			xs := ints(10_000)
			p = pipeline.New()
			s := stage.Map(stage.FromSlice(p, xs), func(_ context.Context, x int) (int, error) { return x, nil }, stage.WithWorkers(workers))
			got, err := sink.Slice(context.Background(), s)
			if err != nil || len(got) != len(xs) {
				t.Fatalf("Slice: %d results, %v", len(got), err)
			}
			seen := make([]bool, len(xs))
			for _, v := range got {
				if seen[v] {
					t.Fatalf("%d seen twice", v)
				}
				seen[v] = true
			}
			meterstest.Check(t, p)
		})
	}
}

// Under continue-on-error a batch consumer still gets every success and
// the sink every failure.
func TestBatchConsumerWithFailures(t *testing.T) {
	p := pipeline.New(pipeline.WithContinueOnError())
	s := stage.Map(stage.FromSlice(p, ints(10_000)), func(_ context.Context, x int) (int, error) {
		if x%7 == 0 {
			return 0, errors.New("bad")
		}
		return x, nil
	})
	m, err := sink.ByInput(context.Background(), s)
	fails := pipeline.ItemErrors[int](err)
	if len(m)+len(fails) != 10_000 || len(fails) != (10_000+6)/7 {
		t.Fatalf("%d results and %d failures", len(m), len(fails))
	}
	meterstest.Check(t, p)
}

// A producer of slow items (one per chunk) runs up to EdgeChunks chunks
// ahead of a consumer that is busy, so that a consumer sharing the
// producer's cores does not stall it after every chunk or two.
func TestEdgeHoldsEdgeChunks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pipeline.New()
		s := stage.Map(stage.FromSlice(p, ints(200)), func(_ context.Context, x int) (int, error) {
			time.Sleep(time.Millisecond)
			return x, nil
		}, stage.WithWorkers(1))
		stages := p.Stages()
		first := true
		var ahead int64
		err := sink.ForEach(context.Background(), s, func(_, _ int) error {
			if first {
				first = false
				time.Sleep(time.Hour) // the producer fills the edge meanwhile
				ahead = stages[1].Counts().Out
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// The chunk being consumed and a full edge.
		if want := int64(engine.EdgeChunks); engine.EdgeChunks < 16 || ahead < want {
			t.Errorf("the producer handed on %d items ahead of a busy consumer, want at least %d (EdgeChunks %d, want at least 16)",
				ahead, want, engine.EdgeChunks)
		}
		if ahead > int64(engine.EdgeChunks)+2 {
			t.Errorf("the producer handed on %d items ahead, more than the edge holds", ahead)
		}
		meterstest.Check(t, p)
	})
}

// Fast items move in full chunks, and an edge holds at most EdgeItems ×
// the chunk size of them, whatever EdgeChunks allows.
func TestEdgeBoundsItems(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const chunk = 4
		p := pipeline.New(pipeline.WithChunkSize(chunk))
		s := stage.Map(stage.FromSlice(p, ints(2000)), func(_ context.Context, x int) (int, error) { return x, nil }, stage.WithWorkers(1))
		stages := p.Stages()
		first := true
		var ahead int64
		err := sink.ForEach(context.Background(), s, func(_, _ int) error {
			if first {
				first = false
				synctest.Wait() // the producer is blocked on a full edge
				ahead = stages[1].Counts().Out
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// The chunk being consumed, a full edge and the chunk that does not fit.
		if limit := int64(engine.EdgeItems*chunk + 2*chunk); ahead > limit {
			t.Errorf("the producer handed on %d items ahead of a busy consumer, want at most %d", ahead, limit)
		}
		meterstest.Check(t, p)
	})
}

// A producer that found its edge full waits until the consumer has drained
// it to half before it goes on, and then refills it in one burst, instead
// of being woken for every chunk the consumer takes.
func TestFullEdgeRefillsAtHalf(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pipeline.New(pipeline.WithChunkSize(1))
		s := stage.Map(stage.FromSlice(p, ints(200)), func(_ context.Context, x int) (int, error) { return x, nil }, stage.WithWorkers(1))
		stages := p.Stages()
		var outs []int64 // the producer's Out after each item consumed
		err := sink.ForEach(context.Background(), s, func(_, _ int) error {
			synctest.Wait() // the producer is blocked again
			outs = append(outs, stages[1].Counts().Out)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// With chunks of one item the edge holds EdgeItems of them. While
		// it is more than half full, the producer stays put; then it
		// refills it in one burst. (Woken for every chunk, it handed on one
		// more item after each one consumed.)
		capacity := min(engine.EdgeChunks, engine.EdgeItems)
		half := capacity / 2
		if outs[0] != outs[half-2] {
			t.Errorf("the producer went on before the edge was half empty: %v", outs[:half])
		}
		burst := int64(0)
		for i := 1; i <= capacity; i++ {
			burst = max(burst, outs[i]-outs[i-1])
		}
		if burst < int64(half)-1 {
			t.Errorf("the producer refilled the edge %d items at a time, want bursts of %d: %v", burst, half, outs[:capacity+1])
		}
		meterstest.Check(t, p)
	})
}

// A consumer that knows only an upper bound on its items (a filter after a
// slice) is told how many to expect once enough have arrived to measure the
// filter's pass rate: here a third of the bound, not the bound. Too few
// items, or an unknown source, and it is not told; with the presize knob
// off it is told the bound before the run.
func TestConsumerBound(t *testing.T) {
	run := func(src func(p *pipeline.Pipeline, xs []int) *pipeline.Stream[int, int], n int) (size, bound, got int) {
		t.Helper()
		p := pipeline.New()
		s := stage.Filter(stage.Map(src(p, ints(n)), func(_ context.Context, x int) (int, error) { return x, nil }), func(x int) bool { return x%3 == 0 })
		size, bound = -1, -1
		err := engine.Consume(context.Background(), s, engine.Consumer[int, int]{
			Size: func(k int) { size = k },
			Bound: func(k int) {
				if bound != -1 {
					t.Errorf("Bound called twice: %d, then %d", bound, k)
				}
				bound = k
			},
			Batch: func(items []engine.Item[int, int]) { got += len(items) },
		})
		if want := (n + 2) / 3; err != nil || got != want {
			t.Fatalf("%d items, %v; want %d", got, err, want)
		}
		meterstest.Check(t, p)
		return size, bound, got
	}
	slice := func(p *pipeline.Pipeline, xs []int) *pipeline.Stream[int, int] { return stage.FromSlice(p, xs) }
	seq := func(p *pipeline.Pipeline, xs []int) *pipeline.Stream[int, int] {
		return stage.FromSeq(p, slices.Values(xs))
	}

	// A third of 60,000 pass: the expectation is near 20,000, far from
	// the bound. (The filter's drops are counted at the end of each chunk
	// and its outputs as they are handed on, so the estimate runs a little
	// high.)
	size, bound, _ := run(slice, 60_000)
	if size != -1 || bound < 15_000 || bound > 30_000 {
		t.Errorf("60,000 items: Size(%d), Bound(%d); want no Size and Bound near 20,000", size, bound)
	}
	t.Logf("60,000 items: Bound(%d)", bound)
	for _, c := range []struct {
		name string
		src  func(*pipeline.Pipeline, []int) *pipeline.Stream[int, int]
		n    int
	}{{"a few items", slice, 1000}, {"unknown source", seq, 60_000}} {
		if size, bound, _ := run(c.src, c.n); size != -1 || bound != -1 {
			t.Errorf("%s: Size(%d), Bound(%d); want neither", c.name, size, bound)
		}
	}
	t.Setenv("FLOWBAR_KNOBS", "presize")
	if size, bound, _ := run(slice, 1000); size != -1 || bound != 1000 {
		t.Errorf("presize off: Size(%d), Bound(%d); want no Size and Bound(1000)", size, bound)
	}
}
