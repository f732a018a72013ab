// Command hashfiles prints the SHA-256 of every regular file under a
// directory, in the format of coreutils sha256sum ("<hex>  <path>"), so
// that "sha256sum -c" verifies its output. Files are hashed in parallel;
// progress goes to stderr: one bar for the files found while walking the
// tree and one for hashing, weighted by bytes, which moves while a large
// file is read; both get exact totals as soon as the walk has counted the
// tree (stage.Walk counts it while it emits).
//
//	go run ./examples/hashfiles DIR > SHA256SUMS
//	sha256sum -c SHA256SUMS
//
// An unreadable file or directory is reported on stderr with its path and
// the run goes on; the exit status is then 1, as with sha256sum. The output file itself
// is skipped when it lies in the tree (hashfiles DIR > DIR/SHA256SUMS).
// On Ctrl-C the run stops promptly: the bars end "stopped", the sums
// printed so far are complete lines, a summary goes to stderr and the exit
// status is 130.
//
// While bars are drawn, the sums are printed through the board
// (board.Through), so that on a terminal they appear above the bars
// instead of breaking them; redirected to a file they are written as is.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"runtime"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/progress"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

func main() {
	workers := flag.Int("workers", 2*runtime.GOMAXPROCS(0), "files hashed at once")
	quiet := flag.Bool("q", false, "no progress")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: hashfiles [-workers N] [-q] [DIR]")
		flag.PrintDefaults()
	}
	flag.Parse()
	dir := "."
	if flag.NArg() > 1 {
		flag.Usage()
		os.Exit(2)
	}
	if flag.NArg() == 1 {
		dir = flag.Arg(0)
	}
	// Ctrl-C cancels the run; a second one kills the program at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	context.AfterFunc(ctx, stop)
	code := run(ctx, dir, *workers, !*quiet, os.Stdout, os.Stderr, open)
	stop()
	os.Exit(code)
}

// open opens a file to hash.
func open(path string) (io.ReadCloser, error) { return os.Open(path) }

// run hashes the tree under dir, opening files with open, writing sums to
// stdout and problems (and progress, when show is set) to stderr; it
// returns the exit status: 0, 1 if some file could not be hashed, 130 if
// ctx was cancelled.
func run(ctx context.Context, dir string, workers int, show bool, stdout, stderr io.Writer, open func(string) (io.ReadCloser, error)) int {
	opts := []pipeline.Option{pipeline.WithContinueOnError()}
	logw, out := stderr, stdout
	var board *progress.Board
	if show {
		board = progress.New(progress.WithOutput(stderr))
		opts = append(opts, pipeline.WithObserver(board))
		logw = board.Writer()       // messages go above the bars
		out = board.Through(stdout) // and so do the sums, when stdout is the same terminal
	}
	// Skip the output file when it is in the tree.
	var self fs.FileInfo
	if f, ok := stdout.(*os.File); ok {
		if info, err := f.Stat(); err == nil && info.Mode().IsRegular() {
			self = info
		}
	}
	p := pipeline.New(opts...)
	failed := false

	// The walk emits the tree's regular files with their sizes as weights;
	// it counts them first with a walk of its own, so that the hashing bar
	// has an exact byte total while files are still being found. An entry
	// it cannot read fails as an item named by its path.
	walk := stage.Walk(p, dir, stage.WithName("walk")).
		Describe(func(f, _ stage.File) string { return f.Path })

	sums := stage.Map(walk, func(ctx context.Context, f stage.File) (string, error) {
		if self != nil {
			if info, err := os.Stat(f.Path); err == nil && os.SameFile(info, self) {
				return "", nil // our own output, being written: no sum
			}
		}
		fh, err := open(f.Path)
		if err != nil {
			return "", err
		}
		defer fh.Close()
		h := sha256.New()
		// progress.Reader moves the bar as the bytes are read, and stops
		// reading once the run is cancelled.
		if _, err := io.Copy(h, progress.Reader(ctx, fh)); err != nil {
			return "", err
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	}, stage.WithName("hash"), stage.WithWorkers(workers),
		stage.WithUnit(pipeline.Bytes), // the bytes come from progress.Reader
	).Describe(func(f stage.File, _ string) string { return f.Path })

	printed := 0
	for r, err := range sink.All(ctx, sums, sink.WithName("print")) {
		if err != nil {
			if ctx.Err() != nil && len(pipeline.ItemErrors[stage.File](err)) == 0 {
				continue // interrupted: reported below
			}
			failed = true
			for _, ie := range pipeline.ItemErrors[stage.File](err) {
				fmt.Fprintf(logw, "hashfiles: %s: %v\n", ie.Input.Path, unwrapPath(ie.Err))
			}
			if len(pipeline.ItemErrors[stage.File](err)) == 0 {
				fmt.Fprintf(logw, "hashfiles: %v\n", err)
			}
			continue
		}
		if r.Value == "" {
			continue // the output file
		}
		fmt.Fprintf(out, "%s  %s\n", r.Value, r.Input.Path)
		printed++
	}
	if ctx.Err() != nil {
		// The summary: what was done before the interruption.
		fmt.Fprintf(stderr, "hashfiles: interrupted after %d files", printed)
		if board != nil {
			if s := board.Summary(); len(s) > 1 {
				fmt.Fprintf(stderr, " of %d found", s[0].Counts.Out)
			}
		}
		fmt.Fprintln(stderr)
		return 130
	}
	if failed {
		return 1
	}
	return 0
}

// unwrapPath drops the path os.Open already put in its error, since the
// message names the file first.
func unwrapPath(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}
