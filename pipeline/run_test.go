package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/flowbar/flowbar/internal/meterstest"
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

func ints(n int) []int {
	xs := make([]int, n)
	for i := range xs {
		xs[i] = i
	}
	return xs
}

var workerCounts = []int{1, 2, 8}

func TestMapCollectsByInput(t *testing.T) {
	for _, w := range workerCounts {
		for _, src := range []string{"slice", "chan", "seq", "generate"} {
			t.Run(fmt.Sprintf("workers=%d/source=%s", w, src), func(t *testing.T) {
				const n = 5000
				p := pipeline.New()
				in := source(t, p, src, n)
				sq := stage.Map(in, func(_ context.Context, x int) (int, error) { return x * x, nil }, stage.WithWorkers(w))
				m, err := sink.ByInput(context.Background(), sq)
				if err != nil {
					t.Fatal(err)
				}
				if len(m) != n {
					t.Fatalf("got %d results, want %d", len(m), n)
				}
				for x, y := range m {
					if y != x*x {
						t.Fatalf("m[%d] = %d, want %d", x, y, x*x)
					}
				}
				meterstest.Check(t, p)
				if got := p.Stages()[1].Counts().Out; got != n {
					t.Errorf("map handed on %d, want %d", got, n)
				}
			})
		}
	}
}

// source returns a source of 0..n-1 of the named kind. The goroutine that
// feeds a channel source ends when the test ends.
func source(t *testing.T, p *pipeline.Pipeline, kind string, n int) *pipeline.Stream[int, int] {
	switch kind {
	case "slice":
		return stage.FromSlice(p, ints(n))
	case "chan":
		ch := make(chan int, 16)
		done := make(chan struct{})
		fed := make(chan struct{})
		t.Cleanup(func() { close(done); <-fed })
		go func() {
			defer close(fed)
			defer close(ch)
			for i := range n {
				select {
				case ch <- i:
				case <-done:
					return
				}
			}
		}()
		return stage.FromChan(p, ch)
	case "seq":
		return stage.FromSeq(p, slices.Values(ints(n)))
	case "generate":
		return stage.Generate(p, func(ctx context.Context, emit func(int) bool) error {
			for i := range n {
				if !emit(i) {
					return ctx.Err()
				}
			}
			return nil
		})
	}
	panic("unknown source " + kind)
}

func TestOrderedMapKeepsInputOrder(t *testing.T) {
	for _, w := range workerCounts {
		for _, window := range []int{1, 3, 0} {
			t.Run(fmt.Sprintf("workers=%d/window=%d", w, window), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					const n = 300
					p := pipeline.New()
					opts := []stage.Option{stage.WithWorkers(w)}
					if window > 0 {
						opts = append(opts, stage.WithWindow(window))
					}
					// Delays that are random-looking but fixed: later items
					// often finish first.
					out := stage.OrderedMap(stage.FromSlice(p, ints(n)), func(_ context.Context, x int) (int, error) {
						time.Sleep(time.Duration((x*7919)%13) * time.Millisecond)
						return x, nil
					}, opts...)
					out = stage.OrderedFilter(out, func(x int) bool { return x%3 != 0 }, stage.WithWorkers(w))
					got, err := sink.Slice(context.Background(), out)
					if err != nil {
						t.Fatal(err)
					}
					var want []int
					for x := range n {
						if x%3 != 0 {
							want = append(want, x)
						}
					}
					if !slices.Equal(got, want) {
						t.Fatalf("order lost:\ngot  %v\nwant %v", got, want)
					}
					meterstest.Check(t, p)
				})
			})
		}
	}
}

func TestMapYieldsAsCompleted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pipeline.New()
		// The first item is slow; the others are fast and must not wait
		// for it.
		out := stage.Map(stage.FromSlice(p, ints(10)), func(_ context.Context, x int) (int, error) {
			if x == 0 {
				time.Sleep(time.Second)
			} else {
				time.Sleep(time.Millisecond)
			}
			return x, nil
		}, stage.WithWorkers(4))
		start := time.Now()
		var order []int
		var at []time.Duration
		for r, err := range sink.All(context.Background(), out) {
			if err != nil {
				t.Fatal(err)
			}
			order = append(order, r.Input)
			at = append(at, time.Since(start))
		}
		if order[len(order)-1] != 0 {
			t.Errorf("the slow first item was not last: %v", order)
		}
		if at[0] >= time.Second {
			t.Errorf("first result arrived at %v, after the slow item", at[0])
		}
	})
}

