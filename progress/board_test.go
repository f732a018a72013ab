package progress

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// frames records each write of the board's output: with mpb, one write
// per frame.
type frames struct {
	mu sync.Mutex
	w  []string
}

func (f *frames) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.w = append(f.w, string(p))
	return len(p), nil
}

var cursorUp = regexp.MustCompile(`\r(\x1b\[\d+A)?\x1b\[J`)

// last returns the last frame without the cursor movements.
func (f *frames) last() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.w) == 0 {
		return ""
	}
	return cursorUp.ReplaceAllString(f.w[len(f.w)-1], "")
}

func (f *frames) all() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.w, "")
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// gate lets a test release the items of a map stage one by one.
type gate struct{ ch chan struct{} }

// countGated runs in ("in") through a one-worker map ("work") that lets
// each item through only when g releases it, into a count sent on res once
// the run has ended.
func countGated(p *pipeline.Pipeline, in <-chan int) (g *gate, res chan int) {
	g = newGate()
	src := stage.FromChan(p, in, stage.WithName("in"))
	sq := stage.Map(src, func(ctx context.Context, x int) (int, error) { return x, g.pass(ctx) },
		stage.WithName("work"), stage.WithWorkers(1))
	res = make(chan int, 1)
	go func() {
		n, _ := sink.Count(context.Background(), sq)
		res <- n
	}()
	return g, res
}

func newGate() *gate { return &gate{ch: make(chan struct{})} }

func (g *gate) pass(ctx context.Context) error {
	select {
	case <-g.ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gate) release(n int) {
	for range n {
		g.ch <- struct{}{}
	}
}

// tick sends a tick at the bubble's current time and waits for the frame.
func tick(ticks chan time.Time) {
	ticks <- time.Now()
	synctest.Wait()
}

func TestGoldenFrames(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out := &frames{}
		ticks := make(chan time.Time)
		board := New(WithOutput(out), WithTerminal(true), WithWidth(100), WithTicks(ticks), WithAllStages())
		p := pipeline.New(pipeline.WithObserver(board), pipeline.WithChunkSize(1))
		g := newGate()
		files := []string{"a.txt", "b.txt", "c.txt", "d.txt"}
		src := stage.FromSlice(p, files, stage.WithName("files"))
		sizes := stage.Map(src, func(ctx context.Context, f string) (int64, error) {
			if err := g.pass(ctx); err != nil {
				return 0, err
			}
			time.Sleep(time.Second)
			return 1 << 20, nil
		}, stage.WithName("read"), stage.WithWorkers(1)).
			Weigh(pipeline.Bytes, func(n int64) int64 { return n }).
			Describe(func(f string, _ int64) string { return "dir/" + f })
		res := make(chan error, 1)
		go func() {
			_, err := sink.ByInput(context.Background(), sizes, sink.WithName("collect"))
			res <- err
		}()
		synctest.Wait()
		tick(ticks)
		golden(t, "frame-start.txt", out.last())
		g.release(2)
		time.Sleep(time.Second) // the second item is in its sleep
		synctest.Wait()
		tick(ticks)
		golden(t, "frame-middle.txt", out.last())
		g.release(2)
		if err := <-res; err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		golden(t, "frame-end.txt", out.last())
	})
}

func TestGrowingTotals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ticks := make(chan time.Time)
		board := New(WithOutput(&bytes.Buffer{}), WithTerminal(false), WithTicks(ticks))
		p := pipeline.New(pipeline.WithObserver(board), pipeline.WithChunkSize(1))
		in := make(chan int, 10)
		g, res := countGated(p, in)
		for i := range 3 {
			in <- i
		}
		g.release(1)
		synctest.Wait()
		tick(ticks)
		// The worker took items 0 and 1 (chunks of one) and waits in item 1.
		v := board.views()
		if v[0].kind != totalUnknown || v[0].cur != 2 || v[0].counts != "2 items" {
			t.Errorf("source: %+v, want 2 items and no total", v[0])
		}
		if v[1].kind != totalGrowing || v[1].cur != 1 || v[1].total != 2 || v[1].counts != "1/2 items+" {
			t.Errorf("work: %+v, want 1 of a growing 2", v[1])
		}
		in <- 3
		close(in)
		g.release(1)
		synctest.Wait()
		tick(ticks)
		v = board.views()
		if v[1].kind != totalGrowing || v[1].total != 3 || v[1].cur != 2 {
			t.Errorf("work: %+v, want 2 of a growing 3", v[1])
		}
		g.release(2)
		if n := <-res; n != 4 {
			t.Fatalf("counted %d", n)
		}
		for _, s := range board.Summary() {
			if s.Status != Done || s.Amount() != 4 {
				t.Errorf("%s: %v with %d items, want done with 4", s.Name, s.Status, s.Amount())
			}
		}
	})
}

