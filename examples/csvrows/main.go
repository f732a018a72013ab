// Command csvrows processes a CSV file row by row with a progress bar in
// rows per second, and a bar in bytes for reading the file (stage.FileCSV),
// whose size gives the percentage and the time left.
//
//	go run ./examples/csvrows                       # generates a temporary file and processes it
//	go run ./examples/csvrows -gen 5000000 -o big.csv  # writes a large test file
//	go run ./examples/csvrows big.csv
//
// Each row is "id,item,price,quantity" after a header of those names; the
// program sums price × quantity. A malformed record stops the run with an
// error naming its line.
// On Ctrl-C the bars end "stopped", the sum of the rows read so far is
// printed and the exit status is 130.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/progress"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

func main() {
	gen := flag.Int("gen", 0, "write a CSV file of this many rows to -o and exit")
	out := flag.String("o", "rows.csv", "file written by -gen")
	rows := flag.Int("rows", 400_000, "rows of the temporary file processed when no FILE is given")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: csvrows [-rows N] [FILE] | csvrows -gen N [-o FILE]")
		flag.PrintDefaults()
	}
	flag.Parse()
	// Ctrl-C cancels ctx (while a file is made, too); a second Ctrl-C
	// kills the program at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	context.AfterFunc(ctx, stop)
	if *gen > 0 {
		if err := generate(ctx, *out, *gen); err != nil {
			if ctx.Err() != nil {
				os.Remove(*out) // not a whole file
				fmt.Fprintln(os.Stderr, "csvrows: interrupted while making", *out)
				os.Exit(130)
			}
			fmt.Fprintln(os.Stderr, "csvrows:", err)
			os.Exit(1)
		}
		fmt.Println(*out)
		return
	}
	path := flag.Arg(0)
	tmp := "" // a temporary directory to remove
	if path == "" {
		dir, err := os.MkdirTemp("", "csvrows")
		if err != nil {
			fmt.Fprintln(os.Stderr, "csvrows:", err)
			os.Exit(1)
		}
		tmp = dir
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "rows.csv")
		if err := generate(ctx, path, *rows); err != nil {
			os.RemoveAll(dir) // deferred calls do not run after os.Exit
			if ctx.Err() != nil {
				fmt.Fprintln(os.Stderr, "csvrows: interrupted while making the file")
				os.Exit(130)
			}
			fmt.Fprintln(os.Stderr, "csvrows:", err)
			os.Exit(1)
		}
	}
	n, total, err := process(ctx, path, os.Stderr)
	interrupted := ctx.Err() != nil
	stop()
	if interrupted {
		fmt.Printf("%d rows, total %.2f\n", n, total)
		fmt.Fprintf(os.Stderr, "csvrows: interrupted after %d rows\n", n)
		if tmp != "" {
			os.RemoveAll(tmp) // deferred calls do not run after os.Exit
		}
		os.Exit(130)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "csvrows:", err)
		os.Exit(1)
	}
	fmt.Printf("%d rows, total %.2f\n", n, total)
}

// generate writes a CSV file of n rows with a header. It stops with ctx's
// error when ctx is cancelled.
func generate(ctx context.Context, path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	items := []string{"apple", "pear", "plum", "fig", "quince", "medlar"}
	r := rand.New(rand.NewPCG(1, 2))
	fmt.Fprintln(w, "id,item,price,quantity")
	for i := range n {
		if i%65536 == 0 && ctx.Err() != nil {
			f.Close()
			return ctx.Err()
		}
		fmt.Fprintf(w, "%d,%s,%.2f,%d\n", i+1, items[r.IntN(len(items))], float64(r.IntN(10000))/100, 1+r.IntN(20))
	}
	return errors.Join(w.Flush(), f.Close())
}

type row struct {
	id     string
	value  float64
	header bool
}

// header is the first record of the files csvrows reads.
var header = []string{"id", "item", "price", "quantity"}

// process sums price × quantity over the rows of the file at path, with
// progress on progressOut.
func process(ctx context.Context, path string, progressOut io.Writer) (int, float64, error) {
	p := pipeline.New(progress.Bars(progress.WithOutput(progressOut)))

	// The records of the file, weighed by the bytes read: the file's size
	// is the "read" bar's total. A malformed record fails as an item named
	// by its line (and, under the default fail-fast policy, stops the run).
	records := stage.FileCSV(p, path, stage.WithName("read"))

	values := stage.Map(records, func(_ context.Context, rec stage.Record) (row, error) {
		if rec.Line == 1 {
			if !slices.Equal(rec.Fields, header) {
				return row{}, fmt.Errorf("header %q, want %q", rec.Fields, header)
			}
			return row{header: true}, nil
		}
		f := rec.Fields
		price, err := strconv.ParseFloat(f[2], 64)
		if err != nil {
			return row{}, fmt.Errorf("row %s: price: %w", f[0], err)
		}
		qty, err := strconv.Atoi(f[3])
		if err != nil {
			return row{}, fmt.Errorf("row %s: quantity: %w", f[0], err)
		}
		return row{id: f[0], value: price * float64(qty)}, nil
	}, stage.WithName("parse")).
		Weigh(pipeline.Rows, func(r row) int64 {
			if r.header {
				return 0
			}
			return 1
		}).
		Describe(func(_ stage.Record, r row) string { return "row " + r.id })

	type acc struct {
		n     int
		total float64
	}
	res, err := sink.Reduce(ctx, values, acc{}, func(a acc, r row) acc {
		if r.header {
			return a
		}
		return acc{a.n + 1, a.total + r.value}
	}, sink.WithName("sum"))
	return res.n, res.total, err
}
