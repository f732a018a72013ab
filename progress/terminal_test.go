package progress

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowbar/flowbar/internal/termtest"
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// These tests draw bars on a pseudo-terminal, as a person running a
// program sees them, and read back the final screen. Ticks are sent by the
// test, so that frames come when the test says; the bars are drawn by mpb's
// goroutines on a real terminal.

// runOnTerminal runs a generator source ("read") of n items, which emits
// item i when the test has sent i ticks, into a one-worker map ("work"),
// into a ForEach sink that calls each; it returns once the run has ended.
func runOnTerminal(t *testing.T, board *Board, ticks chan time.Time, n int, each func(i int)) {
	runBetweenTicks(t, board, ticks, n, each, nil)
}

// runBetweenTicks is runOnTerminal calling between(k) before the k-th
// tick, when the source has emitted k items: the bars are still running.
func runBetweenTicks(t *testing.T, board *Board, ticks chan time.Time, n int, each, between func(k int)) {
	t.Helper()
	p := pipeline.New(pipeline.WithObserver(board), pipeline.WithChunkSize(1))
	g := newGate()
	src := stage.Generate(p, func(ctx context.Context, emit func(int) bool) error {
		for i := range n {
			if g.pass(ctx) != nil || !emit(i) {
				return nil
			}
		}
		return nil
	}, stage.WithName("read"))
	work := stage.Map(src, func(ctx context.Context, x int) (int, error) { return x, nil },
		stage.WithName("work"), stage.WithWorkers(1)).
		Describe(func(x, _ int) string { return fmt.Sprintf("item %d", x) })
	res := make(chan error, 1)
	go func() {
		res <- sink.ForEach(context.Background(), work, func(_, v int) error {
			if each != nil {
				each(v)
			}
			return nil
		}, sink.WithName("print"))
	}()
	for k := range n {
		if between != nil {
			between(k)
		}
		ticks <- time.Now()
		g.release(1)
	}
	if err := <-res; err != nil {
		t.Fatal(err)
	}
}

// lastFrame returns the last n lines of the screen.
func lastFrame(s *termtest.Screen, n int) []string {
	lines := s.Lines()
	return lines[max(len(lines)-n, 0):]
}

func TestTerminalFinalScreen(t *testing.T) {
	for _, size := range []struct{ cols, rows int }{{120, 30}, {60, 20}, {0, 0}} {
		t.Run(fmt.Sprintf("%dx%d", size.cols, size.rows), func(t *testing.T) {
			term := termtest.Open(t, size.cols, size.rows)
			ticks := make(chan time.Time)
			board := New(WithOutput(term.TTY), WithTicks(ticks))
			runOnTerminal(t, board, ticks, 20, nil)
			term.Close()
			if len(term.Raw()) == 0 {
				t.Fatal("nothing was written to the terminal")
			}
			width := size.cols
			if width == 0 {
				width = FallbackWidth
			}
			s := term.Screen()
			termtest.CheckClean(t, s, width)
			// The generator and the map carry information; the sink only
			// repeats the map.
			lines := s.Lines()
			if len(lines) != 2 || !strings.HasPrefix(lines[0], "read ") || !strings.HasPrefix(lines[1], "work ") {
				t.Fatalf("final screen is not the two bars:\n%s", s)
			}
			for _, l := range lines {
				if !strings.Contains(l, "20/20 items") || !strings.Contains(l, "done") {
					t.Errorf("bar not done: %q", l)
				}
			}
			if size.cols >= 100 && !strings.Contains(lines[1], "item 19") {
				t.Errorf("no description on a wide terminal: %q", lines[1])
			}
		})
	}
}

// A program's results printed through the board while bars run on the
// same terminal (stdout and stderr both on it, as two descriptors) are
// each on the screen once, whole, in order, above the bars.
func TestResultsAboveBarsOnTheSameTerminal(t *testing.T) {
	term := termtest.Open(t, 100, 30)
	stdout, err := os.OpenFile(term.TTY.Name(), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	ticks := make(chan time.Time)
	board := New(WithOutput(term.TTY), WithTicks(ticks))
	out := board.Through(stdout)
	var want []string
	runOnTerminal(t, board, ticks, 30, func(i int) {
		// Written in pieces, as fmt and loggers may do.
		fmt.Fprintf(out, "result %d", i)
		fmt.Fprintf(out, " = %d\n", i*i)
		want = append(want, fmt.Sprintf("result %d = %d", i, i*i))
	})
	_ = stdout.Close()
	term.Close()
	s := term.Screen()
	termtest.CheckClean(t, s, 100)
	lines := s.Lines()
	if len(lines) != len(want)+2 {
		t.Fatalf("%d lines, want %d results and 2 bars:\n%s", len(lines), len(want), s)
	}
	if !slices.Equal(lines[:len(want)], want) {
		t.Errorf("results not intact above the bars:\n%s", s)
	}
	if !strings.HasPrefix(lines[len(want)], "read ") || !strings.HasPrefix(lines[len(want)+1], "work ") {
		t.Errorf("bars not at the bottom:\n%s", s)
	}
}

// The terminal echoes "^C" where the cursor is, after the last frame. The
// next frame must still start at the first column.
func TestEchoAfterAFrameDoesNotShiftTheNext(t *testing.T) {
	term := termtest.Open(t, 80, 24)
	ticks := make(chan time.Time)
	board := New(WithOutput(term.TTY), WithTicks(ticks))
	echoed := false
	runBetweenTicks(t, board, ticks, 5, nil, func(k int) {
		if k == 3 {
			term.WaitFor(t, time.Minute, "a frame", func(s string) bool { return strings.Contains(s, "work") })
			_, _ = term.TTY.WriteString("^C")
			echoed = true
		}
	})
	term.Close()
	if !echoed {
		t.Fatal("no echo written")
	}
	s := term.Screen()
	termtest.CheckClean(t, s, 80)
	lines := s.Lines()
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "read ") {
		t.Errorf("final frame is not clean:\n%s\nraw: %q", s, term.Raw())
	}
}

