package sink_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/flowbar/flowbar/internal/meterstest"
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

func TestRunRunsEverySinkOnce(t *testing.T) {
	for _, workers := range []int{1, 8} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			p := pipeline.New()
			// Two unrelated chains and a tee, all in one run.
			a := sink.Later(stage.Map(stage.FromSlice(p, []int{1, 2, 3}), square, stage.WithWorkers(workers)), sink.ByInput)
			words := stage.Tee(stage.FromSlice(p, []string{"a", "bb", "ccc"}), 3)
			n := sink.Later(words[0], sink.Count, sink.WithName("count"))
			all := sink.Later(words[1], sink.Slice)
			length := sink.LaterFunc(words[2], func(ctx context.Context, s *pipeline.Stream[string, string]) (int, error) {
				return sink.Reduce(ctx, s, 0, func(acc int, w string) int { return acc + len(w) })
			})
			if a.Done() || a.Value() != nil {
				t.Fatal("a result before Run")
			}
			if err := sink.Run(context.Background(), p); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(a.Value()) != "map[1:1 2:4 3:9]" || n.Value() != 3 || len(all.Value()) != 3 || length.Value() != 6 {
				t.Errorf("results %v %v %v %v", a.Value(), n.Value(), all.Value(), length.Value())
			}
			for _, d := range []bool{a.Done(), n.Done(), all.Done(), length.Done()} {
				if !d {
					t.Error("a sink did not run")
				}
			}
			names := ""
			for _, st := range p.Stages() {
				names += st.Name() + " "
			}
			// Sinks are built in the order given to Later.
			if want := "source0 square source2 tee/1 tee/2 tee/3 sink6 count sink8 sink9 "; names != want {
				t.Errorf("stages %q, want %q", names, want)
			}
			meterstest.Check(t, p)
		})
	}
}

func TestRunWithOneSinkIsLikeTheSink(t *testing.T) {
	p := pipeline.New(pipeline.WithContinueOnError())
	fails := func(_ context.Context, x int) (int, error) {
		if x == 2 {
			return 0, errors.New("two")
		}
		return x, nil
	}
	res := sink.Later(stage.Map(stage.FromSlice(p, []int{1, 2, 3}), fails), sink.ByInput)
	err := sink.Run(context.Background(), p)
	if ies := pipeline.ItemErrors[int](err); len(ies) != 1 || ies[0].Input != 2 || len(res.Value()) != 2 || res.Err() == nil {
		t.Errorf("Run returned %v, results %v", err, res.Value())
	}
	meterstest.Check(t, p)
}

func TestRunCancelledBeforeItStarts(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := pipeline.New()
	b := stage.Tee(stage.FromSlice(p, []int{1, 2, 3}), 2)
	x, y := sink.Later(b[0], sink.Count), sink.Later(b[1], sink.Count)
	if err := sink.Run(ctx, p); !errors.Is(err, context.Canceled) || !errors.Is(x.Err(), context.Canceled) || !errors.Is(y.Err(), context.Canceled) {
		t.Errorf("Run returned %v, sinks %v %v", err, x.Err(), y.Err())
	}
	meterstest.Check(t, p)
}

// A panic in the body of a range loop over one branch's results stops the
// run and goes on up Run's caller once every goroutine has exited.
func TestRunPanicThroughALoop(t *testing.T) {
	p := pipeline.New()
	b := stage.Tee(stage.FromSlice(p, ints(1000)), 2)
	sink.LaterFunc(b[0], func(ctx context.Context, s *pipeline.Stream[int, int]) (int, error) {
		for r := range sink.All(ctx, s) {
			if r.Value == 10 {
				panic("loop body")
			}
		}
		return 0, nil
	})
	other := sink.Later(b[1], sink.Count)
	defer func() {
		if v := recover(); v != "loop body" {
			t.Errorf("recovered %v, want the loop body's panic", v)
		}
		if !other.Done() {
			t.Error("the other sink did not return")
		}
		meterstest.Check(t, p)
	}()
	_ = sink.Run(context.Background(), p)
	t.Error("Run returned")
}

func TestRunMisuse(t *testing.T) {
	mustPanic := func(t *testing.T, want string, f func()) {
		t.Helper()
		defer func() {
			t.Helper()
			if v := recover(); v == nil || !strings.Contains(fmt.Sprint(v), want) {
				t.Errorf("panic %v, want one containing %q", v, want)
			}
		}()
		f()
	}
	t.Run("no sink", func(t *testing.T) {
		p := pipeline.New()
		stage.FromSlice(p, []int{1})
		mustPanic(t, "pipeline: Run: no sink", func() { _ = sink.Run(context.Background(), p) })
	})
	t.Run("nil pipeline", func(t *testing.T) {
		mustPanic(t, "sink: Run: the pipeline is nil", func() { _ = sink.Run(context.Background(), nil) })
	})
	t.Run("nil function", func(t *testing.T) {
		p := pipeline.New()
		s := stage.FromSlice(p, []int{1})
		mustPanic(t, "sink: LaterFunc: function is nil", func() { sink.LaterFunc[int, int, int](s, nil) })
		mustPanic(t, "sink: Later: function is nil", func() { sink.Later[int, int, int](s, nil) })
		mustPanic(t, "sink: LaterFunc: the stream is nil", func() { sink.Later[int, int](nil, sink.Count) })
	})
	t.Run("a function that consumes nothing", func(t *testing.T) {
		p := pipeline.New()
		b := stage.Tee(stage.FromSlice(p, []int{1}), 2)
		first := sink.Later(b[0], sink.Count)
		sink.LaterFunc(b[1], func(context.Context, *pipeline.Stream[int, int]) (int, error) { return 0, nil })
		mustPanic(t, "sink 2 of 2 returned without consuming its stream", func() { _ = sink.Run(context.Background(), p) })
		if err := first.Err(); err == nil || !strings.Contains(err.Error(), "nothing ran") {
			t.Errorf("the first sink returned %v, want the error saying nothing ran", err)
		}
	})
	t.Run("run twice", func(t *testing.T) {
		p := pipeline.New()
		sink.Later(stage.FromSlice(p, []int{1}), sink.Count)
		sink.Later(stage.FromSlice(p, []int{2}), sink.Count)
		if err := sink.Run(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		mustPanic(t, "already run", func() { _ = sink.Run(context.Background(), p) })
	})
	t.Run("a stream given to Later and to a sink", func(t *testing.T) {
		p := pipeline.New()
		s := stage.FromSlice(p, []int{1})
		sink.Later(s, sink.Count)
		mustPanic(t, "run them all with Run", func() { _, _ = sink.Count(context.Background(), s) })
	})
}

func ints(n int) []int {
	xs := make([]int, n)
	for i := range xs {
		xs[i] = i
	}
	return xs
}
