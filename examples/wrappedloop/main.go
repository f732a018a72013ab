// Command wrappedloop ports the seed's first progress recipe,
//
//	for i in tqdm(range(10)):
//	    results[i] = long_computation(i)
//
// to a one-stage pipeline whose bar advances as items complete: one bar,
// as tqdm draws (the slice source, known from the start, and the sink,
// which repeats the stage, get none). With one worker it runs the loop in
// order, like the Python code; -workers makes it concurrent without other
// change. On Ctrl-C the bar ends "stopped", the results computed so far
// are printed and the exit status is 130.
//
//	go run ./examples/wrappedloop [-n 10] [-workers 1] [-unit 60ms]
package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"slices"
	"time"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/progress"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

func main() {
	n := flag.Int("n", 10, "number of tasks")
	workers := flag.Int("workers", 1, "tasks run at once")
	unit := flag.Duration("unit", 60*time.Millisecond, "task x sleeps x times this")
	flag.Parse()

	// Ctrl-C cancels ctx; a second Ctrl-C kills the program at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	context.AfterFunc(ctx, stop)

	longComputation := func(ctx context.Context, x int) (int, error) {
		select {
		case <-time.After(time.Duration(x) * *unit):
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		return x * x, nil
	}

	p := pipeline.New(progress.Bars())
	src := stage.FromSlice(p, rangeN(*n), stage.WithName("range"))
	sq := stage.Map(src, longComputation, stage.WithName("long_computation"), stage.WithWorkers(*workers))
	// On Ctrl-C, ByInput returns the results collected so far.
	results, err := sink.ByInput(ctx, sq, sink.WithName("results"))
	if err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, k := range slices.Sorted(maps.Keys(results)) {
		fmt.Printf("%d: %d\n", k, results[k])
	}
	if ctx.Err() != nil {
		fmt.Fprintf(os.Stderr, "interrupted: %d of %d results\n", len(results), *n)
		os.Exit(130)
	}
}

func rangeN(n int) []int {
	xs := make([]int, n)
	for i := range xs {
		xs[i] = i
	}
	return xs
}
