package stage_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// FlatMapEmit streams a large expansion: each output goes on as it is
// emitted, at the pace of the next stage, instead of in one slice. Here
// every document becomes its lines, each keeping its document's name.
func ExampleFlatMapEmit() {
	docs := map[string]string{"a.txt": "one\ntwo", "b.txt": "three"}
	p := pipeline.New()
	names := stage.FromSlice(p, []string{"a.txt", "b.txt"})
	lines := stage.FlatMapEmit(names, func(ctx context.Context, name string, emit func(string) bool) error {
		sc := bufio.NewScanner(strings.NewReader(docs[name]))
		for sc.Scan() {
			if !emit(sc.Text()) {
				return ctx.Err() // the run was cancelled
			}
		}
		return sc.Err()
	}, stage.WithWorkers(1))
	err := sink.ForEach(context.Background(), lines, func(name, line string) error {
		fmt.Println(name, line)
		return nil
	})
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// a.txt one
	// a.txt two
	// b.txt three
}

// FlatMapSeq takes its outputs from an iterator; an error in the sequence
// fails the item, after the outputs before it.
func ExampleFlatMapSeq() {
	p := pipeline.New(pipeline.WithContinueOnError())
	counts := stage.FromSlice(p, []int{2, -1, 3})
	repeated := stage.FlatMapSeq(counts, func(_ context.Context, n int) iter.Seq2[string, error] {
		return func(yield func(string, error) bool) {
			if n < 0 {
				yield("", errors.New("negative count"))
				return
			}
			for i := range n {
				if !yield(fmt.Sprintf("%d.%d", n, i), nil) {
					return
				}
			}
		}
	}, stage.WithWorkers(1))
	got, err := sink.Slice(context.Background(), repeated)
	fmt.Println(got)
	for _, ie := range pipeline.ItemErrors[int](err) {
		fmt.Println(ie.Input, ie.Err)
	}
	// Output:
	// [2.0 2.1 3.0 3.1 3.2]
	// -1 negative count
}

// MapBatch calls its function once per batch (one bulk request, one
// insert) but the results stay keyed by their own inputs; a failed batch
// fails each of its items.
func ExampleMapBatch() {
	p := pipeline.New(pipeline.WithContinueOnError())
	ids := stage.FromSlice(p, []int{1, 2, 3, 4, 5, 6, 7})
	calls := 0
	names := stage.MapBatch(ids, 3, 0, func(_ context.Context, ids []int) ([]string, error) {
		calls++
		if slices.Contains(ids, 5) {
			return nil, errors.New("lookup failed")
		}
		out := make([]string, len(ids))
		for i, id := range ids {
			out[i] = fmt.Sprintf("user%d", id)
		}
		return out, nil
	}, stage.WithWorkers(1), stage.WithName("lookup"))
	m, err := sink.ByInput(context.Background(), names)
	for _, id := range slices.Sorted(maps.Keys(m)) {
		fmt.Println(id, m[id])
	}
	for _, ie := range pipeline.ItemErrors[int](err) {
		fmt.Println(ie)
	}
	fmt.Println(calls, "calls for", p.Stages()[1].Counts().In, "items")
	// Output:
	// 1 user1
	// 2 user2
	// 3 user3
	// 7 user7
	// pipeline: stage "lookup": item 4: lookup failed
	// pipeline: stage "lookup": item 5: lookup failed
	// pipeline: stage "lookup": item 6: lookup failed
	// 3 calls for 7 items
}
