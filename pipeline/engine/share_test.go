package engine_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/flowbar/flowbar/internal/meterstest"
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// feeds builds the same items from each kind of feed a stage can have.
var feeds = map[string]func(p *pipeline.Pipeline, xs []int) *pipeline.Stream[int, int]{
	"slice": func(p *pipeline.Pipeline, xs []int) *pipeline.Stream[int, int] { return stage.FromSlice(p, xs) },
	"generator": func(p *pipeline.Pipeline, xs []int) *pipeline.Stream[int, int] {
		return stage.Generate(p, func(_ context.Context, emit func(int) bool) error {
			for _, x := range xs {
				if !emit(x) {
					break
				}
			}
			return nil
		})
	},
	"channel": func(p *pipeline.Pipeline, xs []int) *pipeline.Stream[int, int] {
		ch := make(chan int, len(xs))
		for _, x := range xs {
			ch <- x
		}
		close(ch)
		return stage.FromChan(p, ch)
	},
	"map": func(p *pipeline.Pipeline, xs []int) *pipeline.Stream[int, int] {
		return stage.Map(stage.FromSlice(p, xs), func(_ context.Context, x int) (int, error) { return x, nil })
	},
}

// Items that turn slow after many fast ones (the shape of a directory walk
// whose large files come together) are shared by every worker, whatever
// feeds the stage: before, a chunk taken while items were cheap stayed with
// one worker, and all of its slow items ran one after the other.
func TestSlowItemsAreShared(t *testing.T) {
	const fast, slow, workers = 2000, 48, 8
	const cost = 5 * time.Millisecond
	for name, feed := range feeds {
		for _, knobs := range []string{"", "share"} {
			t.Run(name+"/off="+knobs, func(t *testing.T) {
				t.Setenv("FLOWBAR_KNOBS", knobs)
				synctest.Test(t, func(t *testing.T) {
					xs := ints(fast + slow)
					var mu sync.Mutex
					ran := map[int]int{} // goroutine -> slow items
					p := pipeline.New()
					s := stage.Map(feed(p, xs), func(_ context.Context, x int) (int, error) {
						if x >= fast {
							time.Sleep(cost)
							mu.Lock()
							ran[goid()]++
							mu.Unlock()
						}
						return x, nil
					}, stage.WithWorkers(workers))
					start := time.Now()
					n, err := sink.Count(context.Background(), s)
					el := time.Since(start)
					if err != nil || n != fast+slow {
						t.Fatalf("Count = %d, %v", n, err)
					}
					ideal := slow * cost / workers
					t.Logf("%v for an ideal of %v; slow items per worker: %v", el, ideal, ran)
					if knobs != "" {
						return // sharing off: the figures are for comparison
					}
					if el > ideal*13/10 {
						t.Errorf("took %v, more than 1.3 × the ideal %v", el, ideal)
					}
					if len(ran) < workers*3/4 {
						t.Errorf("slow items ran on %d goroutines of %d: %v", len(ran), workers, ran)
					}
					meterstest.Check(t, p)
				})
			})
		}
	}
}

// A worker waiting on its input claims a sibling's items, and the input
// ends in the same wait: the claimed items are still worked on. (The end
// used to win, and the claimed items were neither handed on nor counted
// as anything: a merge of three sources into a map of 8 workers lost a
// run of items in about one run in a hundred.)
func TestItemsClaimedAsTheInputEndsAreWorked(t *testing.T) {
	const n, runs = 1000, 100
	// More goroutines running than cores makes the claim and the end meet
	// more often.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8))
	for run := range runs {
		p := pipeline.New()
		parts := make([]*pipeline.Stream[int, int], 0, 3)
		for k, name := range []string{"slice", "generator", "channel"} {
			xs := make([]int, n)
			for i := range xs {
				xs[i] = k*n + i
			}
			parts = append(parts, feeds[name](p, xs))
		}
		s := stage.Map(stage.Merge(parts), func(_ context.Context, x int) (int, error) { return x, nil }, stage.WithWorkers(8))
		seen := 0
		if err := sink.ForEach(context.Background(), s, func(int, int) error { seen++; return nil }); err != nil {
			t.Fatal(err)
		}
		if seen != 3*n {
			t.Fatalf("run %d: %d items handed on, want %d", run, seen, 3*n)
		}
		meterstest.Check(t, p)
	}
}
