package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/flowbar/flowbar/internal/termtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// tree makes a small directory tree and returns its root and its files.
func tree(t *testing.T) (string, []string) {
	dir := t.TempDir()
	files := map[string]string{
		"a.txt":           "alpha\n",
		"empty":           "",
		"sub/b.bin":       strings.Repeat("\x00\x01\x02", 100000),
		"sub/deep/c.txt":  "gamma",
		"sp ace/d.txt":    "with a space",
		"sub/deep/e.data": strings.Repeat("e", 4097),
	}
	var paths []string
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	if err := os.Symlink("a.txt", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	slices.Sort(paths)
	return dir, paths
}

func sortedLines(s string) []string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	slices.Sort(lines)
	return lines
}

func TestMatchesSha256sum(t *testing.T) {
	coreutils, err := exec.LookPath("sha256sum")
	if err != nil {
		t.Skip("sha256sum not installed")
	}
	dir, paths := tree(t)
	for _, show := range []bool{false, true} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), dir, 3, show, &stdout, &stderr, open); code != 0 {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
		}
		want, err := exec.Command(coreutils, paths...).Output()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := sortedLines(stdout.String()), sortedLines(string(want)); !slices.Equal(got, want) {
			t.Errorf("output differs from sha256sum:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		check := exec.Command(coreutils, "-c", "--quiet", "-")
		check.Stdin = &stdout
		if out, err := check.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c: %v\n%s", err, out)
		}
		if show && !strings.Contains(stderr.String(), "hash: done") {
			t.Errorf("no progress summary on stderr:\n%s", stderr.String())
		}
	}
}

func TestUnreadableFile(t *testing.T) {
	dir, paths := tree(t)
	bad := paths[1]
	failing := func(path string) (io.ReadCloser, error) {
		if path == bad {
			return nil, &os.PathError{Op: "open", Path: path, Err: errors.New("permission denied")}
		}
		return os.Open(path)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), dir, 2, true, &stdout, &stderr, failing); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if want := "hashfiles: " + bad + ": open: permission denied\n"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
	}
	if n := strings.Count(stdout.String(), "\n"); n != len(paths)-1 {
		t.Errorf("%d sums, want %d (every other file):\n%s", n, len(paths)-1, stdout.String())
	}
	if strings.Contains(stdout.String(), bad) {
		t.Errorf("the unreadable file has a sum")
	}
}

// hashfiles DIR > DIR/SHA256SUMS must not hash its own output while
// writing it, or sha256sum -c fails on that line.
func TestSkipsItsOwnOutput(t *testing.T) {
	coreutils, err := exec.LookPath("sha256sum")
	if err != nil {
		t.Skip("sha256sum not installed")
	}
	dir, paths := tree(t)
	sums, err := os.Create(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	code := run(context.Background(), dir, 2, true, sums, &stderr, open)
	if err := sums.Close(); err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
	out, err := os.ReadFile(sums.Name())
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(out), "\n"); n != len(paths) || strings.Contains(string(out), "SHA256SUMS") {
		t.Errorf("%d sums, want %d, without the output file:\n%s", n, len(paths), out)
	}
	check := exec.Command(coreutils, "-c", "--quiet", sums.Name())
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("sha256sum -c: %v\n%s", err, out)
	}
}

// SIGINT (what Ctrl-C sends) stops a run in the middle of a large file:
// the bars end "stopped" in a clean last frame, the sums printed so far
// are whole lines, a summary line is printed, the exit status is 130.
func TestInterrupt(t *testing.T) {
	dir, _ := tree(t)
	// A sparse file of 64 GiB: hashing it takes far longer than the test.
	big, err := os.Create(filepath.Join(dir, "zz-big"))
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Truncate(64 << 30); err != nil {
		t.Fatal(err)
	}
	big.Close()
	sumsPath := filepath.Join(t.TempDir(), "sums")
	sums, err := os.Create(sumsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer sums.Close()
	exe := termtest.Build(t, ".")
	cmd := exec.Command(exe, "-workers", "2", dir)
	cmd.Stdout = sums // stdout to a file, the bars on the terminal
	term := termtest.Start(t, cmd, 100, 30)
	term.WaitFor(t, time.Minute, "the bar of the large file", func(s string) bool {
		return strings.Contains(s, "hash [") && strings.Contains(s, "GiB/64.0 GiB")
	})
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := term.Wait(t, time.Minute); code != 130 {
		t.Fatalf("exit status %d, want 130; screen:\n%s", code, term.Screen())
	}
	s := term.Screen()
	termtest.CheckClean(t, s, 100)
	lines := s.Lines()
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "hash [") || !strings.Contains(lines[0], "stopped") {
		t.Fatalf("want the stopped bar and a summary:\n%s", s)
	}
	if !strings.HasPrefix(lines[1], "hashfiles: interrupted after ") {
		t.Errorf("summary %q", lines[1])
	}
	out, err := os.ReadFile(sumsPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.SplitAfter(string(out), "\n") {
		if l != "" && (!strings.HasSuffix(l, "\n") || len(strings.SplitN(l, "  ", 2)[0]) != 64) {
			t.Errorf("not a whole sum line: %q", l)
		}
	}
	if strings.Contains(string(out), "zz-big") {
		t.Error("the interrupted file has a sum")
	}
}

// An entry the walk cannot read (here a root that does not exist) is
// reported with its path, and the exit status is 1.
func TestUnreadableEntry(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), missing, 2, true, &stdout, &stderr, open); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if want := "hashfiles: " + missing + ": lstat: no such file or directory\n"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("sums for a missing tree: %q", stdout.String())
	}
}
