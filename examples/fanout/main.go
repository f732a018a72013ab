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
// the lines land above the bars on a terminal. The walks are stage.Walk:
// files weighed by size, unreadable entries failing as items named by their
// path. Such an entry is reported and the run goes on (exit status 1); Ctrl-C stops
// the run promptly (bars "stopped", exit status 130).
package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/progress"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: fanout [DIR1 DIR2 ...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	dirs := flag.Args()
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
	rep, err := fanout(ctx, dirs, board)
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
	for _, ie := range pipeline.ItemErrors[stage.File](err) {
		fmt.Fprintf(logw, "fanout: %s: %v\n", ie.Input.Path, ie.Err)
	}
	if err != nil {
		return 1
	}
	return 0
}

// fanout runs the pipeline: two walks merged, a tee, a hashing branch and a
// counting branch. Unreadable entries are item errors (continue-on-error),
// named by their path.
func fanout(ctx context.Context, dirs []string, board *progress.Board) (report, error) {
	opts := []pipeline.Option{pipeline.WithContinueOnError()}
	if board != nil {
		opts = append(opts, pipeline.WithObserver(board))
	}
	p := pipeline.New(opts...)
	var walks []*pipeline.Stream[stage.File, stage.File]
	for _, dir := range dirs {
		walks = append(walks, stage.Walk(p, dir, stage.WithName("walk "+dir)))
	}
	files := stage.Merge(walks, stage.WithName("files"))
	branches := stage.Tee(files, 2, stage.WithName("tee"))

	// Branch 1: hash every file, results keyed by path.
	sums := stage.Map(branches[0], hash, stage.WithWorkers(4), stage.WithUnit(pipeline.Bytes)).
		Describe(func(f stage.File, _ string) string { return f.Path })
	byPath := sink.LaterFunc(sums, func(ctx context.Context, s *pipeline.Stream[stage.File, string]) (map[string]string, error) {
		return sink.ByKey(ctx, s, func(f stage.File, _ string) string { return f.Path }, sink.WithName("sums"))
	})
	// Branch 2: bytes by extension, straight from the walk.
	byExt := sink.LaterFunc(branches[1], func(ctx context.Context, s *pipeline.Stream[stage.File, stage.File]) (map[string]int64, error) {
		return sink.Reduce(ctx, s, map[string]int64{}, func(m map[string]int64, f stage.File) map[string]int64 {
			m[filepath.Ext(f.Path)] += f.Size
			return m
		}, sink.WithName("by extension"))
	})

	err := sink.Run(ctx, p) // runs both branches; returns when all is done
	all := sha256.New()
	m := byPath.Value()
	for _, path := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(all, "%s  %s\n", m[path], path)
	}
	return report{files: len(m), byExt: byExt.Value(), fingerprint: hex.EncodeToString(all.Sum(nil))[:16]}, err
}

// hash returns the SHA-256 of the file, in hex, reporting bytes read as
// they go so that the bar moves inside a large file.
func hash(ctx context.Context, f stage.File) (string, error) {
	fh, err := os.Open(f.Path)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, progress.Reader(ctx, fh)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
