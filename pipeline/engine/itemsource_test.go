package engine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

var errOdd = errors.New("odd key")

// oddFails is an item source of n pairs (i, 10*i) whose odd keys fail at
// the source.
func oddFails(p *pipeline.Pipeline, n int) *pipeline.Stream[int, int] {
	return engine.ItemSource(p, engine.SourceSpec{Name: "src"}, func(_ context.Context, emit func(engine.Item[int, int]) bool) error {
		for i := range n {
			it := engine.Item[int, int]{Input: i, Value: 10 * i}
			if i%2 == 1 {
				it = engine.Item[int, int]{Input: i, Err: fmt.Errorf("%w %d", errOdd, i)}
			}
			if !emit(it) {
				return nil
			}
		}
		return nil
	})
}

func checkBalanced(t *testing.T, p *pipeline.Pipeline) {
	t.Helper()
	for _, st := range p.Stages() {
		if c := st.Counts(); !c.Balanced() {
			t.Errorf("stage %s: %+v", st.Name(), c)
		}
	}
}

func TestItemSourceFailuresUnderContinue(t *testing.T) {
	for _, w := range workerCounts {
		p := pipeline.New(pipeline.WithContinueOnError())
		got, err := sink.ByInput(context.Background(), stage.Map(oddFails(p, 1000), func(_ context.Context, v int) (int, error) { return v + 1, nil }, stage.WithWorkers(w)))
		ies := pipeline.ItemErrors[int](err)
		if len(got) != 500 || len(ies) != 500 {
			t.Fatalf("workers=%d: %d results, %d failures", w, len(got), len(ies))
		}
		for _, ie := range ies {
			if ie.Stage != "src" || ie.Input%2 != 1 || !errors.Is(ie, errOdd) {
				t.Errorf("failure %v", ie)
			}
		}
		if got[4] != 41 {
			t.Errorf("the value of key 4 is %d", got[4])
		}
		src := p.Stages()[0].Counts()
		if src.In != 1000 || src.Failed != 500 || src.Out != 500 || src.Emitted != 500 {
			t.Errorf("source counts %+v", src)
		}
		if c := p.Stages()[1].Counts(); c.In != 500 || c.Failed != 0 {
			t.Errorf("the map counted failures of the source: %+v", c)
		}
		checkBalanced(t, p)
	}
}

func TestItemSourceFailureStopsUnderFailFast(t *testing.T) {
	p := pipeline.New()
	got, err := sink.Slice(context.Background(), oddFails(p, 1000))
	var ie *pipeline.ItemError[int]
	if !errors.As(err, &ie) || ie.Input != 1 || ie.Stage != "src" {
		t.Fatalf("error %v, want item 1's", err)
	}
	if len(got) > 1 {
		t.Errorf("results after the failure: %v", got)
	}
	if c := p.Stages()[0].Counts(); c.Failed != 1 || c.In > 2 {
		t.Errorf("source counts %+v: the source should stop at the failure", c)
	}
	checkBalanced(t, p)
}

func TestItemSourceCancelledFailureCountsAsCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := pipeline.New(pipeline.WithContinueOnError())
	src := engine.ItemSource(p, engine.SourceSpec{}, func(ctx context.Context, emit func(engine.Item[int, int]) bool) error {
		emit(engine.Item[int, int]{Input: 1, Value: 1})
		cancel()
		<-ctx.Done()
		emit(engine.Item[int, int]{Input: 2, Err: ctx.Err()})
		return ctx.Err()
	})
	_, err := sink.Slice(ctx, src)
	if !errors.Is(err, context.Canceled) || len(pipeline.ItemErrors[int](err)) != 0 {
		t.Errorf("error %v, want only the cancellation", err)
	}
	checkBalanced(t, p)
}

func TestItemSourcePanicIsASourceError(t *testing.T) {
	p := pipeline.New()
	src := engine.ItemSource(p, engine.SourceSpec{Name: "src"}, func(context.Context, func(engine.Item[int, int]) bool) error {
		panic("no items")
	})
	_, err := sink.Count(context.Background(), src)
	var pe *pipeline.PanicError
	if !errors.As(err, &pe) || pe.Value != "no items" {
		t.Errorf("error %v", err)
	}
}

func TestSetTotalWhileRunning(t *testing.T) {
	p := pipeline.New()
	var during [2]int64
	var final [2]bool
	var weightTotal int64
	checked := make(chan struct{})
	src := engine.ItemSource(p, engine.SourceSpec{Unit: engine.Bytes}, func(ctx context.Context, emit func(engine.Item[int, int]) bool) error {
		engine.SetTotal(ctx, 5)
		engine.SetWeightTotal(ctx, 500)
		engine.SetTotal(ctx, -1) // ignored
		for i := range 4 {       // one fewer than declared
			if !emit(engine.Item[int, int]{Input: i, Value: i}) {
				return nil
			}
		}
		<-checked // still running while the map looks
		return nil
	})
	st := p.Stages()[0]
	mapped := stage.Map(src, func(ctx context.Context, v int) (int, error) {
		if v == 0 {
			during[0], final[0] = st.Total()
			n, _ := engine.StageOf(ctx).Total()
			during[1], final[1] = n, true
			weightTotal, _ = st.WeightTotal()
			engine.SetTotal(ctx, 99) // not a source: ignored
			close(checked)
		}
		return v, nil
	}, stage.WithWorkers(1))
	if _, err := sink.Count(context.Background(), mapped); err != nil {
		t.Fatal(err)
	}
	if during != [2]int64{5, 5} || !final[0] || weightTotal != 500 {
		t.Errorf("while running: totals %v final %v, weight total %d; want 5 and 500", during, final, weightTotal)
	}
	if n, f := st.Total(); n != 4 || !f {
		t.Errorf("once finished: %d, %v; want what it emitted, 4", n, f)
	}
	if n, f := p.Stages()[1].Total(); n != 4 || !f {
		t.Errorf("the map's total once finished: %d, %v", n, f)
	}
}

func TestPairSource(t *testing.T) {
	for _, w := range workerCounts {
		p := pipeline.New()
		keys := []string{"a", "b", "c"}
		src := engine.PairSource(p, engine.SourceSpec{}, keys, []int{1, 2, 3})
		got, err := sink.Slice(context.Background(), stage.OrderedMap(src, func(_ context.Context, v int) (int, error) { return v * 2, nil }, stage.WithWorkers(w)))
		if err != nil || !slices.Equal(got, []int{2, 4, 6}) {
			t.Errorf("workers=%d: %v, %v", w, got, err)
		}
		checkBalanced(t, p)
	}
	defer func() {
		if v, _ := recover().(string); v != `pipeline: source "": 1 keys for 2 values` {
			t.Errorf("panic %q", v)
		}
	}()
	engine.PairSource(pipeline.New(), engine.SourceSpec{}, []int{1}, []int{1, 2})
}
