package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func writeText(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "text.txt")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTopWords(t *testing.T) {
	path := writeText(t, "The cat and the hat.\n\nA cat, the bat; isn't it?\n")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), path, "", 3, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if want := "      3 the\n      2 cat\n      1 a\n"; stdout.String() != want {
		t.Errorf("stdout %q, want %q", stdout.String(), want)
	}
	if !strings.Contains(stderr.String(), "split: done, 3 items, 0 failed, 1 dropped") {
		t.Errorf("no summary of the split stage: %s", stderr.String())
	}
}

func TestWriteCounts(t *testing.T) {
	path := writeText(t, "b a b\nc b\n")
	out := filepath.Join(t.TempDir(), "counts.txt")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), path, out, 10, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	got, err := os.ReadFile(out)
	if err != nil || string(got) != "a 1\nb 3\nc 1\n" {
		t.Errorf("counts file %q, %v", got, err)
	}
}

func TestMissingFile(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), filepath.Join(t.TempDir(), "none"), "", 10, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "no such file") {
		t.Errorf("stderr %q", stderr.String())
	}
}

func TestInterrupted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "text.txt")
	if err := generate(context.Background(), path, 1000); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	if code := run(ctx, path, "", 10, &stdout, &stderr); code != 130 {
		t.Fatalf("exit %d, want 130", code)
	}
	if !strings.Contains(stderr.String(), "wordcount: interrupted") {
		t.Errorf("stderr %q", stderr.String())
	}
}
