package stage_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/flowbar/flowbar/internal/nobody"
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// makeTree writes files (path: size) under a new directory and returns it.
func makeTree(t *testing.T, files map[string]int) string {
	t.Helper()
	dir := t.TempDir()
	for name, size := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(strings.Repeat("z", size)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func fileSize(_ context.Context, f stage.File) (int64, error) {
	info, err := os.Stat(f.Path)
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}

func TestWalkFindsRegularFiles(t *testing.T) {
	files := map[string]int{"a": 1, "b/c": 20, "b/d/e": 300, "f g/h": 0, "b/d/z": 4096}
	dir := makeTree(t, files)
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Links are not followed, and a broken one is no error.
	if err := os.Symlink("a", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("nowhere", filepath.Join(dir, "broken")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("b", filepath.Join(dir, "dirlink")); err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, n := range files {
		total += int64(n)
	}
	for _, workers := range []int{1, 8} {
		p := pipeline.New()
		walk := stage.Walk(p, dir, stage.WithName("walk"))
		sizes, err := sink.ByKey(context.Background(), stage.Map(walk, fileSize, stage.WithWorkers(workers)),
			func(f stage.File, size int64) string {
				if f.Size != size || !f.Mode.IsRegular() || f.ModTime.IsZero() {
					t.Errorf("%v: size %d, mode %v, time %v; want size %d", f, f.Size, f.Mode, f.ModTime, size)
				}
				rel, _ := filepath.Rel(dir, f.Path)
				return filepath.ToSlash(rel)
			})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{}
		for name, n := range files {
			want[name] = int64(n)
		}
		if !maps.Equal(sizes, want) {
			t.Errorf("workers=%d: found %v, want %v", workers, sizes, want)
		}
		src := p.Stages()[0]
		if c := src.Counts(); c.Weight != total || c.Out != int64(len(files)) || src.Unit() != pipeline.Bytes {
			t.Errorf("walk counts %+v unit %q, want %d files of %d bytes", c, src.Unit(), len(files), total)
		}
		balanced(t, p)
	}
}

func TestWalkOrderAndSingleFile(t *testing.T) {
	dir := makeTree(t, map[string]int{"b": 1, "a/2": 1, "a/1": 1, "c/x/y": 1})
	p := pipeline.New()
	got, err := sink.Slice(context.Background(), stage.Walk(p, dir))
	if err != nil {
		t.Fatal(err)
	}
	var rel []string
	for _, f := range got {
		r, _ := filepath.Rel(dir, f.Path)
		rel = append(rel, filepath.ToSlash(r))
	}
	if want := []string{"a/1", "a/2", "b", "c/x/y"}; !slices.Equal(rel, want) {
		t.Errorf("order %v, want lexical %v", rel, want)
	}

	p = pipeline.New()
	one, err := sink.Slice(context.Background(), stage.Walk(p, filepath.Join(dir, "b")))
	if err != nil || len(one) != 1 || one[0].Path != filepath.Join(dir, "b") || one[0].String() != one[0].Path {
		t.Errorf("a file as root: %v, %v", one, err)
	}
}

func TestWalkMissingRootIsAnItemError(t *testing.T) {
	root := filepath.Join(t.TempDir(), "missing")
	for _, cont := range []bool{false, true} {
		var opts []pipeline.Option
		if cont {
			opts = append(opts, pipeline.WithContinueOnError())
		}
		p := pipeline.New(opts...)
		n, err := sink.Count(context.Background(), stage.Map(stage.Walk(p, root, stage.WithName("walk")), fileSize))
		ies := pipeline.ItemErrors[stage.File](err)
		if n != 0 || len(ies) != 1 || ies[0].Input.Path != root || ies[0].Stage != "walk" || !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("continue=%v: %d, %v; want one failure naming %s", cont, n, err, root)
		}
		if !strings.Contains(err.Error(), "item "+root) {
			t.Errorf("error %q does not name the path", err)
		}
		if c := p.Stages()[0].Counts(); c.Failed != 1 || c.In != 1 {
			t.Errorf("walk counts %+v", c)
		}
		balanced(t, p)
	}
}

// A directory that cannot be listed fails as an item, and the rest of the
// tree is still walked (under continue-on-error).
func TestWalkUnreadableDirectory(t *testing.T) {
	if nobody.Rerun(t, "TestWalkUnreadableDirectory") {
		return
	}
	if os.Geteuid() == 0 || runtime.GOOS == "windows" {
		t.Skip("permissions do not stop this user")
	}
	dir := makeTree(t, map[string]int{"a": 1, "locked/b": 1, "z": 1})
	locked := filepath.Join(dir, "locked")
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(locked, 0o755)
	p := pipeline.New(pipeline.WithContinueOnError())
	got, err := sink.Slice(context.Background(), stage.Walk(p, dir))
	ies := pipeline.ItemErrors[stage.File](err)
	if len(got) != 2 || len(ies) != 1 || ies[0].Input.Path != locked || !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("%v, %v; want 2 files and the locked directory's failure", got, err)
	}
	balanced(t, p)
}

// Once the counting walk is done, the source declares exact totals while
// the emitting walk still waits for the stage after it.
func TestWalkDeclaresTotalsEarly(t *testing.T) {
	files := map[string]int{}
	var total int64
	for i := range 3000 { // more than the edges after the walk hold
		files[fmt.Sprintf("d%d/f%04d", i%7, i)] = i % 13
		total += int64(i % 13)
	}
	dir := makeTree(t, files)
	p := pipeline.New()
	walk := stage.Walk(p, dir)
	src := p.Stages()[0]
	first := true
	checked := false
	sized := stage.Map(walk, func(ctx context.Context, f stage.File) (int64, error) {
		if first {
			first = false
			// Hold the walk back until the count is declared.
			for {
				if _, ok := src.WeightTotal(); ok {
					break
				}
				if ctx.Err() != nil {
					return 0, ctx.Err()
				}
				runtime.Gosched()
			}
			w, _ := src.WeightTotal()
			n, final := src.Total()
			emitted := src.Counts().Out
			checked = w == total && n == 3000 && final && emitted < 3000
			if !checked {
				t.Errorf("declared %d bytes, %d items (final %v) after %d emitted; want %d bytes, 3000 items", w, n, final, emitted, total)
			}
		}
		return f.Size, nil
	}, stage.WithWorkers(1))
	sum, err := sink.Reduce(context.Background(), sized, int64(0), func(a, v int64) int64 { return a + v })
	if err != nil || sum != total || !checked {
		t.Fatalf("sum %d, %v, checked %v; want %d", sum, err, checked, total)
	}
	balanced(t, p)
}

// With WithCountFirst the totals are declared before the first file
// reaches the next stage: its first call already sees them.
func TestWalkCountFirst(t *testing.T) {
	files := map[string]int{}
	var total int64
	for i := range 500 {
		files[fmt.Sprintf("d%d/f%04d", i%5, i)] = i % 11
		total += int64(i % 11)
	}
	dir := makeTree(t, files)
	for _, workers := range []int{1, 4} {
		p := pipeline.New()
		walk := stage.Walk(p, dir, stage.WithCountFirst())
		src := p.Stages()[0]
		var once sync.Once
		sized := stage.Map(walk, func(ctx context.Context, f stage.File) (int64, error) {
			once.Do(func() {
				w, wok := src.WeightTotal()
				n, final := src.Total()
				if !wok || w != total || n != 500 || !final {
					t.Errorf("%d workers: at the first file, totals %d bytes (%v), %d items (final %v); want %d bytes, 500 items", workers, w, wok, n, final, total)
				}
			})
			return f.Size, nil
		}, stage.WithWorkers(workers))
		sum, err := sink.Reduce(context.Background(), sized, int64(0), func(a, v int64) int64 { return a + v })
		if err != nil || sum != total {
			t.Fatalf("sum %d, %v; want %d", sum, err, total)
		}
		balanced(t, p)
	}
}

func TestWalkStopsPromptly(t *testing.T) {
	files := map[string]int{}
	for i := range 2000 {
		files[fmt.Sprintf("f%04d", i)] = 1
	}
	dir := makeTree(t, files)
	for _, workers := range []int{1, 4} {
		p := pipeline.New()
		first, err := sink.First(context.Background(), stage.Map(stage.Walk(p, dir), fileSize, stage.WithWorkers(workers)), 3)
		if err != nil || len(first) != 3 {
			t.Fatalf("%v, %v", first, err)
		}
		if c := p.Stages()[2].Counts(); c.Out != 3 {
			t.Errorf("the sink took %d results, want 3", c.Out)
		}
		balanced(t, p)
	}
}

func TestWalkFollowsALinkedRoot(t *testing.T) {
	dir := makeTree(t, map[string]int{"real/a": 3, "real/sub/b": 4})
	link := filepath.Join(dir, "link")
	if err := os.Symlink("real", link); err != nil {
		t.Fatal(err)
	}
	fileLink := filepath.Join(dir, "filelink")
	if err := os.Symlink(filepath.Join("real", "a"), fileLink); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "broken")
	if err := os.Symlink("nowhere", broken); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		root  string
		want  []string
		fails bool
	}{
		{link, []string{filepath.Join(link, "a"), filepath.Join(link, "sub", "b")}, false},
		{fileLink, []string{fileLink}, false},
		{broken, nil, true},
	}
	for _, c := range cases {
		p := pipeline.New(pipeline.WithContinueOnError())
		got, err := sink.Slice(context.Background(), stage.Walk(p, c.root))
		var paths []string
		for _, f := range got {
			paths = append(paths, f.Path)
		}
		if !slices.Equal(paths, c.want) {
			t.Errorf("root %s: %v, want %v", c.root, paths, c.want)
		}
		if ies := pipeline.ItemErrors[stage.File](err); c.fails != (len(ies) == 1 && ies[0].Input.Path == c.root && errors.Is(err, fs.ErrNotExist)) {
			t.Errorf("root %s: error %v", c.root, err)
		}
		balanced(t, p)
	}
}

func TestWalkCancelled(t *testing.T) {
	files := map[string]int{}
	for i := range 5000 {
		files[fmt.Sprintf("d%d/f%04d", i%5, i)] = 1
	}
	dir := makeTree(t, files)
	for _, workers := range []int{1, 4} {
		ctx, cancel := context.WithCancel(context.Background())
		p := pipeline.New()
		var calls atomic.Int64
		// The fifth call cancels the run; every call from then on waits
		// for the cancellation, so that the walk is held back by the
		// buffers between it and the map (at most 1024 + 4 × 512 files).
		blocked := stage.Map(stage.Walk(p, dir), func(ctx context.Context, f stage.File) (int64, error) {
			if calls.Add(1) >= 5 {
				cancel()
				<-ctx.Done()
				return 0, ctx.Err()
			}
			return f.Size, nil
		}, stage.WithWorkers(workers))
		_, err := sink.Count(ctx, blocked)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("workers=%d: %v", workers, err)
		}
		if c := p.Stages()[0].Counts(); c.Out >= 5000 {
			t.Errorf("workers=%d: the walk emitted all %d files after the cancellation", workers, c.Out)
		}
		balanced(t, p)
	}
}
