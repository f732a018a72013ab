package progress

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// A stage weighted in bytes whose byte total nobody knows still has a
// bar, a percentage and a time left, from its items when their total is
// known: "download [====>-----] 219/500 items 11.3 MiB 43% ...".
func TestWeightWithoutTotalUsesItems(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ticks := make(chan time.Time)
		board := New(WithOutput(&bytes.Buffer{}), WithTerminal(false), WithTicks(ticks))
		p := pipeline.New(pipeline.WithObserver(board), pipeline.WithChunkSize(1))
		g := newGate()
		urls := make([]string, 10)
		dl := stage.Map(stage.FromSlice(p, urls), func(ctx context.Context, u string) (int, error) {
			if err := g.pass(ctx); err != nil {
				return 0, err
			}
			time.Sleep(time.Second)
			return 1 << 20, nil
		}, stage.WithName("download"), stage.WithWorkers(1)).Weigh(pipeline.Bytes, func(n int) int64 { return int64(n) })
		res := make(chan error, 1)
		go func() {
			_, err := sink.Count(context.Background(), dl)
			res <- err
		}()
		for range 4 {
			g.release(1)
			time.Sleep(time.Second)
			synctest.Wait()
			tick(ticks)
		}
		v := board.views()[1]
		if !v.fracOK || v.frac < 0.3 || v.frac > 0.4 {
			t.Errorf("download: fraction %v (known %v), want 3 or 4 of 10 items", v.frac, v.fracOK)
		}
		if !strings.HasPrefix(v.counts, " 3/10 items") && !strings.HasPrefix(v.counts, " 4/10 items") || !strings.Contains(v.counts, "MiB") {
			t.Errorf("download counts %q, want items of 10 and bytes", v.counts)
		}
		if v.percent == "" || !strings.HasPrefix(v.eta, "eta ") {
			t.Errorf("download: percent %q, eta %q; want both", v.percent, v.eta)
		}
		g.release(6)
		if err := <-res; err != nil {
			t.Fatal(err)
		}
	})
}

// A stage whose total still grows, behind a slow source with a declared
// total, does not read as nearly done: its fraction is scaled by the
// source's, marked as an estimate, and its time left is at least the
// source's.
func TestGrowingTotalIsNotNearlyDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ticks := make(chan time.Time)
		board := New(WithOutput(&bytes.Buffer{}), WithTerminal(false), WithTicks(ticks), WithTotal("rows", 100))
		p := pipeline.New(pipeline.WithObserver(board), pipeline.WithChunkSize(1))
		src := stage.Generate(p, func(ctx context.Context, emit func(int) bool) error {
			for i := range 100 {
				time.Sleep(100 * time.Millisecond) // a slow reader
				if !emit(i) {
					return nil
				}
			}
			return nil
		}, stage.WithName("rows"))
		parsed := stage.Map(src, func(_ context.Context, x int) (int, error) { return x, nil }, stage.WithName("parse"))
		res := make(chan error, 1)
		go func() {
			_, err := sink.Count(context.Background(), parsed)
			res <- err
		}()
		for range 5 {
			time.Sleep(time.Second)
			synctest.Wait()
			tick(ticks)
		}
		v := board.views()
		src0, parse := v[0], v[1]
		if parse.kind != totalGrowing {
			t.Fatalf("parse: total kind %v, want growing", parse.kind)
		}
		if parse.frac > src0.frac+0.01 || parse.frac < 0.4 || parse.frac > 0.6 {
			t.Errorf("parse at %.2f with the source at %.2f; want about half, not more than the source", parse.frac, src0.frac)
		}
		if !strings.HasPrefix(parse.percent, "~") {
			t.Errorf("parse percent %q, want an estimate", parse.percent)
		}
		if !src0.leftOK || !parse.leftOK || parse.left < src0.left {
			t.Errorf("parse eta %v (%q) before the source's %v (%q)", parse.left, parse.eta, src0.left, src0.eta)
		}
		if err := <-res; err != nil {
			t.Fatal(err)
		}
	})
}

