package progress_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"strings"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/progress"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// One option turns bars on; here they go to a discarded writer so that
// the example's output is only its results.
func ExampleBars() {
	p := pipeline.New(progress.Bars(progress.WithOutput(io.Discard)))
	src := stage.FromSlice(p, []int{1, 2, 3})
	sq := stage.Map(src, func(_ context.Context, x int) (int, error) { return x * x, nil })
	m, err := sink.ByInput(context.Background(), sq)
	fmt.Println(m, err)
	// Output: map[1:1 2:4 3:9] <nil>
}

// A board kept by the caller gives each stage's figures after the run.
func ExampleBoard_Summary() {
	board := progress.New(progress.WithOutput(io.Discard))
	p := pipeline.New(pipeline.WithObserver(board), pipeline.WithContinueOnError())
	src := stage.FromSlice(p, []string{"a", "bb", "", "dddd"}, stage.WithName("words"))
	lengths := stage.Map(src, func(_ context.Context, w string) (int, error) {
		if w == "" {
			return 0, fmt.Errorf("empty word")
		}
		return len(w), nil
	}, stage.WithName("measure")).Weigh(pipeline.Rows, func(n int) int64 { return int64(n) })
	_, _ = sink.Slice(context.Background(), lengths, sink.WithName("collect"))
	for _, s := range board.Summary() {
		fmt.Printf("%s: %v, %d done, %d failed, amount %d %q\n", s.Name, s.Status, s.Counts.Done(), s.Counts.Failed, s.Amount(), s.Unit)
	}
	// Output:
	// words: done, 4 done, 0 failed, amount 4 ""
	// measure: failed, 4 done, 1 failed, amount 7 "rows"
	// collect: done, 3 done, 0 failed, amount 3 ""
}

// Reader moves a bytes-weighted stage while a large input is read.
func ExampleReader() {
	board := progress.New(progress.WithOutput(io.Discard))
	p := pipeline.New(pipeline.WithObserver(board))
	docs := []string{strings.Repeat("x", 5000), strings.Repeat("y", 3000)}
	src := stage.FromSlice(p, docs)
	sums := stage.Map(src, func(ctx context.Context, doc string) (string, error) {
		h := sha256.New()
		_, err := io.Copy(h, progress.Reader(ctx, strings.NewReader(doc)))
		return fmt.Sprintf("%x", h.Sum(nil))[:8], err
	}, stage.WithName("hash"), stage.WithUnit(pipeline.Bytes))
	n, _ := sink.Count(context.Background(), sums)
	fmt.Println(n, "documents,", board.Summary()[1].Counts.Weight, "bytes")
	// Output: 2 documents, 8000 bytes
}
