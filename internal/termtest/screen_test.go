package termtest

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestScreen(t *testing.T) {
	cases := []struct {
		name  string
		in    []string // written one after the other
		want  string
		wraps int
	}{
		{"text", []string{"hello\r\nworld\r\n"}, "hello\nworld", 0},
		{"line feed only moves down", []string{"ab\ncd"}, "ab\n  cd", 0},
		{"redraw in place", []string{"a 10%\r\nb 20%\r\n", "\r\x1b[2A\x1b[Ja 50%\r\nb 60%\r\n"}, "a 50%\nb 60%", 0},
		// The terminal echoes ^C where the cursor is; moving up keeps the
		// column, and the next frame starts two columns in.
		{"cursor up keeps the column", []string{"jobs\r\n", "^C\x1b[1A\x1b[Jjobs 2\r\n"}, "jojobs 2", 0},
		{"carriage return before moving up", []string{"jobs\r\n", "^C\r\x1b[1A\x1b[Jjobs 2\r\n"}, "jobs 2", 0},
		{"escape split across writes", []string{"one\r\n", "\x1b[", "1A\x1b[Jtwo\r\n"}, "two", 0},
		{"rune split across writes", []string{"\xe2\x80", "\xa6 end\r\n"}, "… end", 0},
		{"wrap", []string{"0123456789abc\r\n"}, "0123456789\nabc", 1},
		{"erase line", []string{"abcdef\r\x1b[Kxy\r\n"}, "xy", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := NewScreen(10)
			for _, w := range tc.in {
				_, _ = s.Write([]byte(w))
			}
			if got := s.String(); got != tc.want {
				t.Errorf("screen %q, want %q", got, tc.want)
			}
			if s.Wraps != tc.wraps {
				t.Errorf("%d wraps, want %d", s.Wraps, tc.wraps)
			}
		})
	}
}

func TestTermRunsACommand(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	term := Start(t, exec.Command(sh, "-c", "printf 'one\\ntwo\\n'; exit 3"), 40, 10)
	if code := term.Wait(t, time.Minute); code != 3 {
		t.Errorf("exit status %d, want 3", code)
	}
	if got := term.Screen().String(); !strings.Contains(got, "one\ntwo") {
		t.Errorf("screen %q", got)
	}
}

func TestTermInProcess(t *testing.T) {
	term := Open(t, 0, 0)
	_, _ = term.TTY.WriteString("a line\n")
	term.Close()
	if got := term.Screen().String(); got != "a line" {
		t.Errorf("screen %q", got)
	}
}