// views returns the last views of the run being observed.
func (b *Board) views() []view {
	b.mu.Lock()
	r := b.run
	b.mu.Unlock()
	var vs []view
	for _, t := range r.trackers {
		vs = append(vs, t.current())
	}
	return vs
}

func TestFilterShrinksTotals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ticks := make(chan time.Time)
		board := New(WithOutput(&bytes.Buffer{}), WithTerminal(false), WithTicks(ticks))
		p := pipeline.New(pipeline.WithObserver(board), pipeline.WithChunkSize(1))
		g := newGate()
		xs := make([]int, 10)
		for i := range xs {
			xs[i] = i
		}
		src := stage.FromSlice(p, xs)
		even := stage.Filter(src, func(x int) bool { return x%2 == 0 }, stage.WithName("even"), stage.WithWorkers(1))
		sq := stage.Map(even, func(ctx context.Context, x int) (int, error) { return x, g.pass(ctx) },
			stage.WithName("work"), stage.WithWorkers(1))
		res := make(chan int, 1)
		go func() {
			n, _ := sink.Count(context.Background(), sq)
			res <- n
		}()
		g.release(1)
		synctest.Wait()
		tick(ticks)
		v := board.views()
		if v[1].total != 10 || v[1].kind != totalFinal {
			t.Errorf("filter: %+v, want a final total of 10", v[1])
		}
		// While the filter runs, work expects what it kept so far; once it
		// has finished (the edge between them may hold all five), 5.
		switch v[2].kind {
		case totalGrowing:
			if v[2].total > 5 || v[2].total < 1 {
				t.Errorf("work: %+v, want a growing total of what the filter kept", v[2])
			}
		case totalFinal:
			if v[2].total != 5 {
				t.Errorf("work: %+v, want a final total of 5", v[2])
			}
		default:
			t.Errorf("work: %+v, want a known total", v[2])
		}
		g.release(4)
		if n := <-res; n != 5 {
			t.Fatalf("counted %d", n)
		}
		sum := board.Summary()
		for _, s := range sum {
			if s.Status != Done {
				t.Errorf("%s: %v", s.Name, s.Status)
			}
		}
		if sum[1].Counts.Dropped != 5 || sum[2].Amount() != 5 || sum[3].Amount() != 5 {
			t.Errorf("summary %+v", sum)
		}
	})
}

func TestAbortOnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out := &frames{}
		board := New(WithOutput(out), WithTerminal(true), WithWidth(100), WithAllStages())
		p := pipeline.New(pipeline.WithObserver(board), pipeline.WithChunkSize(1))
		xs := make([]int, 100)
		for i := range xs {
			xs[i] = i
		}
		boom := errors.New("boom")
		src := stage.FromSlice(p, xs, stage.WithName("src"))
		sq := stage.Map(src, func(ctx context.Context, x int) (int, error) {
			time.Sleep(10 * time.Millisecond)
			if x == 30 {
				return 0, boom
			}
			return x, nil
		}, stage.WithName("work"), stage.WithWorkers(2))
		_, err := sink.Slice(context.Background(), sq, sink.WithName("out"))
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
		sum := board.Summary()
		want := []Status{Stopped, Failed, Stopped}
		for i, s := range sum {
			if s.Status != want[i] {
				t.Errorf("%s: %v, want %v", s.Name, s.Status, want[i])
			}
		}
		frame := out.last()
		if !strings.Contains(frame, "failed") || !strings.Contains(frame, "stopped") {
			t.Errorf("last frame does not show the failure:\n%s", frame)
		}
	})
}

