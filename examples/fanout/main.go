// Command fanout walks two directory trees at once, joins them into one
// stream of files (stage.Merge) and hands every file to two branches
// (stage.Tee): one hashes each file (SHA-256, in parallel, weighted by
// bytes) into a map keyed by path, the other adds up the bytes by file
// extension. One call, sink.Run, runs both branches; live bars (one per
// stage, on stderr) show the walks, the tee's branches and the hashing.
//
//	go run ./examples/fanout                 # the repository's pipeline/ and stage/ trees
//	go run ./examples/fanout DIR1 DIR2
//
// It prints the bytes by extension, then one SHA-256 over every file's
// path and sum (a fingerprint of both trees), through the board so that
// the lines land above the bars on a terminal. An unreadable entry is
// reported with its path and the run goes on (exit status 1); Ctrl-C stops
// the run promptly (bars "stopped", exit status 130).
package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sync/atomic"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/progress"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

type file struct {
	path string
	size int64
}

func main() {
	dirs := os.Args[1:]
	if len(dirs) == 0 {
		dirs = []string{"pipeline", "stage"}
		if _, err := os.Stat("pipeline"); err != nil {
			dirs = []string{".", os.TempDir()}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	context.AfterFunc(ctx, stop) // a second Ctrl-C kills at once
	board := progress.New()
	code := run(ctx, dirs, board, board.Stdout(), board.Writer())
	stop()
	os.Exit(code)
}

// report is what run found.
type report struct {
	files       int
	byExt       map[string]int64
	fingerprint string
}

// run walks dirs, hashes and counts, prints the report to out and problems
// to logw, and returns the exit status.
func run(ctx context.Context, dirs []string, board *progress.Board, out, logw io.Writer) int {
	rep, problems, err := fanout(ctx, dirs, board, logw)
	if ctx.Err() != nil {
		fmt.Fprintf(logw, "fanout: interrupted: %d files hashed\n", rep.files)
		return 130
	}
	for _, ext := range slices.SortedFunc(maps.Keys(rep.byExt), func(a, b string) int {
		return cmp.Or(cmp.Compare(rep.byExt[b], rep.byExt[a]), cmp.Compare(a, b))
	}) {
		fmt.Fprintf(out, "%-8s %10d bytes\n", cmp.Or(ext, "(none)"), rep.byExt[ext])
	}
	fmt.Fprintf(out, "%d files, fingerprint %s\n", rep.files, rep.fingerprint)
	for _, ie := range pipeline.ItemErrors[file](err) {
		fmt.Fprintf(logw, "fanout: %s: %v\n", ie.Input.path, ie.Err)
	}
	if err != nil || problems > 0 {
		return 1
	}
	return 0
}

// fanout runs the pipeline: two walks merged, a tee, a hashing branch and a
// counting branch.
func fanout(ctx context.Context, dirs []string, board *progress.Board, logw io.Writer) (report, int64, error) {
	opts := []pipeline.Option{pipeline.WithContinueOnError()}
	if board != nil {
		opts = append(opts, pipeline.WithObserver(board))
	}
	p := pipeline.New(opts...)
	var problems atomic.Int64
	var walks []*pipeline.Stream[file, file]
	for _, dir := range dirs {
		walks = append(walks, stage.Generate(p, func(ctx context.Context, emit func(file) bool) error {
			return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() {
					var info fs.FileInfo
					if info, err = d.Info(); err == nil && !emit(file{path, info.Size()}) {
						return filepath.SkipAll
					}
				}
				if err != nil {
					fmt.Fprintf(logw, "fanout: %s: %v\n", path, err)
					problems.Add(1)
				}
				return nil
			})
		}, stage.WithName("walk "+dir)))
	}
	files := stage.Merge(walks, stage.WithName("files"))
	branches := stage.Tee(files, 2, stage.WithName("tee"))

	// Branch 1: hash every file, results keyed by path.
	sums := stage.Map(branches[0], hash, stage.WithWorkers(4), stage.WithUnit(pipeline.Bytes)).
		Describe(func(f file, _ sum) string { return f.path })
	byPath := sink.LaterFunc(sums, func(ctx context.Context, s *pipeline.Stream[file, sum]) (map[string]sum, error) {
		return sink.ByKey(ctx, s, func(f file, _ sum) string { return f.path }, sink.WithName("sums"))
	})
	// Branch 2: bytes by extension, straight from the walk.
	byExt := sink.LaterFunc(branches[1], func(ctx context.Context, s *pipeline.Stream[file, file]) (map[string]int64, error) {
		return sink.Reduce(ctx, s, map[string]int64{}, func(m map[string]int64, f file) map[string]int64 {
			m[filepath.Ext(f.path)] += f.size
			return m
		}, sink.WithName("by extension"))
	})

	err := sink.Run(ctx, p) // runs both branches; returns when all is done
	all := sha256.New()
	m := byPath.Value()
	for _, path := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(all, "%s  %s\n", m[path].hex, path)
	}
	return report{files: len(m), byExt: byExt.Value(), fingerprint: hex.EncodeToString(all.Sum(nil))[:16]}, problems.Load(), err
}

type sum struct {
	hex  string
	size int64
}

// hash returns the SHA-256 of the file at f.path, reporting bytes read as
// they go so that the bar moves inside a large file.
func hash(ctx context.Context, f file) (sum, error) {
	fh, err := os.Open(f.path)
	if err != nil {
		return sum{}, err
	}
	defer fh.Close()
	h := sha256.New()
	n, err := io.Copy(h, progress.Reader(ctx, fh))
	if err != nil {
		return sum{}, err
	}
	return sum{hex: hex.EncodeToString(h.Sum(nil)), size: n}, nil
}
