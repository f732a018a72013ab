package stage_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/flowbar/flowbar/internal/meterstest"
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// teeSource returns a source of 0..n-1 of the given kind.
func teeSource(p *pipeline.Pipeline, kind string, n int) *pipeline.Stream[int, int] {
	if kind == "slice" {
		return stage.FromSlice(p, ints(n))
	}
	return stage.Generate(p, func(ctx context.Context, emit func(int) bool) error {
		for i := range n {
			if !emit(i) {
				return ctx.Err()
			}
		}
		return nil
	})
}

func TestTeeHandsEveryItemToEveryBranch(t *testing.T) {
	for _, kind := range []string{"slice", "generator"} {
		for _, n := range []int{0, 1, 1000} {
			for _, branches := range []int{1, 2, 3} {
				for _, workers := range []int{1, 8} {
					t.Run(fmt.Sprintf("%s/n=%d/branches=%d/workers=%d", kind, n, branches, workers), func(t *testing.T) {
						p := pipeline.New()
						bs := stage.Tee(teeSource(p, kind, n), branches, stage.WithName("tee"))
						if len(bs) != branches {
							t.Fatalf("%d branches, want %d", len(bs), branches)
						}
						// Branch 0 goes straight to a sink (order kept); the
						// others through a map.
						direct := sink.Later(bs[0], sink.Slice)
						var mapped []*sink.Pending[map[int]int]
						for k, b := range bs[1:] {
							m := stage.Map(b, func(_ context.Context, x int) (int, error) { return x * (k + 2), nil }, stage.WithWorkers(workers))
							mapped = append(mapped, sink.Later(m, sink.ByInput))
						}
						if err := sink.Run(context.Background(), p); err != nil {
							t.Fatal(err)
						}
						if got := direct.Value(); !slices.Equal(got, ints(n)) && !(n == 0 && len(got) == 0) {
							t.Errorf("branch 1 got %d items, not 0..%d in order", len(got), n-1)
						}
						for k, m := range mapped {
							got := m.Value()
							if len(got) != n {
								t.Errorf("branch %d: %d results, want %d", k+2, len(got), n)
							}
							for x, v := range got {
								if v != x*(k+2) {
									t.Fatalf("branch %d: %d -> %d", k+2, x, v)
								}
							}
							if !m.Done() || m.Err() != nil {
								t.Errorf("branch %d: done %v, err %v", k+2, m.Done(), m.Err())
							}
						}
						meterstest.Check(t, p)
						for k := range branches {
							st := p.Stages()[1+k]
							if want := fmt.Sprintf("tee/%d", k+1); st.Name() != want || st.Kind() != "tee" {
								t.Errorf("stage %d is %s (%s), want %s (tee)", 1+k, st.Name(), st.Kind(), want)
							}
							if c := st.Counts(); c.In != int64(n) || c.Out != int64(n) {
								t.Errorf("%s: counts %+v, want %d in and out", st.Name(), c, n)
							}
						}
					})
				}
			}
		}
	}
}

func TestTeeTotalsAreKnownFromASliceSource(t *testing.T) {
	p := pipeline.New()
	bs := stage.Tee(stage.FromSlice(p, ints(100)), 2)
	totals := make([]int64, 2) // by branch, each written by its sink's goroutine
	probe := func(k int) *sink.Pending[int] {
		return sink.LaterFunc(bs[k], func(ctx context.Context, s *pipeline.Stream[int, int]) (int, error) {
			m := stage.Map(s, id) // a stage built in the sink's function
			n, err := sink.Count(ctx, m)
			if total, final := m.From().Total(); final {
				totals[k] = total
			}
			return n, err
		})
	}
	a, b := probe(0), probe(1)
	if err := sink.Run(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if a.Value() != 100 || b.Value() != 100 || !slices.Equal(totals, []int64{100, 100}) {
		t.Errorf("counts %d, %d, final totals %v; want 100, 100, [100 100]", a.Value(), b.Value(), totals)
	}
	meterstest.Check(t, p)
}

// The slowest branch sets the pace: while one branch's sink holds its
// first item, the other branch gets no further than the bounded edges
// let it.
func TestTeeSlowestBranchSetsThePace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 10000
		p := pipeline.New(pipeline.WithChunkSize(4))
		bs := stage.Tee(stage.FromSlice(p, ints(n)), 2)
		gate := make(chan struct{})
		var fast atomic.Int64
		slow := sink.LaterFunc(bs[0], func(ctx context.Context, s *pipeline.Stream[int, int]) (int, error) {
			return 0, sink.ForEach(ctx, s, func(int, int) error { <-gate; return nil })
		})
		quick := sink.LaterFunc(bs[1], func(ctx context.Context, s *pipeline.Stream[int, int]) (int64, error) {
			err := sink.ForEach(ctx, s, func(int, int) error { fast.Add(1); return nil })
			return fast.Load(), err
		})
		done := make(chan error)
		go func() { done <- sink.Run(context.Background(), p) }()
		synctest.Wait() // every goroutine blocked: the slow sink on the gate
		// Edges of chunk size 4 hold at most 16 × 4 items; the tee holds a
		// chunk per branch.
		if got := fast.Load(); got > 200 {
			t.Errorf("the fast branch took %d items while the slow one held its first; the tee must wait for the slowest", got)
		}
		close(gate)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if quick.Value() != n || slow.Err() != nil {
			t.Errorf("fast branch %d items, slow branch err %v", quick.Value(), slow.Err())
		}
		meterstest.Check(t, p)
	})
}

