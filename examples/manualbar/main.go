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
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
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
	sq := stage.Map(src, compute, stage.WithName("compute"), stage.WithWorkers(4)). // pbar.update(rows)
											Describe(func(x int, _ result) string { return fmt.Sprintf("Calculated %d", x) }).Weigh(pipeline.Rows, func(r result) int64 { return r.rows }) // set_description
	results, err := sink.ByInput(context.Background(), sq, sink.WithName("results"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for x := range *n {
		fmt.Printf("%d: %g (%d rows)\n", x, results[x].square, results[x].rows)
	}
}

func tasks(n int) []int {
	xs := make([]int, n)
	for i := range xs {
		xs[i] = i
	}
	return xs
}
