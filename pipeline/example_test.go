package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// The seed recipe "results[i] = long_computation(i)" over a thread pool:
// one stage, results keyed by input.
func Example() {
	p := pipeline.New()
	squares := stage.Map(stage.FromSlice(p, []float64{10, 11, 12}),
		func(_ context.Context, x float64) (float64, error) { return x * x, nil },
		stage.WithWorkers(3))
	results, err := sink.ByInput(context.Background(), squares)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	for _, x := range slices.Sorted(maps.Keys(results)) {
		fmt.Printf("%v: %v\n", x, results[x])
	}
	// Output:
	// 10: 100
	// 11: 121
	// 12: 144
}

// Under fail-fast (the default) the first failure stops the run and is
// returned with the input it came from.
func Example_failFast() {
	p := pipeline.New()
	parsed := stage.Map(stage.FromSlice(p, []string{"1", "2", "x", "4"}),
		func(_ context.Context, s string) (int, error) { return strconv.Atoi(s) },
		stage.WithName("parse"), stage.WithWorkers(1))
	_, err := sink.ByInput(context.Background(), parsed)
	var ie *pipeline.ItemError[string]
	if errors.As(err, &ie) {
		fmt.Printf("stage %s failed on %q\n", ie.Stage, ie.Input)
	}
	// Output:
	// stage parse failed on "x"
}

// With WithContinueOnError every item runs: the sink returns every success and
// every failure with its input.
func ExampleWithContinueOnError() {
	p := pipeline.New(pipeline.WithContinueOnError())
	parsed := stage.Map(stage.FromSlice(p, []string{"1", "two", "3", "four"}),
		func(_ context.Context, s string) (int, error) { return strconv.Atoi(s) },
		stage.WithName("parse"))
	results, err := sink.ByInput(context.Background(), parsed)
	fmt.Println(len(results), "parsed:", results["1"], results["3"])
	failed := pipeline.ItemErrors[string](err)
	slices.SortFunc(failed, func(a, b *pipeline.ItemError[string]) int {
		return len(a.Input) - len(b.Input)
	})
	for _, f := range failed {
		fmt.Printf("%s: %q: %v\n", f.Stage, f.Input, errors.Unwrap(f.Err))
	}
	// Output:
	// 2 parsed: 1 3
	// parse: "two": invalid syntax
	// parse: "four": invalid syntax
}

// After a run, every stage's meters add up.
func ExampleStage_Counts() {
	p := pipeline.New()
	evens := stage.Filter(stage.FromSlice(p, []int{1, 2, 3, 4, 5, 6}),
		func(x int) bool { return x%2 == 0 }, stage.WithName("evens"))
	if _, err := sink.Count(context.Background(), evens, sink.WithName("count")); err != nil {
		fmt.Println(err)
	}
	for _, s := range p.Stages() {
		c := s.Counts()
		fmt.Printf("%-7s %-6s in=%d out=%d dropped=%d balanced=%v\n", s.Name(), s.Kind(), c.In, c.Out, c.Dropped, c.Balanced())
	}
	// Output:
	// source0 source in=6 out=6 dropped=0 balanced=true
	// evens   filter in=6 out=3 dropped=3 balanced=true
	// count   sink   in=3 out=3 dropped=0 balanced=true
}

// A panic in a user function becomes the item's error.
func ExamplePanicError() {
	p := pipeline.New()
	out := stage.Map(stage.FromSlice(p, []int{1, 0, 2}), func(_ context.Context, x int) (int, error) {
		return 10 / x, nil
	}, stage.WithName("divide"))
	_, err := sink.Slice(context.Background(), out)
	var pe *pipeline.PanicError
	fmt.Println(errors.As(err, &pe), err)
	// Output:
	// true pipeline: stage "divide": item 0: panic: runtime error: integer divide by zero (at example_test.go:97)
}
