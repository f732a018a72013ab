// Command manualbar ports the seed's manual bar,
//
//	with tqdm(total=n_tasks) as pbar, ThreadPoolExecutor() as pool:
//	    ...
//	    for future in as_completed(futures):
//	        i, res = future.result()
//	        results[i] = res
//	        pbar.set_description(f"Calculated {i}")
//	        pbar.update(rows)
//
// The bar's description and its step become stage options: a weight
// function (here the rows each task produced, shown in rows/s) and a
// description function, called only when the bar is drawn, never per item.
// On Ctrl-C the bar ends "stopped", the results so far are printed and the
// exit status is 130.
//
//	go run ./examples/manualbar [-n 10] [-unit 120ms]
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

type result struct {
	square float64
	rows   int64 // how much work the task did
}

func main() {
	n := flag.Int("n", 10, "number of tasks")
	unit := flag.Duration("unit", 120*time.Millisecond, "task x sleeps x times this")
	flag.Parse()

	// Ctrl-C cancels ctx; a second Ctrl-C kills the program at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	context.AfterFunc(ctx, stop)

	compute := func(ctx context.Context, x int) (result, error) {
		select {
		case <-time.After(time.Duration(x) * *unit):
		case <-ctx.Done():
			return result{}, ctx.Err()
		}
		return result{square: float64(x * x), rows: int64(1000 * (x + 1))}, nil
	}

	var totalRows int64
	for x := range *n {
		totalRows += int64(1000 * (x + 1))
	}

	p := pipeline.New(progress.Bars(progress.WithTotal("compute", totalRows)))
	src := stage.FromSlice(p, tasks(*n), stage.WithName("tasks"))
	sq := stage.Map(src, compute, stage.WithName("compute"), stage.WithWorkers(4)).
		Weigh(pipeline.Rows, func(r result) int64 { return r.rows }).                     // pbar.update(rows)
		Describe(func(x int, _ result) string { return fmt.Sprintf("Calculated %d", x) }) // set_description
	results, err := sink.ByInput(ctx, sq, sink.WithName("results"))
	if err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for x := range *n {
		if r, ok := results[x]; ok {
			fmt.Printf("%d: %g (%d rows)\n", x, r.square, r.rows)
		}
	}
	if ctx.Err() != nil {
		fmt.Fprintf(os.Stderr, "interrupted: %d of %d results\n", len(results), *n)
		os.Exit(130)
	}
}

func tasks(n int) []int {
	xs := make([]int, n)
	for i := range xs {
		xs[i] = i
	}
	return xs
}
