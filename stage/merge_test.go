package stage_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/flowbar/flowbar/internal/meterstest"
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// parts returns three sources of different kinds holding disjoint runs of
// 0..3n-1: a slice, a generator and a channel.
func parts(p *pipeline.Pipeline, n int) []*pipeline.Stream[int, int] {
	ch := make(chan int, n)
	for i := range n {
		ch <- 2*n + i
	}
	close(ch)
	return []*pipeline.Stream[int, int]{
		stage.FromSlice(p, ints(n)),
		stage.Generate(p, func(ctx context.Context, emit func(int) bool) error {
			for i := range n {
				if !emit(n + i) {
					return ctx.Err()
				}
			}
			return nil
		}),
		stage.FromChan(p, ch),
	}
}

func TestMergeHandsOnEveryItemOnce(t *testing.T) {
	for _, n := range []int{0, 1, 1000} {
		for _, workers := range []int{1, 8} {
			t.Run(fmt.Sprintf("n=%d/workers=%d", n, workers), func(t *testing.T) {
				p := pipeline.New()
				merged := stage.Merge(parts(p, n), stage.WithName("merge"))
				s := stage.Map(merged, id, stage.WithWorkers(workers))
				got, err := collect(context.Background(), s)
				if err != nil {
					t.Fatal(err)
				}
				seen := map[int]bool{}
				last := map[int]int{} // by source: the last value it handed on
				for _, g := range got {
					if seen[g.in] || g.in != g.v {
						t.Fatalf("item %d (%d) handed on twice or changed", g.in, g.v)
					}
					seen[g.in] = true
					part := g.in / max(n, 1)
					if prev, ok := last[part]; workers == 1 && ok && g.in < prev {
						t.Fatalf("source %d: %d after %d; each input keeps its order", part, g.in, prev)
					}
					last[part] = g.in
				}
				if len(seen) != 3*n {
					t.Fatalf("%d items, want %d", len(seen), 3*n)
				}
				meterstest.Check(t, p)
				st := p.Stages()[3]
				if c := st.Counts(); c.In != int64(3*n) || c.Out != c.In {
					t.Errorf("merge counts %+v, want %d", c, 3*n)
				}
				if total, final := st.Total(); total != int64(3*n) || !final {
					t.Errorf("merge total %d, %v; want %d, true", total, final, 3*n)
				}
				if ups := st.Upstreams(); len(ups) != 3 || ups[0] != p.Stages()[0] || ups[2] != p.Stages()[2] {
					t.Errorf("merge upstreams %v", ups)
				}
			})
		}
	}
}

// A merge of slices knows its total before the run: the sum of theirs.
func TestMergeTotalIsTheSum(t *testing.T) {
	p := pipeline.New()
	merged := stage.Merge([]*pipeline.Stream[int, int]{stage.FromSlice(p, ints(3)), stage.FromSlice(p, ints(5))})
	st := merged.From()
	if total, final := st.Total(); total != 8 || !final {
		t.Errorf("total %d, %v before the run; want 8, true", total, final)
	}
	sized := -1
	err := engine.Consume(context.Background(), merged, engine.Consumer[int, int]{
		Size:  func(n int) { sized = n },
		Batch: func([]engine.Item[int, int]) {},
	})
	if err != nil || sized != 8 {
		t.Errorf("the sink was told %d items (%v), want 8", sized, err)
	}
}

// Failures of the merged streams pass through the merge under
// continue-on-error, and a failing input stops the others under fail-fast.
func TestMergeFailures(t *testing.T) {
	errBad := errors.New("bad")
	failOdd := func(_ context.Context, x int) (int, error) {
		if x%2 == 1 {
			return 0, errBad
		}
		return x, nil
	}
	for _, cont := range []bool{true, false} {
		t.Run(fmt.Sprintf("continue=%v", cont), func(t *testing.T) {
			var opts []pipeline.Option
			if cont {
				opts = append(opts, pipeline.WithContinueOnError())
			}
			p := pipeline.New(opts...)
			ins := parts(p, 100)
			ins[1] = stage.Map(ins[1], failOdd, stage.WithName("check"))
			m, err := sink.ByInput(context.Background(), stage.Merge(ins))
			ies := pipeline.ItemErrors[int](err)
			if cont && (len(ies) != 50 || len(m) != 250) || !cont && (len(ies) != 1 || err != error(ies[0])) {
				t.Fatalf("%d results, %d errors (%v)", len(m), len(ies), err)
			}
			for _, ie := range ies {
				if ie.Stage != "check" || ie.Input < 100 || ie.Input >= 200 || ie.Input%2 != 1 {
					t.Errorf("error %v", ie)
				}
			}
			meterstest.Check(t, p)
		})
	}
}
