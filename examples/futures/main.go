// Command futures is the seed's first concurrent.futures demo in flowbar:
// three long computations (10, 11 and 12, each sleeping x/2 time units) run
// side by side; each result is printed with its elapsed time as soon as it
// completes, then the whole results map.
//
// In Python the results come at 5, 5.5 and 6 seconds when read inside the
// executor's context. Here one time unit is 100 ms by default, so the run
// takes 0.6 s; -unit=1s gives the original timing.
//
//	go run ./examples/futures [-unit 100ms]
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"maps"
	"os"
	"os/signal"
	"slices"
	"time"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

func main() {
	unit := flag.Duration("unit", 100*time.Millisecond, "length of one time unit (the seed uses 1s)")
	flag.Parse()

	// Ctrl-C cancels ctx; a second Ctrl-C kills the program at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	context.AfterFunc(ctx, stop)

	longComputation := func(ctx context.Context, x float64) (float64, error) {
		select {
		case <-time.After(time.Duration(x / 2 * float64(*unit))):
			return x * x, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}

	start := time.Now()
	p := pipeline.New()
	squares := stage.Map(stage.FromSlice(p, []float64{10, 11, 12}), longComputation, stage.WithWorkers(3))

	// Read each result as it completes: the seed's "collect inside the
	// executor's context".
	results := map[float64]float64{}
	for r, err := range sink.All(ctx, squares) {
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "interrupted")
			os.Exit(130)
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%v: %v (after %.1f units)\n", r.Input, r.Value, float64(time.Since(start))/float64(*unit))
		results[r.Input] = r.Value
	}
	fmt.Print("results: {")
	for i, x := range slices.Sorted(maps.Keys(results)) {
		if i > 0 {
			fmt.Print(", ")
		}
		fmt.Printf("%v: %v", x, results[x])
	}
	fmt.Println("}")
}
