// Command callbackbar ports the seed's callback recipe,
//
//	def _callback(future, x):
//	    results[x] = future.result()
//	    pbar.set_description(f"Calculated {x}")
//	    pbar.update()
//	future.add_done_callback(partial(_callback, x=i))
//
// stage.OnDone calls a function with each item's input and outcome, from
// one goroutine, so it needs no lock, no partial and no late-binding care;
// the callback stage gets its own bar. On Ctrl-C the bars end "stopped",
// the results so far are printed and the exit status is 130.
//
//	go run ./examples/callbackbar [-n 10] [-unit 120ms]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/progress"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

func main() {
	n := flag.Int("n", 10, "number of tasks")
	unit := flag.Duration("unit", 120*time.Millisecond, "task x sleeps x times this")
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

	board := progress.New()
	p := pipeline.New(pipeline.WithObserver(board))
	xs := make([]int, *n)
	for i := range xs {
		xs[i] = i
	}
	src := stage.FromSlice(p, xs, stage.WithName("submit"))
	sq := stage.Map(src, longComputation, stage.WithName("long_computation"), stage.WithWorkers(*n))
	results := map[int]int{}
	done := stage.OnDone(sq, func(x, res int, err error) {
		if err == nil {
			results[x] = res
		}
	}, stage.WithName("callback")).Describe(func(x, _ int) string { return fmt.Sprintf("Calculated %d", x) })
	if _, err := sink.Count(ctx, done, sink.WithName("done")); err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// The run has ended: printing straight to stdout is safe again.
	for x := range *n {
		if r, ok := results[x]; ok {
			fmt.Printf("%d: %d\n", x, r)
		}
	}
	s := board.Summary()
	fmt.Fprintf(os.Stderr, "callback stage: %d calls\n", s[2].Counts.Out)
	if ctx.Err() != nil {
		fmt.Fprintf(os.Stderr, "interrupted: %d of %d results\n", len(results), *n)
		os.Exit(130)
	}
}
