package main

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/flowbar/flowbar/internal/termtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// tqdm(range(10)) draws one bar, and so does its port: the slice source
// and the sink carry nothing the map's bar does not show.
func TestOneBar(t *testing.T) {
	exe := termtest.Build(t, ".")
	term := termtest.Start(t, exec.Command(exe, "-n", "6", "-unit", "10ms"), 80, 24)
	if code := term.Wait(t, time.Minute); code != 0 {
		t.Fatalf("exit status %d:\n%s", code, term.Screen())
	}
	s := term.Screen()
	termtest.CheckClean(t, s, 80)
	lines := s.Lines()
	want := []string{"0: 0", "1: 1", "2: 4", "3: 9", "4: 16", "5: 25"}
	if len(lines) != 7 || !strings.HasPrefix(lines[0], "long_computation [") || !strings.Contains(lines[0], "6/6 items") || !strings.Contains(lines[0], "done") {
		t.Fatalf("want one finished bar and the results:\n%s", s)
	}
	if got := strings.Join(lines[1:], "\n"); got != strings.Join(want, "\n") {
		t.Errorf("results:\n%s", got)
	}
}

// Ctrl-C keeps the results computed so far and exits with 130.
func TestCtrlCKeepsResults(t *testing.T) {
	exe := termtest.Build(t, ".")
	term := termtest.Start(t, exec.Command(exe, "-n", "100", "-unit", "20ms"), 80, 24)
	term.WaitFor(t, time.Minute, "a few items done", func(s string) bool {
		// The bar is redrawn on a timer: look for any count from 4 on.
		for _, f := range strings.Fields(s) {
			var n int
			if _, err := fmt.Sscanf(f, "%d/100", &n); err == nil && n >= 4 {
				return true
			}
		}
		return false
	})
	term.Press(t, "\x03")
	if code := term.Wait(t, time.Minute); code != 130 {
		t.Fatalf("exit status %d, want 130:\n%s", code, term.Screen())
	}
	s := term.Screen()
	termtest.CheckClean(t, s, 80)
	lines := s.Lines()
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "long_computation [") || !strings.Contains(lines[0], "/100 items") || !strings.Contains(lines[0], "stopped") {
		t.Fatalf("want the stopped bar first:\n%s", s)
	}
	last := lines[len(lines)-1]
	var n, of int
	if _, err := fmt.Sscanf(last, "interrupted: %d of %d results", &n, &of); err != nil || of != 100 || n < 4 || len(lines) != n+2 {
		t.Errorf("summary %q with %d result lines:\n%s", last, len(lines)-2, s)
	}
}