// By default only the stages that carry information get a bar: here the
// map; the slice source is done at once and the sink repeats the map.
// WithAllStages shows all three; a sink whose upstream has no bar does the
// work and gets one.
func TestDefaultStages(t *testing.T) {
	run := func(t *testing.T, opts []Option, build func(p *pipeline.Pipeline) error) string {
		var out bytes.Buffer
		board := New(append([]Option{WithOutput(&out), WithTerminal(false)}, opts...)...)
		p := pipeline.New(pipeline.WithObserver(board))
		if err := build(p); err != nil {
			t.Fatal(err)
		}
		if len(board.Summary()) == 0 {
			t.Fatal("no summary")
		}
		return out.String()
	}
	oneMap := func(p *pipeline.Pipeline) error {
		sq := stage.Map(stage.FromSlice(p, []int{1, 2, 3}, stage.WithName("range")),
			func(_ context.Context, x int) (int, error) { return x * x, nil }, stage.WithName("square"))
		_, err := sink.ByInput(context.Background(), sq, sink.WithName("results"))
		return err
	}
	synctest.Test(t, func(t *testing.T) {
		if got := run(t, nil, oneMap); got != "square: done, 3 items, 0 failed in 0ms (0.0 items/s)\n" {
			t.Errorf("default:\n%s", got)
		}
		got := run(t, []Option{WithAllStages()}, oneMap)
		for _, name := range []string{"range:", "square:", "results:"} {
			if !strings.Contains(got, name) {
				t.Errorf("WithAllStages: no %s line:\n%s", name, got)
			}
		}
		got = run(t, nil, func(p *pipeline.Pipeline) error {
			return sink.ForEach(context.Background(), stage.FromSlice(p, []int{1, 2}), func(int, int) error { return nil }, sink.WithName("each"))
		})
		if !strings.HasPrefix(got, "each: done") || strings.Count(got, "\n") != 1 {
			t.Errorf("a sink doing the work:\n%s", got)
		}
	})
}

// A total declared for a stage the pipeline does not have is a typo: the
// run panics when it starts, naming the stages it has.
func TestWithTotalUnknownStage(t *testing.T) {
	board := New(WithOutput(&bytes.Buffer{}), WithTotal("compue", 10))
	p := pipeline.New(pipeline.WithObserver(board))
	sq := stage.Map(stage.FromSlice(p, []int{1}), func(_ context.Context, x int) (int, error) { return x, nil }, stage.WithName("compute"))
	defer func() {
		msg := fmt.Sprint(recover())
		want := `progress: WithTotal: no stage named "compue"; the stages are "source0", "compute", "sink2"`
		if msg != want {
			t.Errorf("panic %q, want %q", msg, want)
		}
	}()
	_, _ = sink.Count(context.Background(), sq)
}

// A summary's time is the stage's, measured, not rounded up to the next
// refresh: a stage done in 20ms reads 20ms, not 150ms.
func TestSummaryTimesAreMeasured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		board := New(WithOutput(&bytes.Buffer{}), WithTerminal(false))
		p := pipeline.New(pipeline.WithObserver(board))
		src := stage.Generate(p, func(ctx context.Context, emit func(int) bool) error {
			time.Sleep(20 * time.Millisecond)
			emit(1)
			return nil
		}, stage.WithName("quick"))
		slow := stage.Map(src, func(_ context.Context, x int) (int, error) {
			time.Sleep(2 * time.Second)
			return x, nil
		}, stage.WithName("slow"))
		if _, err := sink.Count(context.Background(), slow); err != nil {
			t.Fatal(err)
		}
		sum := board.Summary()
		if el := sum[0].Elapsed; el < 20*time.Millisecond || el > 21*time.Millisecond {
			t.Errorf("quick: %v, want 20ms", el)
		}
		if el := sum[1].Elapsed; el < 2020*time.Millisecond || el > 2050*time.Millisecond {
			t.Errorf("slow: %v, want 2.02s", el)
		}
	})
}

// Through writes straight to a writer the bars are not drawn on.
func TestThroughAnotherWriter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bars, results := &frames{}, &bytes.Buffer{}
		ticks := make(chan time.Time)
		board := New(WithOutput(bars), WithTerminal(true), WithTicks(ticks))
		w := board.Through(results)
		same := board.Through(bars)
		p := pipeline.New(pipeline.WithObserver(board))
		err := sink.ForEach(context.Background(), stage.FromSlice(p, []int{1, 2}), func(x, _ int) error {
			fmt.Fprintf(w, "r%d ", x) // no newline: not held, it is not the bars' writer
			fmt.Fprintf(same, "line %d\n", x)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if results.String() != "r1 r2 " {
			t.Errorf("results %q", results.String())
		}
		if all := bars.all(); strings.Contains(all, "r1") || !strings.Contains(all, "line 1\n") || !strings.Contains(all, "line 2\n") {
			t.Errorf("bars' output %q", all)
		}
	})
}
