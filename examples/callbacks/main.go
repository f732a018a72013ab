// Command callbacks is the seed's done-callback recipe. In Python the
// callback needs functools.partial to know its input (a lambda would bind
// late), and a lock or care to update shared state. stage.OnDone calls a
// function with each item's input and outcome, one call at a time, in the
// order items complete: the results map needs no lock.
//
// One task in seven fails on purpose; with pipeline.WithContinueOnError the
// callback sees failures too, and the run returns them with their inputs.
//
//	go run ./examples/callbacks [-n 10] [-unit 10ms]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

func main() {
	n := flag.Int("n", 10, "number of tasks")
	unit := flag.Duration("unit", 10*time.Millisecond, "length of one time unit (the seed uses 1s)")
	flag.Parse()

	// Ctrl-C cancels ctx; a second Ctrl-C kills the program at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	context.AfterFunc(ctx, stop)

	longComputation := func(ctx context.Context, x int) (float64, error) {
		select {
		case <-time.After(time.Duration(float64(x) / 2 * float64(*unit))):
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		if x%7 == 6 {
			return 0, fmt.Errorf("%d is unlucky", x)
		}
		return float64(x * x), nil
	}

	inputs := make([]int, *n)
	for i := range inputs {
		inputs[i] = i
	}
	results := map[int]float64{}
	p := pipeline.New(pipeline.WithContinueOnError())
	done := stage.OnDone(
		stage.Map(stage.FromSlice(p, inputs), longComputation, stage.WithWorkers(4)),
		func(x int, res float64, err error) {
			if err != nil {
				fmt.Printf("Failed %d: %v\n", x, err)
				return
			}
			results[x] = res
			fmt.Printf("Calculated %d\n", x)
		})
	_, err := sink.Count(ctx, done)
	fmt.Println(results)
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "interrupted")
		os.Exit(130)
	}
	fmt.Printf("%d of %d tasks failed\n", len(pipeline.ItemErrors[int](err)), *n)
}
