// Command wrappedloop ports the seed's first progress recipe,
//
//	for i in tqdm(range(10)):
//	    results[i] = long_computation(i)
//
// to a one-stage pipeline whose bar advances as items complete. With one
// worker it runs the loop in order, like the Python code; -workers makes
// it concurrent without other change.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
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
	results, err := sink.ByInput(context.Background(), sq, sink.WithName("results"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, k := range slices.Sorted(mapsKeys(results)) {
		fmt.Printf("%d: %d\n", k, results[k])
	}
}

func rangeN(n int) []int {
	xs := make([]int, n)
	for i := range xs {
		xs[i] = i
	}
	return xs
}

func mapsKeys(m map[int]int) func(func(int) bool) {
	return func(yield func(int) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
