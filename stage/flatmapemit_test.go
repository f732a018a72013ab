package stage_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/flowbar/flowbar/internal/meterstest"
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// copiesEmit is copies through emit.
func copiesEmit(_ context.Context, x int, emit func(int) bool) error {
	for j := range x % 4 {
		if !emit(10*x + j) {
			return nil
		}
	}
	return nil
}

// copiesSeq is copies as an iterator.
func copiesSeq(_ context.Context, x int) iter.Seq2[int, error] {
	return func(yield func(int, error) bool) {
		for j := range x % 4 {
			if !yield(10*x+j, nil) {
				return
			}
		}
	}
}

// streamingFlatMaps are the two streaming variants over the same function
// of an emit: each builds the stage from in.
var streamingFlatMaps = []struct {
	name  string
	build func(in *pipeline.Stream[int, int], fn func(context.Context, int, func(int) bool) error, opts ...stage.Option) *pipeline.Stream[int, int]
}{
	{"emit", stage.FlatMapEmit[int, int, int]},
	{"seq", func(in *pipeline.Stream[int, int], fn func(context.Context, int, func(int) bool) error, opts ...stage.Option) *pipeline.Stream[int, int] {
		return stage.FlatMapSeq(in, func(ctx context.Context, x int) iter.Seq2[int, error] {
			return func(yield func(int, error) bool) {
				err := fn(ctx, x, func(v int) bool { return yield(v, nil) })
				if err != nil {
					yield(0, err)
				}
			}
		}, opts...)
	}},
}

func TestFlatMapEmitOutputs(t *testing.T) {
	for _, variant := range streamingFlatMaps {
		for _, workers := range []int{1, 8} {
			t.Run(fmt.Sprintf("%s/workers=%d", variant.name, workers), func(t *testing.T) {
				const n = 2000
				p := pipeline.New()
				s := variant.build(stage.FromSlice(p, ints(n)), copiesEmit, stage.WithWorkers(workers), stage.WithName("expand"))
				got, err := collect(context.Background(), s)
				if err != nil {
					t.Fatal(err)
				}
				byInput := map[int][]int{}
				for i, g := range got {
					byInput[g.in] = append(byInput[g.in], g.v)
					if workers == 1 && i > 0 && g.v < got[i-1].v {
						t.Fatalf("one worker: result %d after %d", g.v, got[i-1].v)
					}
				}
				var dropped, handed, outputs int64
				for x := range n {
					want, _ := copies(context.Background(), x)
					if !slices.Equal(byInput[x], want) {
						t.Fatalf("input %d: outputs %v, want %v in emit order", x, byInput[x], want)
					}
					if len(want) == 0 {
						dropped++
					} else {
						handed++
					}
					outputs += int64(len(want))
				}
				meterstest.Check(t, p)
				c := p.Stages()[1].Counts()
				if c.In != n || c.Out != handed || c.Dropped != dropped || c.Emitted != outputs {
					t.Errorf("counts %+v; want In %d, Out %d, Dropped %d, Emitted %d", c, n, handed, dropped, outputs)
				}
				if total, final := p.Stages()[2].Total(); total != outputs || !final {
					t.Errorf("sink total %d, %v; want %d, true", total, final, outputs)
				}
			})
		}
	}
}

