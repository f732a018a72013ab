package stage_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

func ExampleMap() {
	p := pipeline.New()
	lengths := stage.Map(stage.FromSlice(p, []string{"go", "flowbar", "pipe"}),
		func(_ context.Context, s string) (int, error) { return len(s), nil },
		stage.WithWorkers(4))
	m, _ := sink.ByInput(context.Background(), lengths)
	fmt.Println(m["go"], m["flowbar"], m["pipe"])
	// Output:
	// 2 7 4
}

func ExampleOrderedMap() {
	p := pipeline.New()
	upper := stage.OrderedMap(stage.FromSlice(p, []string{"a", "b", "c", "d"}),
		func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil },
		stage.WithWorkers(4))
	got, _ := sink.Slice(context.Background(), upper)
	fmt.Println(got)
	// Output:
	// [A B C D]
}

func ExampleFilter() {
	p := pipeline.New()
	odd := stage.OrderedFilter(stage.FromSlice(p, []int{1, 2, 3, 4, 5}), func(x int) bool { return x%2 == 1 })
	got, _ := sink.Slice(context.Background(), odd)
	fmt.Println(got)
	// Output:
	// [1 3 5]
}

// OnDone is Python's add_done_callback with the input bound: the callback
// gets the original input with each outcome, serially, so it needs no lock.
func ExampleOnDone() {
	p := pipeline.New()
	squares := stage.Map(stage.FromSlice(p, []int{1, 2, 3}),
		func(_ context.Context, x int) (int, error) { return x * x, nil })
	results := map[int]int{}
	squares = stage.OnDone(squares, func(x, sq int, err error) {
		if err == nil {
			results[x] = sq
		}
	})
	if _, err := sink.Count(context.Background(), squares); err != nil {
		fmt.Println(err)
	}
	for _, x := range slices.Sorted(maps.Keys(results)) {
		fmt.Printf("Calculated %d -> %d\n", x, results[x])
	}
	// Output:
	// Calculated 1 -> 1
	// Calculated 2 -> 4
	// Calculated 3 -> 9
}

func ExampleGenerate() {
	p := pipeline.New()
	fib := stage.Generate(p, func(ctx context.Context, emit func(int) bool) error {
		a, b := 0, 1
		for range 10 {
			if !emit(a) {
				return ctx.Err()
			}
			a, b = b, a+b
		}
		return nil
	})
	sum, _ := sink.Reduce(context.Background(), fib, 0, func(acc, x int) int { return acc + x })
	fmt.Println(sum)
	// Output:
	// 88
}

func ExampleFromSeq() {
	p := pipeline.New()
	words := stage.FromSeq(p, strings.FieldsSeq("to be or not to be"))
	n, _ := sink.Count(context.Background(), stage.Filter(words, func(w string) bool { return len(w) == 2 }))
	fmt.Println(n)
	// Output:
	// 5
}

func ExampleFromChan() {
	ch := make(chan int)
	go func() {
		defer close(ch)
		for i := 1; i <= 4; i++ {
			ch <- i
		}
	}()
	p := pipeline.New()
	sum, _ := sink.Reduce(context.Background(), stage.FromChan(p, ch), 0, func(acc, x int) int { return acc + x })
	fmt.Println(sum)
	// Output:
	// 10
}

// Weigh and Describe on a stage's output are the seed's manual bar:
// update(n) by a weight, and set_description with the last item, read only
// when a bar redraws.
func Example_weighAndDescribe() {
	p := pipeline.New()
	docs := []string{"short", "a longer text", "mid-size"}
	sized := stage.OrderedMap(stage.FromSlice(p, docs),
		func(_ context.Context, s string) (int, error) { return len(s), nil },
		stage.WithWorkers(1)).
		Weigh(pipeline.Bytes, func(n int) int64 { return int64(n) }).
		Describe(func(doc string, n int) string { return fmt.Sprintf("Calculated %q", doc) })
	if _, err := sink.Count(context.Background(), sized); err != nil {
		fmt.Println(err)
	}
	st := p.Stages()[1]
	fmt.Println(st.Counts().Weight, st.Unit(), st.Description())
	// Output:
	// 26 bytes Calculated "mid-size"
}

// FlatMap turns each item into zero or more, each keeping the item's
// input: here, the words of each line. An item that makes nothing counts
// as dropped; the stage emits more items than it takes in.
func ExampleFlatMap() {
	p := pipeline.New()
	lines := stage.FromSlice(p, []string{"to be", "", "or not"})
	words := stage.FlatMap(lines, func(_ context.Context, line string) ([]string, error) {
		return strings.Fields(line), nil
	}, stage.WithWorkers(1))
	err := sink.ForEach(context.Background(), words, func(line, word string) error {
		fmt.Printf("%q: %s\n", line, word)
		return nil
	})
	if err != nil {
		fmt.Println(err)
	}
	c := p.Stages()[1].Counts()
	fmt.Printf("%d lines, %d empty, %d words\n", c.In, c.Dropped, c.Emitted)
	// Output:
	// "to be": to
	// "to be": be
	// "or not": or
	// "or not": not
	// 3 lines, 1 empty, 4 words
}

// Batch groups items, here into batches of at most three; the last batch
// holds what is left at the end of the input. Meters count items, not
// batches.
func ExampleBatch() {
	p := pipeline.New()
	batches := stage.Batch(stage.FromSlice(p, []int{1, 2, 3, 4, 5, 6, 7}), 3, 0)
	got, _ := sink.Slice(context.Background(), batches)
	fmt.Println(got)
	fmt.Println(p.Stages()[1].Counts().Out, "items")
	// Output:
	// [[1 2 3] [4 5 6] [7]]
	// 7 items
}

// Unbatch after a map over whole batches (one request per batch, as a bulk
// lookup makes) pairs each value with its input again, so that the results
// are keyed by input.
func ExampleUnbatch() {
	p := pipeline.New()
	ids := stage.FromSlice(p, []int{1, 2, 3, 4, 5})
	names := stage.Map(stage.Batch(ids, 2, 0), func(_ context.Context, ids []int) ([]string, error) {
		out := make([]string, len(ids))
		for i, id := range ids {
			out[i] = fmt.Sprintf("user%d", id)
		}
		return out, nil
	})
	m, _ := sink.ByInput(context.Background(), stage.Unbatch(names))
	for _, id := range slices.Sorted(maps.Keys(m)) {
		fmt.Println(id, m[id])
	}
	// Output:
	// 1 user1
	// 2 user2
	// 3 user3
	// 4 user4
	// 5 user5
}

// Merge joins streams of the same types as their items arrive; the merged
// total is the sum of theirs.
func ExampleMerge() {
	p := pipeline.New()
	local := stage.FromSlice(p, []string{"a.txt", "b.txt"})
	remote := stage.FromSlice(p, []string{"s3://c.txt"})
	files := stage.Merge([]*pipeline.Stream[string, string]{local, remote})
	total, _ := files.From().Total()
	got, _ := sink.Slice(context.Background(), files)
	slices.Sort(got)
	fmt.Println(total, got)
	// Output:
	// 3 [a.txt b.txt s3://c.txt]
}