func TestFailFastReturnsFirstErrorAndCancels(t *testing.T) {
	for _, w := range workerCounts {
		t.Run(fmt.Sprintf("workers=%d", w), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				boom := errors.New("boom")
				var sawCancel atomic.Int64
				var causeOK atomic.Bool
				p := pipeline.New()
				out := stage.Map(stage.FromSlice(p, ints(1000)), func(ctx context.Context, x int) (int, error) {
					switch {
					case x < 5:
						return x, nil
					case x == 5:
						time.Sleep(time.Millisecond)
						return 0, boom
					}
					select {
					case <-ctx.Done():
						sawCancel.Add(1)
						var ie *pipeline.ItemError[int]
						causeOK.Store(errors.As(context.Cause(ctx), &ie) && ie.Input == 5)
						return 0, ctx.Err()
					case <-time.After(time.Hour):
						return x, nil
					}
				}, stage.WithWorkers(w))
				m, err := sink.ByInput(context.Background(), out)
				var ie *pipeline.ItemError[int]
				if !errors.As(err, &ie) {
					t.Fatalf("err = %v, want an ItemError", err)
				}
				if ie.Input != 5 || !errors.Is(err, boom) || ie.Stage != "map1" {
					t.Errorf("err = %+v, want item 5 of map1 wrapping boom", ie)
				}
				if !strings.Contains(err.Error(), "item 5") {
					t.Errorf("message %q does not name the item", err)
				}
				for x, v := range m {
					if x >= 5 || v != x {
						t.Errorf("result m[%d] = %d collected; only items 0-4 succeed", x, v)
					}
				}
				if w > 1 && (sawCancel.Load() == 0 || !causeOK.Load()) {
					t.Errorf("in-flight calls saw cancellation %d times, cause ok %v", sawCancel.Load(), causeOK.Load())
				}
				c := p.Stages()[1].Counts()
				if c.Failed != 1 {
					t.Errorf("failed = %d, want 1 (the cancelled calls count as cancelled)", c.Failed)
				}
				if c.In >= 1000 {
					t.Errorf("the map took in all %d items after failing", c.In)
				}
				meterstest.Check(t, p)
			})
		})
	}
}

func TestContinueOnErrorReturnsEveryFailure(t *testing.T) {
	for _, w := range workerCounts {
		t.Run(fmt.Sprintf("workers=%d", w), func(t *testing.T) {
			const n = 2000
			p := pipeline.New(pipeline.WithContinueOnError())
			out := stage.Map(stage.FromSlice(p, ints(n)), func(_ context.Context, x int) (int, error) {
				if x%10 == 3 {
					return 0, fmt.Errorf("bad %d", x)
				}
				return x, nil
			}, stage.WithWorkers(w))
			out = stage.Filter(out, func(x int) bool { return x%2 == 0 }, stage.WithWorkers(w))
			out = stage.Map(out, func(_ context.Context, x int) (int, error) {
				if x%10 == 4 {
					panic(fmt.Sprintf("panic %d", x))
				}
				return x + 1, nil
			}, stage.WithWorkers(w), stage.WithName("plus"))
			m, err := sink.ByInput(context.Background(), out)
			failures := pipeline.ItemErrors[int](err)
			var bad, panicked []int
			for _, f := range failures {
				switch f.Stage {
				case "map1":
					bad = append(bad, f.Input)
				case "plus":
					var pe *pipeline.PanicError
					if !errors.As(f, &pe) || len(pe.Stack) == 0 || pe.Value != fmt.Sprintf("panic %d", f.Input) {
						t.Errorf("failure %v is not the panic with its stack", f)
					}
					panicked = append(panicked, f.Input)
				default:
					t.Errorf("unexpected failure %v", f)
				}
			}
			slices.Sort(bad)
			slices.Sort(panicked)
			var wantBad, wantPanicked []int
			want := map[int]int{}
			for x := range n {
				switch {
				case x%10 == 3:
					wantBad = append(wantBad, x)
				case x%2 != 0:
				case x%10 == 4:
					wantPanicked = append(wantPanicked, x)
				default:
					want[x] = x + 1
				}
			}
			if !slices.Equal(bad, wantBad) || !slices.Equal(panicked, wantPanicked) {
				t.Errorf("failures: bad %v panicked %v", len(bad), len(panicked))
			}
			if len(m) != len(want) {
				t.Fatalf("%d results, want %d", len(m), len(want))
			}
			for k, v := range want {
				if m[k] != v {
					t.Fatalf("m[%d] = %d, want %d", k, m[k], v)
				}
			}
			meterstest.Check(t, p)
		})
	}
}

