package termtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// FallbackWidth is the width of the screen that shows a terminal of 0×0.
const FallbackWidth = 80

// Term is a pseudo-terminal: programs write to its terminal side (TTY, or
// the standard streams of a command started with [Start]) and the test
// reads everything written, as raw bytes or as a [Screen].
type Term struct {
	pty  *os.File // the controlling side, read by the test
	TTY  *os.File // the terminal side; nil for a started command
	cmd  *exec.Cmd
	done chan struct{} // closed when reading has ended

	mu      sync.Mutex
	raw     bytes.Buffer
	resizes []resize
	changed chan struct{} // closed and replaced on every read
}

type resize struct {
	at    int // offset in raw
	width int
}

// Open returns a pseudo-terminal of cols×rows (0×0 is a terminal that
// reports no size) for use in the test's own process.
func Open(t testing.TB, cols, rows int) *Term {
	t.Helper()
	p, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("termtest: open a pseudo-terminal: %v", err)
	}
	if err := pty.Setsize(p, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)}); err != nil {
		t.Fatalf("termtest: set the size: %v", err)
	}
	term := newTerm(p, cols)
	term.TTY = tty
	t.Cleanup(func() {
		_ = tty.Close()
		<-term.done
		_ = p.Close()
	})
	return term
}

// Start runs cmd with its standard input, output and error on a new
// pseudo-terminal of cols×rows, as the controlling terminal of a new
// session, as a shell would: keys typed with [Term.Press] reach it
// (Ctrl-C sends it SIGINT).
func Start(t testing.TB, cmd *exec.Cmd, cols, rows int) *Term {
	t.Helper()
	p, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)})
	if err != nil {
		t.Fatalf("termtest: start %s: %v", cmd.Path, err)
	}
	term := newTerm(p, cols)
	term.cmd = cmd
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		<-term.done
		_ = p.Close()
	})
	return term
}

// newTerm reads p; a terminal with no size is shown on a screen of
// [FallbackWidth] columns.
func newTerm(p *os.File, cols int) *Term {
	if cols == 0 {
		cols = FallbackWidth
	}
	t := &Term{pty: p, done: make(chan struct{}), changed: make(chan struct{})}
	t.resizes = []resize{{0, cols}}
	go t.read()
	return t
}

// read copies everything written to the terminal until its terminal side
// is closed by every process (the read then fails with EIO).
func (t *Term) read() {
	defer close(t.done)
	buf := make([]byte, 32<<10)
	for {
		n, err := t.pty.Read(buf)
		t.mu.Lock()
		t.raw.Write(buf[:n])
		close(t.changed)
		t.changed = make(chan struct{})
		t.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// Raw returns every byte written to the terminal so far.
func (t *Term) Raw() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return bytes.Clone(t.raw.Bytes())
}

// Screen returns the screen as the bytes written so far leave it, with the
// resizes made by [Term.Resize] applied where they happened.
func (t *Term) Screen() *Screen {
	t.mu.Lock()
	defer t.mu.Unlock()
	raw := t.raw.Bytes()
	s := NewScreen(t.resizes[0].width)
	for i, r := range t.resizes {
		s.Resize(r.width)
		end := len(raw)
		if i+1 < len(t.resizes) {
			end = t.resizes[i+1].at
		}
		_, _ = s.Write(raw[r.at:end])
	}
	return s
}

// Resize changes the terminal's size, as resizing its window does.
func (t *Term) Resize(tb testing.TB, cols, rows int) {
	tb.Helper()
	t.mu.Lock()
	t.resizes = append(t.resizes, resize{t.raw.Len(), cols})
	t.mu.Unlock()
	if err := pty.Setsize(t.pty, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)}); err != nil {
		tb.Fatalf("termtest: resize: %v", err)
	}
	if t.cmd != nil {
		_ = t.cmd.Process.Signal(syscall.SIGWINCH)
	}
}

// Press types keys on the terminal: "\x03" is Ctrl-C.
func (t *Term) Press(tb testing.TB, keys string) {
	tb.Helper()
	if _, err := t.pty.Write([]byte(keys)); err != nil {
		tb.Fatalf("termtest: type %q: %v", keys, err)
	}
}

// WaitFor waits until cond holds for the screen, failing the test with the
// screen if it does not within timeout: a bound for a hang, not a measure
// of speed.
func (t *Term) WaitFor(tb testing.TB, timeout time.Duration, what string, cond func(screen string) bool) {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		t.mu.Lock()
		changed := t.changed
		t.mu.Unlock()
		if cond(t.Screen().String()) {
			return
		}
		select {
		case <-changed:
		case <-t.done:
			if !cond(t.Screen().String()) {
				tb.Fatalf("termtest: the terminal closed before %s; screen:\n%s", what, t.Screen())
			}
			return
		case <-deadline.C:
			tb.Fatalf("termtest: no %s within %v; screen:\n%s", what, timeout, t.Screen())
		}
	}
}

// Wait waits for the started command to exit and for its last output,
// and returns its exit status (-1 if a signal killed it).
func (t *Term) Wait(tb testing.TB, timeout time.Duration) int {
	tb.Helper()
	exited := make(chan error, 1)
	go func() { exited <- t.cmd.Wait() }()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	select {
	case err := <-exited:
		<-t.done
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			tb.Fatalf("termtest: %v", err)
		}
		return t.cmd.ProcessState.ExitCode()
	case <-deadline.C:
		_ = t.cmd.Process.Kill()
		<-exited
		tb.Fatalf("termtest: the command did not exit within %v; screen:\n%s", timeout, t.Screen())
		return 0
	}
}

// Close closes the terminal side opened by [Open] and waits until every
// byte written to it has been read.
func (t *Term) Close() {
	_ = t.TTY.Close()
	<-t.done
}

// Build compiles the main package pkg (an import path or a directory) into
// a temporary directory and returns the executable's path.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("termtest: the go command is needed to build %s: %v", pkg, err)
	}
	exe := filepath.Join(t.TempDir(), "prog")
	out, err := exec.Command(gobin, "build", "-o", exe, pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("termtest: go build %s: %v\n%s", pkg, err, out)
	}
	return exe
}

// CheckClean fails the test if the screen shows signs of a broken frame:
// lines that wrapped, escape sequences left uninterpreted, or lines
// longer than the screen.
func CheckClean(t testing.TB, s *Screen, width int) {
	t.Helper()
	if s.Wraps > 0 {
		t.Errorf("%d lines wrapped at %d columns:\n%s", s.Wraps, width, s)
	}
	if len(s.Unknown) > 0 {
		t.Errorf("escape sequences not understood: %s", strings.Join(s.Unknown, " "))
	}
	for _, l := range s.Lines() {
		if w := len([]rune(l)); w >= width {
			t.Errorf("a line of %d columns on a screen of %d: %q", w, width, l)
		}
	}
}

// String describes the terminal for failure messages.
func (t *Term) String() string { return fmt.Sprintf("terminal %s", t.pty.Name()) }
