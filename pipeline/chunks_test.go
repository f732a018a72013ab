package pipeline_test

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

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
	for _, n := range []int{100_000, 400_000} {
		xs := ints(n)
		if got := countChain(xs); got != n/2 {
			t.Fatalf("Count = %d, want %d", got, n/2)
		}
		allocs := testing.AllocsPerRun(3, func() { countChain(xs) })
		t.Logf("%d items: %.0f allocations", n, allocs)
		// The stages and their goroutines, and a few dozen chunks per
		// edge, whatever the number of items.
		if limit := 300.0; allocs > limit {
			t.Errorf("a run of %d items allocated %.0f times, want at most %.0f", n, allocs, limit)
		}
	}
}

// A stage with a describer keeps pointers into the chunks it sent, so its
// chunks are never reused: reading descriptions while the run goes on is
// race-free and always shows a result the stage produced.
func TestDescribedChunksAreNotReused(t *testing.T) {
	xs := ints(100_000)
	p := pipeline.New()
	s1 := stage.Map(stage.FromSlice(p, xs), func(_ context.Context, x int) (int, error) { return x + 1, nil },
		stage.Describe(func(in, v int) string {
			if v != in+1 {
				return "wrong " + strconv.Itoa(in) + " " + strconv.Itoa(v)
			}
			return "ok"
		}))
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
	checkBalanced(t, p)
}
