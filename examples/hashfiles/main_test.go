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

	"go.uber.org/goleak"
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