func TestTeeFailFastStopsEveryBranch(t *testing.T) {
	for _, workers := range []int{1, 8} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			p := pipeline.New()
			bs := stage.Tee(teeSource(p, "generator", 100000), 2)
			boom := errors.New("boom")
			bad := stage.Map(bs[0], func(_ context.Context, x int) (int, error) {
				if x == 500 {
					return 0, boom
				}
				return x, nil
			}, stage.WithWorkers(workers), stage.WithName("bad"))
			a := sink.Later(bad, sink.Count)
			var calls atomic.Int64
			good := stage.Map(bs[1], func(ctx context.Context, x int) (int, error) { calls.Add(1); return x, nil }, stage.WithWorkers(workers))
			b := sink.Later(good, sink.ByInput)
			err := sink.Run(context.Background(), p)
			var ie *pipeline.ItemError[int]
			if !errors.As(err, &ie) || ie.Input != 500 || ie.Stage != "bad" || !errors.Is(err, boom) {
				t.Fatalf("Run returned %v, want the failure of item 500 in stage bad", err)
			}
			if len(joined(err)) != 1 {
				t.Errorf("Run returned %d errors, want the first failure once: %v", len(joined(err)), err)
			}
			if !errors.Is(a.Err(), boom) || !errors.Is(b.Err(), boom) {
				t.Errorf("sink errors %v, %v; each sink returns the failure that stopped the run", a.Err(), b.Err())
			}
			if len(b.Value()) == 100000 || calls.Load() == 100000 {
				t.Errorf("the other branch ran to the end (%d calls) after the failure", calls.Load())
			}
			meterstest.Check(t, p)
		})
	}
}

func TestTeeContinueOnError(t *testing.T) {
	for _, workers := range []int{1, 8} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			p := pipeline.New(pipeline.WithContinueOnError())
			// Multiples of 10 fail before the tee: both branches get their
			// failure records. Multiples of 7 fail in branch 1 only.
			pre := stage.Map(stage.FromSlice(p, ints(100)), func(_ context.Context, x int) (int, error) {
				if x%10 == 0 {
					return 0, fmt.Errorf("pre %d", x)
				}
				return x, nil
			}, stage.WithWorkers(workers), stage.WithName("pre"))
			bs := stage.Tee(pre, 2)
			b1 := stage.Map(bs[0], func(_ context.Context, x int) (int, error) {
				if x%7 == 0 {
					return 0, fmt.Errorf("seven %d", x)
				}
				return x, nil
			}, stage.WithWorkers(workers), stage.WithName("seven"))
			a := sink.Later(b1, sink.ByInput)
			b := sink.Later(bs[1], sink.ByInput)
			err := sink.Run(context.Background(), p)
			all := pipeline.ItemErrors[int](err)
			// 10 before the tee, once; multiples of 7 not of 10: 15 - 2 = 13.
			if len(all) != 10+13 {
				t.Errorf("Run returned %d failures, want 23 (each once): %v", len(all), err)
			}
			if fa := pipeline.ItemErrors[int](a.Err()); len(fa) != 23 {
				t.Errorf("branch 1's sink has %d failures, want 23", len(fa))
			}
			if fb := pipeline.ItemErrors[int](b.Err()); len(fb) != 10 {
				t.Errorf("branch 2's sink has %d failures, want 10", len(fb))
			}
			if len(a.Value()) != 100-23 || len(b.Value()) != 90 {
				t.Errorf("%d and %d results, want 77 and 90", len(a.Value()), len(b.Value()))
			}
			meterstest.Check(t, p)
		})
	}
}