// Every way a run can end must end the board: Stop returns, no goroutine
// is left (goleak checks at the end of the package), nothing hangs (a hang
// inside a bubble is reported by synctest as a deadlock).
func TestNoHang(t *testing.T) {
	cases := []struct {
		name string
		run  func(p *pipeline.Pipeline, src *pipeline.Stream[int, int]) error
	}{
		{"error", func(p *pipeline.Pipeline, src *pipeline.Stream[int, int]) error {
			sq := stage.Map(src, func(_ context.Context, x int) (int, error) {
				if x == 5 {
					return 0, errors.New("bad item")
				}
				return x, nil
			})
			_, err := sink.Count(context.Background(), sq)
			return err
		}},
		{"panic", func(p *pipeline.Pipeline, src *pipeline.Stream[int, int]) error {
			sq := stage.Map(src, func(_ context.Context, x int) (int, error) {
				if x == 5 {
					panic("bad item")
				}
				return x, nil
			})
			_, err := sink.Count(context.Background(), sq)
			return err
		}},
		{"cancel", func(p *pipeline.Pipeline, src *pipeline.Stream[int, int]) error {
			ctx, cancel := context.WithCancel(context.Background())
			sq := stage.Map(src, func(ctx context.Context, x int) (int, error) {
				if x == 0 {
					cancel()
				}
				<-ctx.Done()
				return 0, ctx.Err()
			})
			_, err := sink.Count(ctx, sq)
			return err
		}},
		{"break", func(p *pipeline.Pipeline, src *pipeline.Stream[int, int]) error {
			sq := stage.Map(src, func(_ context.Context, x int) (int, error) { return x, nil })
			for range sink.All(context.Background(), sq) {
				break
			}
			return errors.New("stopped on purpose")
		}},
		{"consumer panic", func(p *pipeline.Pipeline, src *pipeline.Stream[int, int]) (err error) {
			sq := stage.Map(src, func(_ context.Context, x int) (int, error) { return x, nil })
			defer func() {
				if v := recover(); v != nil {
					err = fmt.Errorf("%v", v)
				}
			}()
			for range sink.All(context.Background(), sq) {
				panic("in the loop body")
			}
			return nil
		}},
		{"continue on error", func(p *pipeline.Pipeline, src *pipeline.Stream[int, int]) error {
			sq := stage.Map(src, func(_ context.Context, x int) (int, error) {
				if x%7 == 0 {
					return 0, errors.New("bad item")
				}
				return x, nil
			})
			_, err := sink.Count(context.Background(), sq)
			return err
		}},
	}
	for _, tc := range cases {
		for _, terminal := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/terminal=%v", tc.name, terminal), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					board := New(WithOutput(&frames{}), WithTerminal(terminal), WithRefresh(100*time.Millisecond))
					opts := []pipeline.Option{pipeline.WithObserver(board)}
					if tc.name == "continue on error" {
						opts = append(opts, pipeline.WithContinueOnError())
					}
					p := pipeline.New(opts...)
					xs := make([]int, 1000)
					for i := range xs {
						xs[i] = i
					}
					res := make(chan error, 1)
					go func() { res <- tc.run(p, stage.FromSlice(p, xs)) }()
					select {
					case err := <-res:
						if err == nil {
							t.Fatal("the run did not fail")
						}
					case <-time.After(time.Minute): // fake time: a hang, not a slow machine
						t.Fatal("the run hangs")
					}
					sum := board.Summary()
					if len(sum) != 3 {
						t.Fatalf("summary has %d stages", len(sum))
					}
					if sum[1].Status == Done {
						t.Errorf("the map is marked done: %+v", sum[1])
					}
				})
			})
		}
	}
}

