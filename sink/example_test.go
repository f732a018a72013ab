package sink_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

func square(_ context.Context, x int) (int, error) { return x * x, nil }

// ByInput replaces both of the seed's dictionary recipes (pass-through
// function, futures dictionary) with one call.
func ExampleByInput() {
	p := pipeline.New()
	results, err := sink.ByInput(context.Background(), stage.Map(stage.FromSlice(p, []int{1, 2, 3}), square))
	fmt.Println(results, err)
	// Output:
	// map[1:1 2:4 3:9] <nil>
}

func ExampleByKey() {
	p := pipeline.New()
	words := stage.FromSlice(p, []string{"apple", "banana", "cherry"})
	byFirst, _ := sink.ByKey(context.Background(), words, func(_ string, w string) byte { return w[0] })
	fmt.Println(byFirst['b'])
	// Output:
	// banana
}

func ExampleSlice() {
	p := pipeline.New()
	got, _ := sink.Slice(context.Background(), stage.OrderedMap(stage.FromSlice(p, []int{3, 1, 2}), square))
	fmt.Println(got)
	// Output:
	// [9 1 4]
}

func ExampleForEach() {
	p := pipeline.New()
	in := stage.OrderedMap(stage.FromSlice(p, []int{1, 2, 3}), square)
	err := sink.ForEach(context.Background(), in, func(x, sq int) error {
		fmt.Printf("%d squared is %d\n", x, sq)
		return nil
	})
	fmt.Println(err)
	// Output:
	// 1 squared is 1
	// 2 squared is 4
	// 3 squared is 9
	// <nil>
}

func ExampleReduce() {
	p := pipeline.New()
	total, _ := sink.Reduce(context.Background(), stage.Map(stage.FromSlice(p, []int{1, 2, 3, 4}), square), 0,
		func(acc, sq int) int { return acc + sq })
	fmt.Println(total)
	// Output:
	// 30
}

func ExampleCount() {
	p := pipeline.New()
	n, _ := sink.Count(context.Background(), stage.FromSeq(p, strings.SplitSeq("a,b,c", ",")))
	fmt.Println(n)
	// Output:
	// 3
}

// All reads results while the rest still run (the seed's "collect inside the
// context"); breaking out of the loop stops the run.
func ExampleAll() {
	p := pipeline.New()
	squares := stage.OrderedMap(stage.FromSlice(p, []int{1, 2, 3, 4, 5}), square, stage.WithWorkers(2))
	for r, err := range sink.All(context.Background(), squares) {
		if err != nil {
			fmt.Println("error:", err)
			break
		}
		fmt.Println(r.Input, r.Value)
		if r.Value >= 9 {
			break
		}
	}
	// Output:
	// 1 1
	// 2 4
	// 3 9
}