// A branch whose sink stops early stops alone: the others run to their end.
// There are more items than the edges between the tee, the map and the
// sink hold, so the map cannot have run on all of them by the time the
// sink stops, however fast the items go.
func TestTeeBranchThatStopsEarlyStopsAlone(t *testing.T) {
	const n = 100_000
	for _, workers := range []int{1, 8} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			p := pipeline.New()
			bs := stage.Tee(teeSource(p, "generator", n), 2)
			var seen int
			var calls atomic.Int64
			first := stage.Map(bs[0], func(_ context.Context, x int) (int, error) { calls.Add(1); return x, nil }, stage.WithWorkers(workers))
			stopped := sink.LaterFunc(first, func(ctx context.Context, s *pipeline.Stream[int, int]) (int, error) {
				err := sink.ForEach(ctx, s, func(int, int) error {
					seen++
					if seen == 10 {
						return pipeline.ErrStop
					}
					return nil
				})
				return seen, err
			})
			rest := sink.Later(stage.Map(bs[1], id, stage.WithWorkers(workers)), sink.ByInput)
			if err := sink.Run(context.Background(), p); err != nil {
				t.Fatal(err)
			}
			if stopped.Value() != 10 || stopped.Err() != nil {
				t.Errorf("stopped branch saw %d items (err %v), want 10", stopped.Value(), stopped.Err())
			}
			if len(rest.Value()) != n {
				t.Errorf("the other branch got %d items, want %d", len(rest.Value()), n)
			}
			if calls.Load() == n {
				t.Errorf("the stopped branch's map ran on every item; the tee should stop feeding it")
			}
			meterstest.Check(t, p)
		})
	}
}

// When every branch has stopped, the run stops: an endless source ends.
func TestTeeEveryBranchStoppedStopsTheRun(t *testing.T) {
	p := pipeline.New()
	endless := stage.Generate(p, func(ctx context.Context, emit func(int) bool) error {
		for i := 0; ; i++ {
			if !emit(i) {
				return nil
			}
		}
	})
	bs := stage.Tee(endless, 2)
	var results []*sink.Pending[int]
	for k, b := range bs {
		results = append(results, sink.LaterFunc(b, func(ctx context.Context, s *pipeline.Stream[int, int]) (int, error) {
			n := 0
			err := sink.ForEach(ctx, s, func(int, int) error {
				n++
				if n == 100*(k+1) {
					return pipeline.ErrStop
				}
				return nil
			})
			return n, err
		}))
	}
	if err := sink.Run(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if results[0].Value() != 100 || results[1].Value() != 200 {
		t.Errorf("branches saw %d and %d items, want 100 and 200", results[0].Value(), results[1].Value())
	}
	meterstest.Check(t, p)
}

func TestTeeCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := pipeline.New()
	bs := stage.Tee(teeSource(p, "generator", 1<<30), 2)
	var after atomic.Int64
	m := stage.Map(bs[0], func(ctx context.Context, x int) (int, error) {
		if x == 1000 {
			cancel()
		}
		if ctx.Err() != nil {
			after.Add(1)
		}
		return x, nil
	}, stage.WithWorkers(4))
	a := sink.Later(m, sink.Count)
	b := sink.Later(bs[1], sink.Count)
	err := sink.Run(ctx, p)
	if !errors.Is(err, context.Canceled) || !errors.Is(a.Err(), context.Canceled) || !errors.Is(b.Err(), context.Canceled) {
		t.Fatalf("Run returned %v (sinks %v, %v), want context.Canceled", err, a.Err(), b.Err())
	}
	if n := after.Load(); n > 4 {
		t.Errorf("%d items started after the cancellation, want at most the 4 in flight", n)
	}
	meterstest.Check(t, p)
}

func TestTeePanicInABranchFailsTheItem(t *testing.T) {
	p := pipeline.New(pipeline.WithContinueOnError())
	bs := stage.Tee(stage.FromSlice(p, ints(50)), 2)
	m := stage.Map(bs[0], func(_ context.Context, x int) (int, error) {
		if x == 7 {
			panic("seven")
		}
		return x, nil
	}, stage.WithName("panics"))
	a := sink.Later(m, sink.ByInput)
	b := sink.Later(bs[1], sink.Count)
	err := sink.Run(context.Background(), p)
	var pe *pipeline.PanicError
	ies := pipeline.ItemErrors[int](err)
	if len(ies) != 1 || ies[0].Input != 7 || !errors.As(err, &pe) {
		t.Fatalf("Run returned %v, want the panic of item 7", err)
	}
	if len(a.Value()) != 49 || b.Value() != 50 {
		t.Errorf("%d and %d results, want 49 and 50", len(a.Value()), b.Value())
	}
	meterstest.Check(t, p)
}