func TestLines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out bytes.Buffer
		board := New(WithOutput(&out), WithLineInterval(time.Second), WithRefresh(100*time.Millisecond))
		p := pipeline.New(pipeline.WithObserver(board), pipeline.WithChunkSize(1))
		xs := []string{"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"}
		src := stage.FromSlice(p, xs, stage.WithName("words"))
		sq := stage.Map(src, func(_ context.Context, w string) (int, error) {
			time.Sleep(330 * time.Millisecond)
			return len(w), nil
		}, stage.WithName("measure"), stage.WithWorkers(1)).
			Weigh(pipeline.Rows, func(n int) int64 { return int64(n) }).
			Describe(func(w string, _ int) string { return "last " + w })
		log := board.Writer()
		fmt.Fprint(log, "started ")
		fmt.Fprintln(log, "measuring")
		if _, err := sink.Slice(context.Background(), sq); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out.String(), "\x1b") {
			t.Error("escape codes in line output")
		}
		golden(t, "lines.txt", out.String())
	})
}

func TestWriterAboveBars(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out := &frames{}
		ticks := make(chan time.Time)
		board := New(WithOutput(out), WithTerminal(true), WithWidth(80), WithTicks(ticks))
		p := pipeline.New(pipeline.WithObserver(board), pipeline.WithChunkSize(1))
		g := newGate()
		src := stage.FromSlice(p, []int{1, 2})
		sq := stage.Map(src, func(ctx context.Context, x int) (int, error) { return x, g.pass(ctx) }, stage.WithWorkers(1))
		res := make(chan error, 1)
		go func() {
			_, err := sink.Count(context.Background(), sq)
			res <- err
		}()
		synctest.Wait()
		tick(ticks)
		fmt.Fprintf(board.Writer(), "a log line\n")
		tick(ticks)
		frame := out.last()
		if !strings.HasPrefix(frame, "a log line\n") || !strings.Contains(frame, "map1") {
			t.Errorf("log line not above the bars:\n%q", frame)
		}
		g.release(2)
		if err := <-res; err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(board.Writer(), "after the run")
		if !strings.HasSuffix(out.all(), "after the run\n") {
			t.Errorf("log line after the run not written: %q", out.all())
		}
	})
}

func TestReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ticks := make(chan time.Time)
		board := New(WithOutput(&bytes.Buffer{}), WithTerminal(false), WithTicks(ticks), WithTotal("src", 3000))
		p := pipeline.New(pipeline.WithObserver(board), pipeline.WithChunkSize(1))
		g := newGate()
		blobs := []int{1000, 2000}
		src := stage.FromSlice(p, blobs, stage.WithName("src")).Weigh(pipeline.Bytes, func(n int) int64 { return int64(n) })
		sq := stage.Map(src, func(ctx context.Context, n int) (int, error) {
			r := Reader(ctx, bytes.NewReader(make([]byte, n)))
			buf := make([]byte, n/2)
			total := 0
			for {
				k, err := r.Read(buf)
				total += k
				if err != nil {
					break
				}
				if err := g.pass(ctx); err != nil {
					return 0, err
				}
			}
			return total, nil
		}, stage.WithName("read"), stage.WithWorkers(1), stage.WithUnit(pipeline.Bytes))
		res := make(chan int, 1)
		go func() {
			out, _ := sink.Reduce(context.Background(), sq, 0, func(a, b int) int { return a + b })
			res <- out
		}()
		synctest.Wait()
		tick(ticks)
		if v := board.views()[1]; v.cur != 500 || v.total != 3000 || !strings.Contains(v.counts, "0/2 items") {
			t.Errorf("read after half a blob: %+v", v)
		}
		g.release(2)
		synctest.Wait()
		tick(ticks)
		// The first blob is read, the second is half read.
		if v := board.views()[1]; v.cur != 2000 || v.percent != "66%" || !strings.Contains(v.counts, "1/2 items") {
			t.Errorf("read after half of the second blob: %+v", v)
		}
		g.release(2)
		if n := <-res; n != 3000 {
			t.Fatalf("read %d bytes", n)
		}
		if s := board.Summary()[1]; s.Counts.Weight != 3000 || s.Status != Done {
			t.Errorf("summary %+v", s)
		}
		// Outside a stage the reader only passes reads through.
		r := Reader(context.Background(), strings.NewReader("abc"))
		if b, _ := readAll(r); b != "abc" {
			t.Errorf("read %q", b)
		}
	})
}

