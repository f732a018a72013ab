package engine_test

import (
	"bytes"
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

// goid returns the id of the calling goroutine, read from its stack header
// ("goroutine 42 [running]:").
func goid() int {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	f := bytes.Fields(buf)
	id, err := strconv.Atoi(string(f[1]))
	if err != nil {
		panic("cannot read the goroutine id from " + string(buf))
	}
	return id
}

// Results that arrive one at a time are stored by the goroutines that
// produced them, without waking the sink's goroutine for each: a batch
// consumer is then called from the stage's goroutines, never two calls at
// once, and still sees every item once.
func TestSlowResultsFeedTheSinkDirectly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pipeline.New()
		// Every worker completes at the same instant, as often happens
		// with waits of the same length.
		s := stage.Map(stage.FromSlice(p, ints(640)), func(_ context.Context, x int) (int, error) {
			time.Sleep(time.Millisecond)
			return x, nil
		}, stage.WithWorkers(64))
		caller := goid()
		var (
			mu      sync.Mutex // only to detect overlapping calls
			seen    = make(map[int]bool)
			calls   int
			elsewhr int
		)
		err := engine.Consume(context.Background(), s, engine.Consumer[int, int]{
			Batch: func(items []engine.Item[int, int]) {
				if !mu.TryLock() {
					t.Error("two Batch calls overlap")
					return
				}
				defer mu.Unlock()
				calls++
				if goid() != caller {
					elsewhr++
				}
				for _, it := range items {
					if seen[it.Input] {
						t.Errorf("item %d consumed twice", it.Input)
					}
					seen[it.Input] = true
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) != 640 {
			t.Fatalf("%d items consumed, want 640", len(seen))
		}
		t.Logf("%d of %d batches stored by the stage's goroutines", elsewhr, calls)
		if elsewhr != calls {
			t.Errorf("%d of %d batches were stored by the sink's goroutine", calls-elsewhr, calls)
		}
		meterstest.Check(t, p)
	})
}

// Fed directly or through the edge, a producer's results reach the sink in
// the order it produced them: one worker into a slice keeps input order,
// whatever mix of slow and fast items makes the sink alternate between
// waiting and working.
func TestDirectFeedKeepsEachProducersOrder(t *testing.T) {
	for _, every := range []int{1, 3, 50, 1000} {
		t.Run("slow every "+strconv.Itoa(every), func(t *testing.T) {
			xs := ints(20_000)
			p := pipeline.New()
			s := stage.Map(stage.FromSlice(p, xs), func(_ context.Context, x int) (int, error) {
				if x%every == 0 {
					spin(2 * time.Microsecond)
				}
				return x, nil
			}, stage.WithWorkers(1))
			got, err := sink.Slice(context.Background(), s)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, xs) {
				i := 0
				for i < len(got) && i < len(xs) && got[i] == xs[i] {
					i++
				}
				t.Fatalf("results out of order from index %d (%d results)", i, len(got))
			}
			meterstest.Check(t, p)
		})
	}
}

// spin works for about d without sleeping.
func spin(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
	}
}

// A panic in a batch consumer that a stage's goroutine calls fails the run
// with the item it was storing, as on the sink's own goroutine.
func TestDirectFeedPanicFailsTheRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pipeline.New()
		s := stage.Map(stage.FromSlice(p, ints(100)), func(_ context.Context, x int) (int, error) {
			time.Sleep(time.Duration(x) * time.Millisecond)
			return x, nil
		}, stage.WithWorkers(8))
		err := engine.Consume(context.Background(), s, engine.Consumer[int, int]{
			Batch: func(items []engine.Item[int, int]) {
				for _, it := range items {
					if it.Input == 42 {
						panic("no room for 42")
					}
				}
			},
		})
		var ie *pipeline.ItemError[int]
		var pe *pipeline.PanicError
		if !errors.As(err, &ie) || ie.Input != 42 || !errors.As(err, &pe) {
			t.Fatalf("error %v, want the panic of item 42", err)
		}
		meterstest.Check(t, p)
	})
}

// A sink slower than its producers holds them back: results waiting to be
// stored stay within the edge's item bound (EdgeItems chunks' worth, plus a
// chunk per producer that queued its own before finding the bound passed).
func TestDirectFeedIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const chunk, workers = 4, 4
		p := pipeline.New(pipeline.WithChunkSize(chunk))
		s := stage.Map(stage.FromSlice(p, ints(2000)), func(_ context.Context, x int) (int, error) { return x, nil }, stage.WithWorkers(workers))
		var most int64
		stored := 0
		err := engine.Consume(context.Background(), s, engine.Consumer[int, int]{
			Batch: func(items []engine.Item[int, int]) {
				time.Sleep(time.Millisecond) // a slow store
				// Handed on by the stage and not yet stored, this batch
				// included.
				stages := p.Stages()
				most = max(most, stages[1].Counts().Out-stages[2].Counts().In)
				stored += len(items)
			},
		})
		if err != nil || stored != 2000 {
			t.Fatalf("stored %d of 2000, %v", stored, err)
		}
		bound := int64(engine.EdgeItems*chunk + workers*chunk + chunk)
		t.Logf("at most %d results waited to be stored (bound %d)", most, bound)
		if most > bound {
			t.Errorf("%d results waited to be stored, more than %d", most, bound)
		}
		meterstest.Check(t, p)
	})
}
