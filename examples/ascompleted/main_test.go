package main

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/flowbar/flowbar/internal/termtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The program prints each result as it completes while its bar runs, on a
// terminal that is both its stdout and its stderr: every result is on the
// screen once, whole, above the bar.
func TestResultsAboveTheBar(t *testing.T) {
	exe := termtest.Build(t, ".")
	for _, cols := range []int{120, 60} {
		t.Run(fmt.Sprint(cols), func(t *testing.T) {
			term := termtest.Start(t, exec.Command(exe, "-n", "12", "-unit", "40ms"), cols, 30)
			if code := term.Wait(t, time.Minute); code != 0 {
				t.Fatalf("exit status %d; screen:\n%s", code, term.Screen())
			}
			s := term.Screen()
			termtest.CheckClean(t, s, cols)
			lines := s.Lines()
			if len(lines) != 13 {
				t.Fatalf("%d lines, want 12 results and a bar:\n%s", len(lines), s)
			}
			var want []string
			for i := range 12 {
				want = append(want, fmt.Sprintf("%d: %d", i, i*i))
			}
			got := slices.Sorted(slices.Values(lines[:12]))
			if slices.Sort(want); !slices.Equal(got, want) {
				t.Errorf("results %q, want %q", got, want)
			}
			if bar := lines[12]; !strings.HasPrefix(bar, "long_computation [") || !strings.Contains(bar, "12/12 items") || !strings.Contains(bar, "done") {
				t.Errorf("last line is not the finished bar: %q", bar)
			}
		})
	}
}

// Ctrl-C typed on the terminal stops the run: the bar ends "stopped", the
// results so far stay, a summary line follows, the exit status is 130, and
// the echoed ^C does not break the last frame.
func TestCtrlC(t *testing.T) {
	exe := termtest.Build(t, ".")
	term := termtest.Start(t, exec.Command(exe, "-n", "40", "-unit", "200ms"), 80, 40)
	term.WaitFor(t, time.Minute, "two results", func(s string) bool { return strings.Contains(s, "1: 1") })
	term.Press(t, "\x03")
	if code := term.Wait(t, time.Minute); code != 130 {
		t.Fatalf("exit status %d, want 130; screen:\n%s", code, term.Screen())
	}
	s := term.Screen()
	termtest.CheckClean(t, s, 80)
	lines := s.Lines()
	i := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, "long_computation") })
	if i < 2 || i != len(lines)-2 {
		t.Fatalf("the bar is not after the results and before the summary:\n%s", s)
	}
	if bar := lines[i]; !strings.HasPrefix(bar, "long_computation [") || !strings.Contains(bar, "/40 items") || !strings.Contains(bar, "stopped") {
		t.Errorf("bar %q, want it stopped, of 40, starting at the first column", bar)
	}
	if !strings.HasPrefix(lines[i+1], "interrupted: ") || !strings.HasSuffix(lines[i+1], " of 40 results") {
		t.Errorf("no summary after the bar: %q", lines[i+1])
	}
}