func readAll(r interface{ Read([]byte) (int, error) }) (string, error) {
	var sb strings.Builder
	buf := make([]byte, 2)
	for {
		n, err := r.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			return sb.String(), nil
		}
	}
}

func TestStagesAndDeclaredTotal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out bytes.Buffer
		ticks := make(chan time.Time)
		board := New(WithOutput(&out), WithTerminal(false), WithTicks(ticks), WithLineInterval(time.Second),
			WithTotal("in", 4), WithStages(func(s *pipeline.Stage) bool { return s.Kind() != pipeline.KindSink }))
		p := pipeline.New(pipeline.WithObserver(board), pipeline.WithChunkSize(1))
		in := make(chan int, 4)
		g, res := countGated(p, in)
		in <- 1
		in <- 2
		g.release(1)
		synctest.Wait()
		time.Sleep(time.Second)
		tick(ticks)
		if v := board.views()[0]; v.kind != totalFinal || v.total != 4 || v.percent != "50%" {
			t.Errorf("source with a declared total: %+v", v)
		}
		in <- 3
		in <- 4
		close(in)
		g.release(3)
		<-res
		text := out.String()
		if !strings.Contains(text, "in    2/4 items  50%") || strings.Contains(text, "sink") {
			t.Errorf("lines:\n%s", text)
		}
		if len(board.Summary()) != 3 {
			t.Errorf("the summary lists every stage, shown or not")
		}
	})
}

// Under fail-fast, a stage after the failed one is stopped even when it
// consumed everything handed to it.
func TestFailFastStopsDownstream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		board := New(WithOutput(&bytes.Buffer{}), WithTerminal(false))
		p := pipeline.New(pipeline.WithObserver(board))
		src := stage.Generate(p, func(ctx context.Context, emit func(int) bool) error {
			for i := range 1000 {
				if !emit(i) {
					return nil
				}
			}
			return nil
		}, stage.WithName("gen"))
		sq := stage.Map(src, func(_ context.Context, x int) (int, error) {
			time.Sleep(time.Millisecond)
			if x == 10 {
				return 0, errors.New("bad")
			}
			return x, nil
		}, stage.WithName("work"), stage.WithWorkers(2))
		if _, err := sink.Count(context.Background(), sq, sink.WithName("count")); err == nil {
			t.Fatal("no error")
		}
		sum := board.Summary()
		if sum[1].Status != Failed || sum[2].Status != Stopped {
			t.Errorf("statuses %v %v %v, want work failed and count stopped", sum[0].Status, sum[1].Status, sum[2].Status)
		}
	})
}

// A stage that went through all its items, some of which failed (under
// continue-on-error), reads 100% at the end, not 99%: the percentage is
// held below 100 only while the stage runs.
func TestFailedStageThatFinishedReads100(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out := &frames{}
		board := New(WithOutput(out), WithTerminal(true), WithWidth(100))
		p := pipeline.New(pipeline.WithObserver(board), pipeline.WithContinueOnError())
		m := stage.Map(stage.FromSlice(p, []int{1, 2, 3, 4}), func(_ context.Context, x int) (int, error) {
			time.Sleep(time.Second)
			if x%2 == 0 {
				return 0, errors.New("even")
			}
			return x, nil
		}, stage.WithName("work"), stage.WithWorkers(1))
		if _, err := sink.Slice(context.Background(), m); err == nil {
			t.Fatal("no error from a run with failures")
		}
		synctest.Wait()
		last := ""
		for _, l := range strings.Split(out.last(), "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "work ") {
				last = l
			}
		}
		if !strings.Contains(last, " 100% ") || !strings.Contains(last, "2 failed") {
			t.Errorf("last frame of the stage = %q, want 100%% and 2 failed", last)
		}
	})
}