func TestPanicUnderFailFastBecomesError(t *testing.T) {
	p := pipeline.New()
	out := stage.Map(stage.FromSlice(p, ints(100)), func(_ context.Context, x int) (int, error) {
		if x == 42 {
			panic(errors.New("deep trouble"))
		}
		return x, nil
	})
	_, err := sink.Slice(context.Background(), out)
	var ie *pipeline.ItemError[int]
	var pe *pipeline.PanicError
	if !errors.As(err, &ie) || ie.Input != 42 || !errors.As(err, &pe) {
		t.Fatalf("err = %v, want the panic of item 42", err)
	}
	if !strings.Contains(string(pe.Stack), "run_test.go") {
		t.Errorf("stack does not show where it panicked:\n%s", pe.Stack)
	}
	if pe.Unwrap() == nil || pe.Unwrap().Error() != "deep trouble" {
		t.Errorf("panic value not unwrapped: %v", pe.Unwrap())
	}
	meterstest.Check(t, p)
}

func TestParentCancelStopsPromptly(t *testing.T) {
	for _, src := range []string{"slice", "chan", "seq", "generate"} {
		t.Run(src, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var started atomic.Int64
				p := pipeline.New()
				out := stage.Map(source(t, p, src, 100000), func(ctx context.Context, x int) (int, error) {
					if started.Add(1) == 50 {
						cancel()
					}
					select {
					case <-ctx.Done():
						return 0, ctx.Err()
					case <-time.After(10 * time.Millisecond):
						return x, nil
					}
				}, stage.WithWorkers(8))
				start := time.Now()
				_, err := sink.ByInput(ctx, out)
				if !errors.Is(err, context.Canceled) {
					t.Errorf("err = %v, want context.Canceled", err)
				}
				if el := time.Since(start); el > 100*time.Millisecond {
					t.Errorf("run took %v after cancel", el)
				}
				if n := started.Load(); n > 100 {
					t.Errorf("%d items started; cancellation should stop new ones", n)
				}
				meterstest.Check(t, p)
			})
		})
	}
}

func TestBreakLeavesNothingRunning(t *testing.T) {
	for _, w := range workerCounts {
		t.Run(fmt.Sprintf("workers=%d", w), func(t *testing.T) {
			p := pipeline.New()
			out := stage.Map(source(t, p, "generate", 1_000_000), func(_ context.Context, x int) (int, error) { return x, nil }, stage.WithWorkers(w))
			out = stage.Filter(out, func(int) bool { return true })
			n := 0
			for _, err := range sink.All(context.Background(), out) {
				if err != nil {
					t.Fatal(err)
				}
				if n++; n == 100 {
					break
				}
			}
			meterstest.Check(t, p)
			// goleak in TestMain checks that nothing is left running.
		})
	}
}

func TestRangeLoopPanicPropagates(t *testing.T) {
	obs := &recordingObserver{}
	p := pipeline.New(pipeline.WithObserver(obs))
	out := stage.Map(stage.FromSlice(p, ints(1000)), func(_ context.Context, x int) (int, error) { return x, nil })
	defer func() {
		if v := recover(); v != "loop body" {
			t.Fatalf("recovered %v, want the loop body's panic", v)
		}
		meterstest.Check(t, p)
		if obs.starts != 1 || obs.stops != 1 {
			t.Errorf("observer started %d times, stopped %d times; want 1 and 1", obs.starts, obs.stops)
		}
	}()
	for range sink.All(context.Background(), out) {
		panic("loop body")
	}
}

func TestGeneratorErrorIsReported(t *testing.T) {
	bad := errors.New("disk on fire")
	for _, cont := range []bool{false, true} {
		t.Run(fmt.Sprintf("continue=%v", cont), func(t *testing.T) {
			var opts []pipeline.Option
			if cont {
				opts = append(opts, pipeline.WithContinueOnError())
			}
			p := pipeline.New(opts...)
			src := stage.Generate(p, func(_ context.Context, emit func(int) bool) error {
				for i := range 10 {
					emit(i)
				}
				return bad
			}, stage.WithName("walk"))
			got, err := sink.Slice(context.Background(), src)
			if !errors.Is(err, bad) || !strings.Contains(err.Error(), `"walk"`) {
				t.Errorf("err = %v, want the source's error naming it", err)
			}
			if cont && len(got) != 10 {
				t.Errorf("continue mode kept %d items, want 10", len(got))
			}
			meterstest.Check(t, p)
		})
	}
}

func TestSinkErrorFailsItem(t *testing.T) {
	p := pipeline.New()
	in := stage.FromSlice(p, ints(100))
	err := sink.ForEach(context.Background(), in, func(x, _ int) error {
		if x == 7 {
			return errors.New("cannot store")
		}
		return nil
	}, sink.WithName("store"))
	var ie *pipeline.ItemError[int]
	if !errors.As(err, &ie) || ie.Input != 7 || ie.Stage != "store" {
		t.Fatalf("err = %v", err)
	}
	meterstest.Check(t, p)
}