// The outputs of one item reach the sink while the function is still
// emitting: an expansion that only ends once the sink has seen an output of
// it would never end if the outputs were held until the function returned.
func TestFlatMapEmitStreams(t *testing.T) {
	for _, variant := range streamingFlatMaps {
		t.Run(variant.name, func(t *testing.T) {
			const limit = 10_000_000 // far more than the edges hold
			var seen atomic.Int64
			p := pipeline.New()
			s := variant.build(stage.FromSlice(p, []int{7}), func(_ context.Context, x int, emit func(int) bool) error {
				for i := 0; seen.Load() < 3; i++ {
					if i == limit {
						return fmt.Errorf("%d outputs emitted and none reached the sink", i)
					}
					emit(i)
				}
				return nil
			}, stage.WithWorkers(1))
			n := 0
			err := sink.ForEach(context.Background(), s, func(in, v int) error {
				if in != 7 || v != n {
					return fmt.Errorf("output %d is %d of input %d", n, v, in)
				}
				n++
				seen.Add(1)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			meterstest.Check(t, p)
			if c := p.Stages()[1].Counts(); c.In != 1 || c.Out != 1 || c.Emitted != int64(n) {
				t.Errorf("counts %+v, want one item in %d outputs", c, n)
			}
		})
	}
}

// An endless expansion ends when the run is cancelled: emit returns false,
// the iterator is stopped, and the item counts as cancelled.
func TestFlatMapEmitCancelledMidExpansion(t *testing.T) {
	for _, variant := range streamingFlatMaps {
		for _, how := range []string{"stop", "cancel"} {
			t.Run(variant.name+"/"+how, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var refused atomic.Int64
				p := pipeline.New()
				s := variant.build(stage.FromSlice(p, []int{1, 2}), func(_ context.Context, x int, emit func(int) bool) error {
					for i := 0; ; i++ {
						if !emit(i) {
							refused.Add(1)
							return nil
						}
					}
				}, stage.WithWorkers(2))
				n := 0
				err := sink.ForEach(ctx, s, func(in, v int) error {
					if n++; n == 100 {
						if how == "stop" {
							return pipeline.ErrStop
						}
						cancel()
					}
					return nil
				})
				if how == "stop" && err != nil || how == "cancel" && !errors.Is(err, context.Canceled) {
					t.Fatalf("error %v", err)
				}
				if refused.Load() == 0 {
					t.Error("emit never returned false")
				}
				meterstest.Check(t, p)
				if c := p.Stages()[1].Counts(); c.In+c.Cancelled == 0 || c.Out != 0 || c.Cancelled != c.In {
					t.Errorf("counts %+v, want every item taken in cancelled", c)
				}
			})
		}
	}
}

// Breaking out of FlatMapSeq's iterator once the run is cancelled runs the
// iterator's clean-up.
func TestFlatMapSeqStopsIterator(t *testing.T) {
	var cleaned atomic.Bool
	p := pipeline.New()
	s := stage.FlatMapSeq(stage.FromSlice(p, []int{1}), func(_ context.Context, x int) iter.Seq2[int, error] {
		return func(yield func(int, error) bool) {
			defer cleaned.Store(true)
			for i := 0; ; i++ {
				if !yield(i, nil) {
					return
				}
			}
		}
	})
	n := 0
	err := sink.ForEach(context.Background(), s, func(int, int) error {
		if n++; n == 50 {
			return pipeline.ErrStop
		}
		return nil
	})
	if err != nil || n != 50 {
		t.Fatalf("%d results, error %v", n, err)
	}
	if !cleaned.Load() {
		t.Error("the iterator did not return")
	}
	meterstest.Check(t, p)
}

// An error or panic fails the item; the outputs emitted before it have been
// handed on and stay so.
func TestFlatMapEmitFailures(t *testing.T) {
	errBad := errors.New("bad")
	fn := func(_ context.Context, x int, emit func(int) bool) error {
		switch x % 10 {
		case 3:
			emit(10 * x)
			emit(10*x + 1)
			return errBad
		case 5:
			return errBad
		case 7:
			emit(10 * x)
			panic(fmt.Sprintf("boom %d", x))
		}
		return copiesEmit(context.Background(), x, emit)
	}
	for _, variant := range streamingFlatMaps {
		for _, workers := range []int{1, 8} {
			t.Run(fmt.Sprintf("%s/continue/workers=%d", variant.name, workers), func(t *testing.T) {
				const n = 500
				p := pipeline.New(pipeline.WithContinueOnError())
				got, err := collect(context.Background(), variant.build(stage.FromSlice(p, ints(n)), fn, stage.WithWorkers(workers), stage.WithName("expand")))
				failed := map[int]error{}
				for _, ie := range pipeline.ItemErrors[int](err) {
					if ie.Stage != "expand" {
						t.Errorf("error of input %d names stage %q", ie.Input, ie.Stage)
					}
					failed[ie.Input] = ie.Err
				}
				byInput := map[int][]int{}
				for _, g := range got {
					byInput[g.in] = append(byInput[g.in], g.v)
				}
				var nFailed, handed, dropped, outputs int
				for x := range n {
					e := failed[x]
					var want []int
					var pe *pipeline.PanicError
					switch x % 10 {
					case 3:
						want = []int{10 * x, 10*x + 1} // handed on before the error
						if !errors.Is(e, errBad) {
							t.Errorf("input %d: error %v, want %v", x, e, errBad)
						}
						nFailed++
					case 5:
						if !errors.Is(e, errBad) {
							t.Errorf("input %d: error %v, want %v", x, e, errBad)
						}
						nFailed++
					case 7:
						want = []int{10 * x}
						if !errors.As(e, &pe) || pe.Value != fmt.Sprintf("boom %d", x) || len(pe.Stack) == 0 {
							t.Errorf("input %d: error %v, want its panic with a stack", x, e)
						}
						if e == nil {
							t.Errorf("input %d did not fail", x)
						}
						nFailed++
					default:
						want, _ = copies(context.Background(), x)
						if e != nil {
							t.Errorf("input %d failed: %v", x, e)
						}
						if len(want) == 0 {
							dropped++
						} else {
							handed++
						}
					}
					outputs += len(want)
					if !slices.Equal(byInput[x], want) {
						t.Errorf("input %d: outputs %v, want %v", x, byInput[x], want)
					}
				}
				meterstest.Check(t, p)
				if c := p.Stages()[1].Counts(); c.Failed != int64(nFailed) || c.Out != int64(handed) || c.Dropped != int64(dropped) || c.Emitted != int64(outputs) {
					t.Errorf("counts %+v, want %d failed, %d out, %d dropped, %d emitted", c, nFailed, handed, dropped, outputs)
				}
			})
			t.Run(fmt.Sprintf("%s/fail-fast/workers=%d", variant.name, workers), func(t *testing.T) {
				p := pipeline.New()
				_, err := collect(context.Background(), variant.build(stage.FromSlice(p, ints(500)), fn, stage.WithWorkers(workers)))
				var ie *pipeline.ItemError[int]
				if !errors.As(err, &ie) || err != error(ie) || ie.Input%10 != 3 && ie.Input%10 != 5 && ie.Input%10 != 7 {
					t.Fatalf("error %v, want the first failure", err)
				}
				meterstest.Check(t, p)
			})
		}
	}
}

// An error inside FlatMapSeq's sequence fails the item and ends the
// iteration: the value paired with it is not handed on.
func TestFlatMapSeqError(t *testing.T) {
	errBad := errors.New("bad")
	var after atomic.Bool
	p := pipeline.New(pipeline.WithContinueOnError())
	s := stage.FlatMapSeq(stage.FromSlice(p, []int{1, 2}), func(_ context.Context, x int) iter.Seq2[int, error] {
		return func(yield func(int, error) bool) {
			if !yield(10*x, nil) {
				return
			}
			if x == 2 && !yield(-1, errBad) {
				return
			}
			after.Store(true)
			yield(10*x+1, nil)
		}
	}, stage.WithWorkers(1))
	got, err := collect(context.Background(), s)
	ies := pipeline.ItemErrors[int](err)
	if len(ies) != 1 || ies[0].Input != 2 || !errors.Is(ies[0], errBad) {
		t.Fatalf("errors %v", err)
	}
	want := []sinkPair[int]{{1, 10}, {1, 11}, {2, 20}}
	if !slices.Equal(got, want) { // 20 is handed on before the error
		t.Errorf("results %v, want %v", got, want)
	}
	if !after.Load() {
		t.Error("item 1 was not iterated to its end")
	}
	meterstest.Check(t, p)
}

func TestFlatMapEmitMisuse(t *testing.T) {
	tests := []struct {
		name  string
		build func()
		want  string
	}{
		{"FlatMapEmit nil", func() { stage.FlatMapEmit[int, int, int](stage.FromSlice(pipeline.New(), ints(3)), nil) }, "stage: FlatMapEmit: function is nil"},
		{"FlatMapSeq nil", func() { stage.FlatMapSeq[int, int, int](stage.FromSlice(pipeline.New(), ints(3)), nil) }, "stage: FlatMapSeq: function is nil"},
		{"FlatMapEmit window", func() {
			stage.FlatMapEmit(stage.FromSlice(pipeline.New(), ints(3)), copiesEmit, stage.WithWindow(2))
		}, "stage: FlatMapEmit does not take WithWindow (it takes WithName, WithWorkers, WithUnit)"},
		{"FlatMapSeq window", func() {
			stage.FlatMapSeq(stage.FromSlice(pipeline.New(), ints(3)), copiesSeq, stage.WithWindow(2))
		}, "stage: FlatMapSeq does not take WithWindow (it takes WithName, WithWorkers, WithUnit)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := panicMessage(tt.build); got != tt.want {
				t.Errorf("panic %q, want %q", got, tt.want)
			}
		})
	}
}

// panicMessage returns what f panics with, as a string, or "" if it does not.
func panicMessage(f func()) (msg string) {
	defer func() {
		if v := recover(); v != nil {
			msg = fmt.Sprint(v)
		}
	}()
	f()
	return ""
}

// A stage built from a named function is named after it.
func TestFlatMapEmitNamedAfterFunction(t *testing.T) {
	p := pipeline.New()
	stage.FlatMapSeq(stage.FlatMapEmit(stage.FromSlice(p, ints(3)), copiesEmit), copiesSeq)
	var names []string
	for _, st := range p.Stages() {
		names = append(names, st.Name())
	}
	if got := strings.Join(names[1:], ","); got != "copiesEmit,copiesSeq" {
		t.Errorf("stages %v", names)
	}
}
