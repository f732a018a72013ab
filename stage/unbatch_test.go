package stage_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/flowbar/flowbar/internal/meterstest"
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// tenTimes is a map over whole batches, as a bulk lookup is.
func tenTimes(_ context.Context, xs []int) ([]int, error) {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = 10 * x
	}
	return out, nil
}

func TestUnbatchPairsInputsAndValues(t *testing.T) {
	for _, workers := range []int{1, 8} {
		for _, size := range []int{1, 7, 64} {
			t.Run(fmt.Sprintf("workers=%d/size=%d", workers, size), func(t *testing.T) {
				const n = 1000
				p := pipeline.New()
				batches := stage.Batch(stage.FromSlice(p, ints(n)), size, 0)
				batches = stage.Map(batches, tenTimes, stage.WithWorkers(workers))
				s := stage.Unbatch(batches, stage.WithWorkers(workers), stage.WithName("unbatch"))
				got, err := collect(context.Background(), s)
				if err != nil {
					t.Fatal(err)
				}
				if workers == 1 {
					for i, g := range got {
						if g.in != i {
							t.Fatalf("result %d is for input %d: one worker keeps the order", i, g.in)
						}
					}
				}
				m := map[int]int{}
				for _, g := range got {
					m[g.in] = g.v
				}
				if len(m) != n || len(got) != n {
					t.Fatalf("%d results for %d inputs, want %d", len(got), len(m), n)
				}
				for x, v := range m {
					if v != 10*x {
						t.Errorf("input %d: %d", x, v)
					}
				}
				meterstest.Check(t, p)
				for _, st := range p.Stages()[1:] {
					if c := st.Counts(); c.In != n || c.Out != n || c.Emitted != n {
						t.Errorf("stage %s counts %+v, want %d items", st.Name(), c, n)
					}
				}
			})
		}
	}
}

// A batch whose values are not as many as its inputs fails each input:
// under continue-on-error with one error per input, under fail-fast with
// the batch's error.
func TestUnbatchLengthMismatch(t *testing.T) {
	short := func(_ context.Context, xs []int) ([]int, error) {
		if slices.Contains(xs, 4) {
			return xs[:len(xs)-1], nil
		}
		if slices.Contains(xs, 7) {
			return append(slices.Clone(xs), 0), nil
		}
		return xs, nil
	}
	const wantMsg = "stage: Unbatch: a batch of 3 inputs has 2 values"
	for _, workers := range []int{1, 8} {
		t.Run(fmt.Sprintf("continue/workers=%d", workers), func(t *testing.T) {
			p := pipeline.New(pipeline.WithContinueOnError())
			batches := stage.Map(stage.Batch(stage.FromSlice(p, ints(12)), 3, 0), short, stage.WithWorkers(workers))
			m, err := sink.ByInput(context.Background(), stage.Unbatch(batches, stage.WithWorkers(workers), stage.WithName("unbatch")))
			failed := map[int]string{}
			for _, ie := range pipeline.ItemErrors[int](err) {
				if ie.Stage != "unbatch" {
					t.Errorf("input %d failed at %q", ie.Input, ie.Stage)
				}
				failed[ie.Input] = ie.Err.Error()
			}
			want := map[int]string{3: wantMsg, 4: wantMsg, 5: wantMsg,
				6: "stage: Unbatch: a batch of 3 inputs has 4 values", 7: "stage: Unbatch: a batch of 3 inputs has 4 values", 8: "stage: Unbatch: a batch of 3 inputs has 4 values"}
			if fmt.Sprint(failed) != fmt.Sprint(want) {
				t.Errorf("failures %v, want %v", failed, want)
			}
			if len(m) != 6 {
				t.Errorf("results %v, want 6", m)
			}
			meterstest.Check(t, p)
			if c := p.Stages()[3].Counts(); c.Failed != 6 || c.Out != 6 {
				t.Errorf("unbatch counts %+v, want 6 failed and 6 out", c)
			}
		})
		t.Run(fmt.Sprintf("fail-fast/workers=%d", workers), func(t *testing.T) {
			p := pipeline.New()
			batches := stage.Map(stage.Batch(stage.FromSlice(p, []int{3, 4, 5}), 3, 0), short, stage.WithWorkers(workers))
			_, err := sink.ByInput(context.Background(), stage.Unbatch(batches, stage.WithWorkers(workers), stage.WithName("unbatch")))
			ie, ok := err.(*pipeline.ItemError[[]int])
			if !ok || !slices.Equal(ie.Input, []int{3, 4, 5}) || ie.Stage != "unbatch" || ie.Err.Error() != wantMsg {
				t.Fatalf("error %#v, want the batch's", err)
			}
			if got := err.Error(); got != `pipeline: stage "unbatch": item [3 4 5]: `+wantMsg {
				t.Errorf("message %q", got)
			}
			meterstest.Check(t, p)
		})
	}
}

// The failure of a batch in a map over batches becomes one failure per
// input; failures from before the batch pass through as they are.
func TestUnbatchSplitsFailures(t *testing.T) {
	errOdd, errBatch := errors.New("odd"), errors.New("bad batch")
	for _, workers := range []int{1, 8} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			p := pipeline.New(pipeline.WithContinueOnError())
			s := stage.Map(stage.FromSlice(p, ints(20)), func(_ context.Context, x int) (int, error) {
				if x == 1 || x == 13 {
					return 0, errOdd
				}
				return x, nil
			}, stage.WithWorkers(1), stage.WithName("check"))
			batches := stage.Map(stage.Batch(s, 4, 0), func(ctx context.Context, xs []int) ([]int, error) {
				if slices.Contains(xs, 10) {
					return nil, errBatch
				}
				return tenTimes(ctx, xs)
			}, stage.WithWorkers(workers), stage.WithName("lookup"))
			m, err := sink.ByInput(context.Background(), stage.Unbatch(batches, stage.WithWorkers(workers)))
			failed := map[int]string{}
			for _, ie := range pipeline.ItemErrors[int](err) {
				if _, dup := failed[ie.Input]; dup {
					t.Errorf("input %d failed twice", ie.Input)
				}
				failed[ie.Input] = ie.Stage + ": " + ie.Err.Error()
			}
			// The batches: [0 2 3 4] [5 6 7 8] [9 10 11 12] [14 ...].
			want := map[int]string{1: "check: odd", 13: "check: odd",
				9: "lookup: bad batch", 10: "lookup: bad batch", 11: "lookup: bad batch", 12: "lookup: bad batch"}
			if fmt.Sprint(failed) != fmt.Sprint(want) {
				t.Errorf("failures %v, want %v", failed, want)
			}
			if len(m) != 14 || m[19] != 190 {
				t.Errorf("results %v", m)
			}
			meterstest.Check(t, p)
			if c := p.Stages()[3].Counts(); c.Failed != 4 || c.In != 18 {
				t.Errorf("lookup counts %+v, want 18 in, 4 failed", c)
			}
		})
	}
}
