package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFanoutTwoTrees(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"a/x.txt":     "hello\n",
		"a/sub/y.go":  "package y\n",
		"a/z":         strings.Repeat("z", 5000),
		"b/w.txt":     "world",
		"b/deep/v.go": "package v\n\nfunc V() {}\n",
	}
	var lines []string
	for name, body := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		s := sha256.Sum256([]byte(body))
		lines = append(lines, fmt.Sprintf("%s  %s\n", hex.EncodeToString(s[:]), path))
	}
	slices.SortFunc(lines, func(a, b string) int { return strings.Compare(a[66:], b[66:]) })
	all := sha256.Sum256([]byte(strings.Join(lines, "")))
	var out, logw bytes.Buffer
	code := run(context.Background(), []string{filepath.Join(root, "a"), filepath.Join(root, "b")}, nil, &out, &logw)
	if code != 0 {
		t.Fatalf("exit status %d: %s", code, logw.String())
	}
	want := "(none)         5000 bytes\n" +
		".go            33 bytes\n" +
		".txt           11 bytes\n" +
		"5 files, fingerprint " + hex.EncodeToString(all[:])[:16] + "\n"
	if got := strings.ReplaceAll(out.String(), "   ", " "); strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(want), " ") {
		t.Errorf("output\n%s\nwant\n%s", out.String(), want)
	}
}

func TestFanoutReportsAMissingTree(t *testing.T) {
	var out, logw bytes.Buffer
	code := run(context.Background(), []string{t.TempDir(), filepath.Join(t.TempDir(), "missing")}, nil, &out, &logw)
	if code != 1 || !strings.Contains(logw.String(), "missing") {
		t.Errorf("exit status %d, log %q; want 1 and the missing path", code, logw.String())
	}
}

func TestFanoutInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, logw bytes.Buffer
	if code := run(ctx, []string{".", "."}, nil, &out, &logw); code != 130 {
		t.Errorf("exit status %d, want 130", code)
	}
}
