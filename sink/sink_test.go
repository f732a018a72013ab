package sink_test

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

func numbers(p *pipeline.Pipeline, n int) *pipeline.Stream[int, int] {
	xs := make([]int, n)
	for i := range xs {
		xs[i] = i
	}
	return stage.FromSlice(p, xs)
}

func failOdd(_ context.Context, x int) (int, error) {
	if x%2 == 1 {
		return 0, errors.New("odd")
	}
	return x, nil
}

func TestSinksUnderContinue(t *testing.T) {
	ctx := context.Background()
	check := func(t *testing.T, err error, n int) {
		t.Helper()
		if got := len(pipeline.ItemErrors[int](err)); got != n/2 {
			t.Errorf("%d failures, want %d", got, n/2)
		}
	}
	const n = 1000
	t.Run("ByInput", func(t *testing.T) {
		p := pipeline.New(pipeline.WithContinueOnError())
		m, err := sink.ByInput(ctx, stage.Map(numbers(p, n), failOdd))
		check(t, err, n)
		if len(m) != n/2 {
			t.Errorf("%d results", len(m))
		}
	})
	t.Run("ByKey", func(t *testing.T) {
		p := pipeline.New(pipeline.WithContinueOnError())
		m, err := sink.ByKey(ctx, stage.Map(numbers(p, n), failOdd), func(x, _ int) int { return x / 10 })
		check(t, err, n)
		if len(m) != n/10 {
			t.Errorf("%d results", len(m))
		}
	})
	t.Run("Slice", func(t *testing.T) {
		p := pipeline.New(pipeline.WithContinueOnError())
		s, err := sink.Slice(ctx, stage.Map(numbers(p, n), failOdd))
		check(t, err, n)
		if len(s) != n/2 {
			t.Errorf("%d results", len(s))
		}
	})
	t.Run("Reduce", func(t *testing.T) {
		p := pipeline.New(pipeline.WithContinueOnError())
		sum, err := sink.Reduce(ctx, stage.Map(numbers(p, n), failOdd), 0, func(a, x int) int { return a + x })
		check(t, err, n)
		if sum != 249500 {
			t.Errorf("sum %d", sum)
		}
	})
	t.Run("All", func(t *testing.T) {
		p := pipeline.New(pipeline.WithContinueOnError())
		ok, bad := 0, 0
		for r, err := range sink.All(ctx, stage.Map(numbers(p, n), failOdd)) {
			if err != nil {
				var ie *pipeline.ItemError[int]
				if !errors.As(err, &ie) || ie.Input != r.Input || r.Input%2 != 1 {
					t.Errorf("failure %v for input %d", err, r.Input)
				}
				bad++
				continue
			}
			ok++
		}
		if ok != n/2 || bad != n/2 {
			t.Errorf("ok %d bad %d", ok, bad)
		}
	})
}

func TestAllYieldsFailFastErrorLast(t *testing.T) {
	p := pipeline.New()
	var errs []error
	for _, err := range sink.All(context.Background(), stage.Map(numbers(p, 100), failOdd, stage.WithWorkers(1))) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "item 1: odd") {
		t.Fatalf("errors %v, want the first failure once", errs)
	}
}

func TestAllRangedTwicePanics(t *testing.T) {
	p := pipeline.New()
	seq := sink.All(context.Background(), numbers(p, 3))
	for range seq {
	}
	defer func() {
		if v, _ := recover().(string); !strings.HasPrefix(v, "sink: All: the iterator was ranged over twice") {
			t.Errorf("panic %q", v)
		}
	}()
	for range seq {
	}
}

func TestRunTwicePanics(t *testing.T) {
	p := pipeline.New()
	in := numbers(p, 3)
	if _, err := sink.Count(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if v, _ := recover().(string); !strings.HasPrefix(v, "pipeline:") || !strings.Contains(v, "already run") {
			t.Errorf("panic %q", v)
		}
	}()
	sink.Count(context.Background(), stage.Map(in, failOdd))
}

func TestUnconsumedStreamPanics(t *testing.T) {
	p := pipeline.New()
	in := numbers(p, 3)
	stage.Map(in, failOdd, stage.WithName("orphan"))
	defer func() {
		if v, _ := recover().(string); v != `pipeline: the output of stage "orphan" is never consumed; connect it to a stage or a sink` {
			t.Errorf("panic %q", v)
		}
	}()
	// The source's stream is consumed by orphan; orphan's by nothing.
	sink.Count(context.Background(), stage.FromSlice(p, []int{1}))
}

func TestSinkPanicsAreItemErrors(t *testing.T) {
	p := pipeline.New(pipeline.WithContinueOnError())
	err := sink.ForEach(context.Background(), numbers(p, 10), func(x, _ int) error {
		if x == 3 {
			panic("three")
		}
		return nil
	})
	fs := pipeline.ItemErrors[int](err)
	if len(fs) != 1 || fs[0].Input != 3 {
		t.Fatalf("err %v", err)
	}
	c := p.Stages()[1].Counts()
	if c.Out != 9 || c.Failed != 1 || !c.Balanced() {
		t.Errorf("sink counts %+v", c)
	}
}