func TestTeeMisuse(t *testing.T) {
	mustPanic := func(t *testing.T, want string, f func()) {
		t.Helper()
		defer func() {
			t.Helper()
			v := recover()
			if s := fmt.Sprint(v); v == nil || !strings.Contains(s, want) {
				t.Errorf("panic %v, want one containing %q", v, want)
			}
		}()
		f()
	}
	t.Run("no branch", func(t *testing.T) {
		p := pipeline.New()
		mustPanic(t, "stage: Tee: 0 branches", func() { stage.Tee(stage.FromSlice(p, ints(3)), 0) })
	})
	t.Run("bad option", func(t *testing.T) {
		p := pipeline.New()
		mustPanic(t, "stage: Tee does not take WithWorkers", func() { stage.Tee(stage.FromSlice(p, ints(3)), 2, stage.WithWorkers(2)) })
	})
	t.Run("a branch never consumed", func(t *testing.T) {
		p := pipeline.New()
		bs := stage.Tee(stage.FromSlice(p, ints(3)), 2)
		sink.Later(bs[0], sink.Count)
		mustPanic(t, `stage "tee/2" is never consumed`, func() { _ = sink.Run(context.Background(), p) })
	})
	t.Run("a branch given to two sinks", func(t *testing.T) {
		p := pipeline.New()
		bs := stage.Tee(stage.FromSlice(p, ints(3)), 2)
		sink.Later(bs[0], sink.Count)
		sink.Later(bs[1], sink.Count)
		sink.Later(bs[1], sink.Slice)
		mustPanic(t, "already consumed", func() { _ = sink.Run(context.Background(), p) })
	})
	t.Run("one branch run by a sink of its own", func(t *testing.T) {
		p := pipeline.New()
		bs := stage.Tee(stage.FromSlice(p, ints(3)), 2)
		mustPanic(t, "give each sink to sink.Later and run them with sink.Run", func() { _, _ = sink.Count(context.Background(), bs[0]) })
	})
	t.Run("tee of a consumed stream", func(t *testing.T) {
		p := pipeline.New()
		src := stage.FromSlice(p, ints(3))
		stage.Map(src, id)
		mustPanic(t, "already consumed", func() { stage.Tee(src, 2) })
	})
}

// Branches that stopped, fed by an endless source, do not keep the run
// alive once the other sinks have consumed their whole input.
func TestTeeStoppedBranchesOfAnEndlessSourceEnd(t *testing.T) {
	p := pipeline.New()
	endless := stage.Generate(p, func(ctx context.Context, emit func(int) bool) error {
		for i := 0; ; i++ {
			if !emit(i) {
				return nil
			}
		}
	})
	first := func(s *pipeline.Stream[int, int]) *sink.Pending[int] {
		return sink.LaterFunc(s, func(ctx context.Context, s *pipeline.Stream[int, int]) (int, error) {
			n := 0
			return n, sink.ForEach(ctx, s, func(int, int) error {
				if n++; n == 10 {
					return pipeline.ErrStop
				}
				return nil
			})
		})
	}
	bs := stage.Tee(endless, 2)
	first(bs[0])
	first(bs[1])
	other := sink.Later(stage.Map(stage.FromSlice(p, ints(1000)), id), sink.ByInput)
	if err := sink.Run(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if len(other.Value()) != 1000 {
		t.Errorf("the unrelated chain got %d results, want 1000", len(other.Value()))
	}
	meterstest.Check(t, p)
}

// A tee of batches counts items, not batches, on every branch; a weight or
// a description set on a branch's stream is that branch's.
func TestTeeOfBatchesAndWeights(t *testing.T) {
	for _, workers := range []int{1, 8} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			p := pipeline.New()
			batches := stage.Batch(stage.Map(stage.FromSlice(p, ints(100)), id, stage.WithWorkers(workers)), 7, 0)
			bs := stage.Tee(batches, 2, stage.WithName("tee"))
			bs[0].Weigh(pipeline.Rows, func(vs []int) int64 { return int64(len(vs)) }).
				Describe(func(in []int, _ []int) string { return fmt.Sprint(in[0]) })
			a := sink.Later(stage.Unbatch(bs[0]), sink.ByInput)
			b := sink.Later(stage.Unbatch(bs[1]), sink.Count)
			if err := sink.Run(context.Background(), p); err != nil {
				t.Fatal(err)
			}
			if len(a.Value()) != 100 || b.Value() != 100 {
				t.Errorf("%d and %d results, want 100 and 100", len(a.Value()), b.Value())
			}
			var tee1, tee2 *pipeline.Stage
			for _, st := range p.Stages() {
				switch st.Name() {
				case "tee/1":
					tee1 = st
				case "tee/2":
					tee2 = st
				}
			}
			if c := tee1.Counts(); c.In != 100 || c.Out != 100 || c.Weight != 100 || tee1.Unit() != pipeline.Rows || tee1.Description() == "" {
				t.Errorf("tee/1: %+v unit %q description %q; want 100 items, 100 rows and a description", c, tee1.Unit(), tee1.Description())
			}
			if c := tee2.Counts(); c.In != 100 || c.Out != 100 || c.Weight != 0 || tee2.Description() != "" {
				t.Errorf("tee/2: %+v, description %q; want 100 items and no weight", c, tee2.Description())
			}
			meterstest.Check(t, p)
		})
	}
}
