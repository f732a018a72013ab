// Command quickstart runs a slow function over 40 inputs on 8 workers,
// with a live progress bar, and collects the results by input. Ctrl-C
// stops it cleanly.
package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/signal"
	"time"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/progress"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// longComputation stands for real work: a request, a file, a model.
func longComputation(ctx context.Context, x float64) (float64, error) {
	select {
	case <-time.After(time.Duration(x) * 10 * time.Millisecond):
		return math.Sqrt(x), nil
	case <-ctx.Done(): // the run was cancelled: stop early
		return 0, ctx.Err()
	}
}

func main() {
	// Ctrl-C cancels ctx: the run stops, the bar ends "stopped".
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	inputs := make([]float64, 40)
	for i := range inputs {
		inputs[i] = float64(i)
	}
	p := pipeline.New(progress.Bars()) // a live bar on stderr; leave it out for none
	roots := stage.Map(stage.FromSlice(p, inputs), longComputation, stage.WithWorkers(8))
	results, err := sink.ByInput(ctx, roots) // map[float64]float64: {input: result}
	if ctx.Err() != nil {
		fmt.Fprintf(os.Stderr, "interrupted: %d of %d done\n", len(results), len(inputs))
		os.Exit(130)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(results[2], results[39])
}