func TestForEachStop(t *testing.T) {
	p := pipeline.New()
	seen := 0
	err := sink.ForEach(context.Background(), stage.Map(numbers(p, 100000), failOdd, stage.WithWorkers(1)), func(x, _ int) error {
		seen++
		return nil
	})
	if err == nil || seen > 1 {
		t.Fatalf("err %v seen %d; only item 0 succeeds", err, seen)
	}
	p = pipeline.New()
	seen = 0
	err = sink.ForEach(context.Background(), numbers(p, 100000), func(x, _ int) error {
		seen++
		if seen == 10 {
			return pipeline.ErrStop
		}
		return nil
	})
	if err != nil || seen != 10 {
		t.Fatalf("err %v seen %d", err, seen)
	}
	for _, st := range p.Stages() {
		if !st.Counts().Balanced() {
			t.Errorf("%s %+v", st.Name(), st.Counts())
		}
	}
}

// ByInput after a filter sizes its map once results have been arriving for
// a while, keeping those already stored: every result is there, whatever
// the share the filter keeps and the number of workers.
func TestByInputAfterFilterKeepsEveryResult(t *testing.T) {
	for _, keep := range []int{1, 3, 1000} { // every item, a third, a thousandth
		for _, workers := range []int{1, 4} {
			const n = 50_000
			p := pipeline.New()
			kept := stage.Filter(numbers(p, n), func(x int) bool { return x%keep == 0 }, stage.WithWorkers(workers))
			m, err := sink.ByInput(context.Background(), stage.Map(kept, func(_ context.Context, x int) (int, error) { return -x, nil }))
			if err != nil {
				t.Fatal(err)
			}
			if want := (n + keep - 1) / keep; len(m) != want {
				t.Fatalf("keep 1 in %d, %d workers: %d results, want %d", keep, workers, len(m), want)
			}
			for x, v := range m {
				if x%keep != 0 || v != -x {
					t.Fatalf("keep 1 in %d, %d workers: m[%d] = %d", keep, workers, x, v)
				}
			}
		}
	}
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// ByKey grouping many results under a few keys makes a map of a few
// entries: it does not size the map for every result it expects (a map of
// 1,000,000 ints is some 40 MiB) when the first results show repeating
// keys.
func TestByKeyFewKeysMakeASmallMap(t *testing.T) {
	const n = 1_000_000
	xs := make([]int, n)
	for i := range xs {
		xs[i] = i
	}
	for _, filtered := range []bool{false, true} {
		var m map[int]int
		var err error
		b := allocated(func() {
			p := pipeline.New()
			s := stage.FromSlice(p, xs)
			if filtered {
				s = stage.Filter(s, func(x int) bool { return x%3 != 0 })
			}
			m, err = sink.ByKey(context.Background(), s, func(_, v int) int { return v % 10 })
		})
		if err != nil || len(m) != 10 {
			t.Fatalf("filtered=%t: %d keys, %v", filtered, len(m), err)
		}
		for k, v := range m {
			if v%10 != k {
				t.Fatalf("filtered=%t: m[%d] = %d", filtered, k, v)
			}
		}
		// The input slice is the caller's; the run's chunks and stages
		// take under a MiB, a few under the race detector (where slower
		// items make smaller chunks).
		t.Logf("filtered=%t: %.1f MiB allocated", filtered, float64(b)/(1<<20))
		if b > 16<<20 {
			t.Errorf("filtered=%t: %.1f MiB allocated for a map of 10 keys", filtered, float64(b)/(1<<20))
		}
	}
}

// ByKey with distinct keys keeps every result, whether it is told the
// total (a slice), an upper bound (a filter after a slice) or nothing (a
// sequence), and whether the results are fewer or more than it looks at
// before sizing its map.
func TestByKeyDistinctKeysKeepEveryResult(t *testing.T) {
	for _, n := range []int{10, sink.KeySample - 1, sink.KeySample, 50_000} {
		xs := make([]int, n)
		for i := range xs {
			xs[i] = i
		}
		srcs := map[string]func(p *pipeline.Pipeline) *pipeline.Stream[int, int]{
			"slice": func(p *pipeline.Pipeline) *pipeline.Stream[int, int] { return stage.FromSlice(p, xs) },
			"filter": func(p *pipeline.Pipeline) *pipeline.Stream[int, int] {
				return stage.Filter(stage.FromSlice(p, xs), func(x int) bool { return x%2 == 0 }, stage.WithWorkers(4))
			},
			"seq": func(p *pipeline.Pipeline) *pipeline.Stream[int, int] { return stage.FromSeq(p, slices.Values(xs)) },
		}
		for name, src := range srcs {
			p := pipeline.New()
			m, err := sink.ByKey(context.Background(), src(p), func(x, v int) int { return -x })
			if err != nil {
				t.Fatal(err)
			}
			want := n
			if name == "filter" {
				want = (n + 1) / 2
			}
			if len(m) != want {
				t.Fatalf("%s, %d items: %d keys, want %d", name, n, len(m), want)
			}
			for k, v := range m {
				if k != -v || (name == "filter" && v%2 != 0) {
					t.Fatalf("%s, %d items: m[%d] = %d", name, n, k, v)
				}
			}
		}
	}
}
