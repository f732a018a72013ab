// Command resultsdict is the seed's "storing results in a dictionary"
// recipe. Python needs a pass-through function returning (x, f(x)), or a
// dictionary from futures back to inputs. In flowbar every result stays tied
// to the input it came from, so one call collects {input: result}.
//
//	go run ./examples/resultsdict [-n 10] [-unit 10ms]
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
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

	// long_computation(x): sleep x/2 units, return x*x. No pass-through.
	longComputation := func(ctx context.Context, x int) (int, error) {
		select {
		case <-time.After(time.Duration(float64(x) / 2 * float64(*unit))):
			return x * x, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}

	inputs := make([]int, *n)
	for i := range inputs {
		inputs[i] = i
	}
	p := pipeline.New()
	results, err := sink.ByInput(ctx,
		stage.Map(stage.FromSlice(p, inputs), longComputation, stage.WithWorkers(8)))
	if ctx.Err() != nil {
		fmt.Println(results) // what was done before Ctrl-C
		fmt.Fprintln(os.Stderr, "interrupted")
		os.Exit(130)
	}
	if err != nil {
		log.Fatal(err)
	}
	// fmt prints maps sorted by key.
	fmt.Println(results)
}
