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

// copies is a flat-map function: x becomes x%4 outputs, 10*x+j for j < x%4,
// so that every output names its input and its place.
func copies(_ context.Context, x int) ([]int, error) {
	out := make([]int, x%4)
	for j := range out {
		out[j] = 10*x + j
	}
	return out, nil
}

// collect runs the pipeline into a slice of results with their inputs, in
// arrival order.
func collect[T any](ctx context.Context, s *pipeline.Stream[int, T]) ([]sinkPair[T], error) {
	var got []sinkPair[T]
	err := sink.ForEach(ctx, s, func(in int, v T) error {
		got = append(got, sinkPair[T]{in, v})
		return nil
	})
	return got, err
}

// sinkPair is one result with its pipeline input.
type sinkPair[T any] struct {
	in int
	v  T
}

func TestFlatMapOutputs(t *testing.T) {
	tests := []struct {
		name string
		fn   func(context.Context, int) ([]int, error)
		// outs is what the model makes of x.
		outs func(x int) []int
	}{
		{"none", func(context.Context, int) ([]int, error) { return nil, nil }, func(int) []int { return nil }},
		{"one", func(_ context.Context, x int) ([]int, error) { return []int{10 * x}, nil }, func(x int) []int { return []int{10 * x} }},
		{"zero to three", copies, func(x int) []int { out, _ := copies(context.Background(), x); return out }},
	}
	for _, tt := range tests {
		for _, workers := range []int{1, 8} {
			t.Run(fmt.Sprintf("%s/workers=%d", tt.name, workers), func(t *testing.T) {
				const n = 2000
				p := pipeline.New()
				s := stage.FlatMap(stage.FromSlice(p, ints(n)), tt.fn, stage.WithWorkers(workers))
				got, err := collect(context.Background(), s)
				if err != nil {
					t.Fatal(err)
				}
				var want []sinkPair[int]
				var dropped, handed int64
				for x := range n {
					outs := tt.outs(x)
					if len(outs) == 0 {
						dropped++
					} else {
						handed++
					}
					for _, v := range outs {
						want = append(want, sinkPair[int]{x, v})
					}
				}
				if workers > 1 {
					// Completion order across items; each item's outputs
					// keep the slice's order.
					byInput := map[int][]int{}
					for _, g := range got {
						byInput[g.in] = append(byInput[g.in], g.v)
					}
					for x := range n {
						if w := tt.outs(x); !slices.Equal(byInput[x], w) {
							t.Fatalf("input %d: outputs %v, want %v", x, byInput[x], w)
						}
					}
					slices.SortFunc(got, func(a, b sinkPair[int]) int { return a.v - b.v })
				}
				if !slices.Equal(got, want) {
					t.Fatalf("got %d results, want %d", len(got), len(want))
				}
				meterstest.Check(t, p)
				c := p.Stages()[1].Counts()
				if c.In != n || c.Out != handed || c.Dropped != dropped || c.Emitted != int64(len(want)) {
					t.Errorf("counts %+v; want In %d, Out %d, Dropped %d, Emitted %d", c, n, handed, dropped, len(want))
				}
				if total, final := p.Stages()[2].Total(); total != int64(len(want)) || !final {
					t.Errorf("sink total %d, %v; want %d, true", total, final, len(want))
				}
			})
		}
	}
}

func TestFlatMapFailures(t *testing.T) {
	errBad := errors.New("bad")
	fn := func(_ context.Context, x int) ([]int, error) {
		switch x % 10 {
		case 3:
			return []int{1, 2}, errBad // outputs with an error are not handed on
		case 7:
			panic(fmt.Sprintf("boom %d", x))
		}
		return copies(context.Background(), x)
	}
	for _, workers := range []int{1, 8} {
		t.Run(fmt.Sprintf("continue/workers=%d", workers), func(t *testing.T) {
			const n = 500
			p := pipeline.New(pipeline.WithContinueOnError())
			got, err := collect(context.Background(), stage.FlatMap(stage.FromSlice(p, ints(n)), fn, stage.WithWorkers(workers), stage.WithName("expand")))
			failed := map[int]error{}
			for _, ie := range pipeline.ItemErrors[int](err) {
				if ie.Stage != "expand" {
					t.Errorf("error of input %d names stage %q", ie.Input, ie.Stage)
				}
				failed[ie.Input] = ie.Err
			}
			var outputs int
			for x := range n {
				e := failed[x]
				var pe *pipeline.PanicError
				switch x % 10 {
				case 3:
					if !errors.Is(e, errBad) {
						t.Errorf("input %d: error %v, want %v", x, e, errBad)
					}
				case 7:
					if !errors.As(e, &pe) || pe.Value != fmt.Sprintf("boom %d", x) || len(pe.Stack) == 0 {
						t.Errorf("input %d: error %v, want its panic with a stack", x, e)
					}
				default:
					if e != nil {
						t.Errorf("input %d failed: %v", x, e)
					}
					outputs += x % 4
				}
			}
			if len(failed) != n/10*2 || len(got) != outputs {
				t.Errorf("%d failures and %d results, want %d and %d", len(failed), len(got), n/10*2, outputs)
			}
			for _, g := range got {
				if g.v/10 != g.in || failed[g.in] != nil {
					t.Errorf("result %d carries input %d", g.v, g.in)
				}
			}
			meterstest.Check(t, p)
			if c := p.Stages()[1].Counts(); c.Failed != int64(len(failed)) {
				t.Errorf("counts %+v, want %d failed", c, len(failed))
			}
		})
		t.Run(fmt.Sprintf("fail-fast/workers=%d", workers), func(t *testing.T) {
			p := pipeline.New()
			_, err := collect(context.Background(), stage.FlatMap(stage.FromSlice(p, ints(500)), fn, stage.WithWorkers(workers)))
			var ie *pipeline.ItemError[int]
			if !errors.As(err, &ie) || err != error(ie) || ie.Input%10 != 3 && ie.Input%10 != 7 {
				t.Fatalf("error %v, want the first failure", err)
			}
			meterstest.Check(t, p)
		})
	}
}
