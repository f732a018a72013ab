package stage_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/flowbar/flowbar/internal/meterstest"
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

var errLookup = errors.New("lookup failed")

// evenOr is a predicate that keeps even numbers, fails x%10 == 3 and
// panics on x%10 == 7; it checks that it receives the stage's context.
func evenOr(ctx context.Context, x int) (bool, error) {
	if engine.StageOf(ctx) == nil {
		return false, errors.New("not the stage's context")
	}
	switch x % 10 {
	case 3:
		return false, fmt.Errorf("%d: %w", x, errLookup)
	case 7:
		panic(fmt.Sprintf("boom %d", x))
	}
	return x%2 == 0, nil
}

func TestFilterErr(t *testing.T) {
	for _, ordered := range []bool{false, true} {
		for _, workers := range []int{1, 8} {
			t.Run(fmt.Sprintf("ordered=%v/workers=%d", ordered, workers), func(t *testing.T) {
				const n = 1000
				p := pipeline.New(pipeline.WithContinueOnError())
				filter := stage.FilterErr[int, int]
				if ordered {
					filter = stage.OrderedFilterErr[int, int]
				}
				s := filter(stage.FromSlice(p, ints(n)), evenOr, stage.WithName("even"), stage.WithWorkers(workers))
				got, err := sink.Slice(context.Background(), s)
				var want []int
				var failed []int
				for x := range n {
					switch {
					case x%10 == 3 || x%10 == 7:
						failed = append(failed, x)
					case x%2 == 0:
						want = append(want, x)
					}
				}
				if !ordered && workers > 1 {
					slices.Sort(got)
				}
				if !slices.Equal(got, want) {
					t.Errorf("kept %d items, want %d (in order: %v)", len(got), len(want), ordered || workers == 1)
				}
				ies := pipeline.ItemErrors[int](err)
				var inputs []int
				for _, ie := range ies {
					inputs = append(inputs, ie.Input)
					var pe *pipeline.PanicError
					switch {
					case ie.Input%10 == 3 && (!errors.Is(ie, errLookup) || ie.Error() != fmt.Sprintf(`pipeline: stage "even": item %d: %d: lookup failed`, ie.Input, ie.Input)):
						t.Errorf("item %d: error %v", ie.Input, ie)
					case ie.Input%10 == 7 && !errors.As(ie, &pe):
						t.Errorf("item %d: error %v, want a panic", ie.Input, ie)
					}
				}
				slices.Sort(inputs)
				if !slices.Equal(inputs, failed) {
					t.Errorf("%d items failed, want %d", len(inputs), len(failed))
				}
				c := p.Stages()[1].Counts()
				if c.Out != int64(len(want)) || c.Failed != int64(len(failed)) || c.Dropped != int64(n-len(want)-len(failed)) {
					t.Errorf("counts %+v", c)
				}
				meterstest.Check(t, p)
			})
		}
	}
}

// Under fail-fast the predicate's first error stops the run and is the
// sink's error.
func TestFilterErrFailFast(t *testing.T) {
	for _, workers := range []int{1, 8} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			p := pipeline.New()
			s := stage.FilterErr(stage.FromSlice(p, ints(10000)), func(_ context.Context, x int) (bool, error) {
				if x == 500 {
					return false, errLookup
				}
				return true, nil
			}, stage.WithWorkers(workers))
			_, err := sink.Slice(context.Background(), s)
			var ie *pipeline.ItemError[int]
			if !errors.As(err, &ie) || ie.Input != 500 || !errors.Is(err, errLookup) {
				t.Fatalf("error %v, want item 500's", err)
			}
			meterstest.Check(t, p)
		})
	}
}

// FilterErr takes the options that wrap its predicate.
func TestFilterErrRetry(t *testing.T) {
	a := newAttempts()
	p := pipeline.New()
	s := stage.FilterErr(stage.FromSlice(p, ints(20)), func(_ context.Context, x int) (bool, error) {
		if a.call(x) == 1 && x%2 == 1 {
			return false, errLookup
		}
		return x%4 != 0, nil
	}, stage.WithWorkers(3), stage.WithRetry(2, nil), stage.WithBackoff(1, 1))
	got, err := sink.Slice(context.Background(), s)
	if err != nil || len(got) != 15 {
		t.Fatalf("kept %v, %v", got, err)
	}
	if c := p.Stages()[1].Counts(); c.Retries != 10 || c.Dropped != 5 {
		t.Errorf("counts %+v: want 10 retries, 5 dropped", c)
	}
	meterstest.Check(t, p)
}

func TestFilterErrNil(t *testing.T) {
	defer func() {
		if v := recover(); !strings.HasPrefix(fmt.Sprint(v), "stage: FilterErr: function is nil") {
			t.Errorf("panic %v", v)
		}
	}()
	stage.FilterErr[int, int](stage.FromSlice(pipeline.New(), ints(1)), nil)
}