// After the terminal is resized, the next frames fit the new width.
func TestResizedTerminal(t *testing.T) {
	term := termtest.Open(t, 120, 30)
	ticks := make(chan time.Time)
	board := New(WithOutput(term.TTY), WithTicks(ticks))
	runBetweenTicks(t, board, ticks, 10, nil, func(k int) {
		if k == 4 {
			term.WaitFor(t, time.Minute, "a frame", func(s string) bool { return strings.Contains(s, "work") })
			term.Resize(t, 60, 30)
		}
	})
	term.Close()
	for _, l := range lastFrame(term.Screen(), 2) {
		if w := len([]rune(l)); w >= 60 {
			t.Errorf("a line of %d columns after resizing to 60: %q", w, l)
		}
		if !strings.Contains(l, "done") {
			t.Errorf("bar not done: %q", l)
		}
	}
}

// The columns stay where they are from frame to frame while the figures
// grow, so the bar does not change width.
func TestStableColumns(t *testing.T) {
	out := &frames{}
	ticks := make(chan time.Time)
	board := New(WithOutput(out), WithTerminal(true), WithWidth(100), WithTicks(ticks))
	p := pipeline.New(pipeline.WithObserver(board), pipeline.WithChunkSize(1))
	g := newGate()
	xs := make([]int, 150)
	work := stage.Map(stage.FromSlice(p, xs), func(ctx context.Context, x int) (int, error) { return x, g.pass(ctx) },
		stage.WithName("work"), stage.WithWorkers(1)).
		Weigh(pipeline.Bytes, func(int) int64 { return 3000 })
	res := make(chan error, 1)
	go func() {
		_, err := sink.Count(context.Background(), work)
		res <- err
	}()
	for range len(xs) {
		ticks <- time.Now()
		g.release(1)
	}
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	ends := map[int]int{}
	for _, f := range out.w {
		f = cursorUp.ReplaceAllString(f, "")
		for _, l := range strings.Split(strings.TrimSuffix(f, "\n"), "\n") {
			if strings.HasPrefix(l, "work ") {
				ends[strings.Index(l, "]")]++
			}
		}
	}
	if len(ends) != 1 {
		t.Errorf("the bar of work ends at columns %v (column: frames) over the run, want one", ends)
	}
}

// Lines printed after every bar has finished, while the sink still runs,
// are printed above the bars too, not after the last frame.
func TestResultsAfterTheBarsFinished(t *testing.T) {
	term := termtest.Open(t, 80, 24)
	ticks := make(chan time.Time)
	board := New(WithOutput(term.TTY), WithTicks(ticks))
	out := board.Through(term.TTY)
	p := pipeline.New(pipeline.WithObserver(board))
	g := newGate()
	work := stage.Map(stage.FromSlice(p, []int{1, 2, 3}), func(ctx context.Context, x int) (int, error) { return x, g.pass(ctx) },
		stage.WithName("work"), stage.WithWorkers(1))
	unblock := make(chan struct{})
	res := make(chan error, 1)
	go func() {
		res <- sink.ForEach(context.Background(), work, func(x, _ int) error {
			<-unblock
			fmt.Fprintf(out, "result %d\n", x)
			return nil
		})
	}()
	ticks <- time.Now() // the first frame, with the bar running
	g.release(3)
	for done := false; !done; {
		ticks <- time.Now()
		done = board.views()[1].status == Done
	}
	ticks <- time.Now() // frames of the finished bar
	ticks <- time.Now()
	close(unblock)
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	term.Close()
	s := term.Screen()
	lines := s.Lines()
	if len(lines) != 4 || !strings.HasPrefix(lines[3], "work ") {
		t.Fatalf("want 3 results above the bar:\n%s", s)

	}
}
