package sink_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

func ExampleGroupBy() {
	p := pipeline.New()
	words := stage.FromSlice(p, strings.Fields("apple avocado banana blueberry cherry apricot"))
	byLetter, _ := sink.GroupBy(context.Background(), stage.OrderedMap(words, func(_ context.Context, w string) (int, error) { return len(w), nil }),
		func(w string, _ int) byte { return w[0] })
	fmt.Println(byLetter['a'], byLetter['b'], byLetter['c'])
	// Output:
	// [5 7 7] [6 9] [6]
}

func ExampleCountBy() {
	p := pipeline.New()
	lines := stage.Lines(p, strings.NewReader("the cat\nthe hat\na cat"))
	words := stage.FlatMap(lines, func(_ context.Context, l stage.Line) ([]string, error) { return strings.Fields(l.Text), nil })
	counts, _ := sink.CountBy(context.Background(), words, func(_ stage.Line, w string) string { return w })
	fmt.Println(counts)
	// Output:
	// map[a:1 cat:2 hat:1 the:2]
}

func ExampleWriteLines() {
	p := pipeline.New()
	squares := stage.OrderedMap(stage.FromSlice(p, []int{1, 2, 3}), square)
	err := sink.WriteLines(context.Background(), squares, os.Stdout, func(x, sq int) string { return fmt.Sprintf("%d squared is %d", x, sq) })
	fmt.Println(err)
	// Output:
	// 1 squared is 1
	// 2 squared is 4
	// 3 squared is 9
	// <nil>
}

func ExampleFirst() {
	p := pipeline.New()
	// An endless source: First stops the run after three results.
	naturals := stage.Generate(p, func(ctx context.Context, emit func(int) bool) error {
		for i := 1; emit(i); i++ {
		}
		return nil
	})
	multiplesOf7 := stage.OrderedFilter(naturals, func(x int) bool { return x%7 == 0 })
	first, err := sink.First(context.Background(), multiplesOf7, 3)
	fmt.Println(first, err)
	// Output:
	// [{7 7} {14 14} {21 21}] <nil>
}
