// Command ascompleted ports the seed's as_completed recipe,
//
//	for future in tqdm(as_completed(futures), total=len(futures)):
//	    i, res = future.result()
//	    results[i] = res
//
// Results arrive as they complete, not in submission order, and the bar
// moves with them. A slice source knows its length, so no total= is
// needed; this program feeds its inputs through a channel, whose length
// the pipeline cannot know, and declares the total with progress.WithTotal,
// the equivalent of tqdm's total=.
//
// Each result is printed as it arrives, through board.Stdout(): on a
// terminal the lines appear above the bar instead of breaking it. On
// Ctrl-C the run stops, the bar ends "stopped", the results so far are
// kept and the exit status is 130.
//
//	go run ./examples/ascompleted [-n 10] [-unit 250ms]
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
	unit := flag.Duration("unit", 250*time.Millisecond, "task x sleeps x/2 units (the seed's x/2 seconds)")
	flag.Parse()

	// Ctrl-C cancels ctx; a second Ctrl-C kills the program at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	context.AfterFunc(ctx, stop)

	longComputation := func(ctx context.Context, x int) (int, error) {
		select {
		case <-time.After(time.Duration(x) * *unit / 2):
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		return x * x, nil
	}

	inputs := make(chan int)
	go func() {
		defer close(inputs)
		for i := *n - 1; i >= 0; i-- { // slowest first: as_completed still yields the fast ones first
			select {
			case inputs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()

	board := progress.New(progress.WithTotal("inputs", int64(*n)))
	out := board.Stdout() // results go above the bars
	p := pipeline.New(pipeline.WithObserver(board))
	src := stage.FromChan(p, inputs, stage.WithName("inputs"))
	sq := stage.Map(src, longComputation, stage.WithName("long_computation"), stage.WithWorkers(*n))
	results := map[int]int{}
	for r, err := range sink.All(ctx, sq, sink.WithName("as_completed")) {
		if err != nil {
			if ctx.Err() != nil {
				break // interrupted
			}
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		results[r.Input] = r.Value
		fmt.Fprintf(out, "%d: %d\n", r.Input, r.Value)
	}
	if ctx.Err() != nil {
		fmt.Fprintf(os.Stderr, "interrupted: %d of %d results\n", len(results), *n)
		os.Exit(130)
	}
}