func TestOnDoneSeesEveryOutcomeSerially(t *testing.T) {
	p := pipeline.New(pipeline.WithContinueOnError())
	out := stage.Map(stage.FromSlice(p, ints(500)), func(_ context.Context, x int) (float64, error) {
		if x%50 == 0 {
			return 0, errors.New("no")
		}
		return float64(x) / 2, nil
	}, stage.WithWorkers(8))
	results := map[int]float64{}
	failed := map[int]bool{}
	var inside atomic.Int32
	out = stage.OnDone(out, func(x int, v float64, err error) {
		if inside.Add(1) != 1 {
			t.Error("callback called concurrently")
		}
		defer inside.Add(-1)
		if err != nil {
			failed[x] = true
			return
		}
		results[x] = v
	})
	n, err := sink.Count(context.Background(), out)
	if len(pipeline.ItemErrors[int](err)) != 10 || len(failed) != 10 {
		t.Errorf("failures: returned %d, seen by callback %d; want 10", len(pipeline.ItemErrors[int](err)), len(failed))
	}
	if n != 490 || len(results) != 490 || results[3] != 1.5 {
		t.Errorf("count %d, callback results %d", n, len(results))
	}
	meterstest.Check(t, p)
}

func TestDuplicateInputsLastWins(t *testing.T) {
	p := pipeline.New()
	m, err := sink.ByInput(context.Background(), stage.OrderedMap(stage.FromSlice(p, []string{"a", "b", "a"}),
		func(_ context.Context, s string) (int, error) { return len(s), nil }))
	if err != nil || len(m) != 2 || m["a"] != 1 {
		t.Fatalf("m = %v, err = %v", m, err)
	}
}

func TestEmptySources(t *testing.T) {
	for _, src := range []string{"slice", "chan", "seq", "generate"} {
		t.Run(src, func(t *testing.T) {
			p := pipeline.New()
			m, err := sink.ByInput(context.Background(), stage.OrderedMap(source(t, p, src, 0), func(_ context.Context, x int) (int, error) { return x, nil }))
			if err != nil || len(m) != 0 {
				t.Fatalf("m = %v, err = %v", m, err)
			}
			meterstest.Check(t, p)
		})
	}
}

func TestWeightAndDescription(t *testing.T) {
	p := pipeline.New()
	words := []string{"alpha", "be", "gamma"}
	out := stage.OrderedMap(stage.FromSlice(p, words), func(_ context.Context, s string) (int, error) { return len(s), nil },
		stage.WithWorkers(1)).
		Weigh(pipeline.Bytes, func(n int) int64 { return int64(n) }).
		Describe(func(in string, n int) string { return fmt.Sprintf("%s=%d", in, n) })
	if _, err := sink.Slice(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	st := p.Stages()[1]
	if c := st.Counts(); c.Weight != 12 || st.Unit() != pipeline.Bytes {
		t.Errorf("weight %d %q, want 12 bytes", c.Weight, st.Unit())
	}
	if d := st.Description(); d != "gamma=5" {
		t.Errorf("description %q, want gamma=5", d)
	}
}

func TestAddWeightInsideItem(t *testing.T) {
	p := pipeline.New()
	out := stage.Map(stage.FromSlice(p, ints(10)), func(ctx context.Context, x int) (int, error) {
		for range 3 {
			pipeline.AddWeight(ctx, 100)
		}
		return x, nil
	})
	if _, err := sink.Count(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	if w := p.Stages()[1].Counts().Weight; w != 3000 {
		t.Errorf("weight %d, want 3000", w)
	}
	pipeline.AddWeight(context.Background(), 5) // no stage: no effect, no panic
}

func TestTotals(t *testing.T) {
	p := pipeline.New()
	src := stage.FromSlice(p, ints(100))
	sq := stage.Map(src, func(_ context.Context, x int) (int, error) { return x, nil })
	ev := stage.Filter(sq, func(x int) bool { return x%4 == 0 })
	end := stage.Map(ev, func(_ context.Context, x int) (int, error) { return x, nil })
	before := func(s *pipeline.Stage) (int64, bool) { return s.Total() }
	if n, final := before(p.Stages()[1]); n != 100 || !final {
		t.Errorf("map total before run = %d, %v; want 100, true", n, final)
	}
	if _, final := before(p.Stages()[3]); final {
		t.Error("total after a filter is final before the run")
	}
	if _, err := sink.Count(context.Background(), end); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int64{100, 100, 100, 25, 25} {
		if n, final := p.Stages()[i].Total(); n != want || !final {
			t.Errorf("stage %d total = %d, %v; want %d, true", i, n, final, want)
		}
	}
}
