package stage_test

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// Tee sends every word to two branches, each with its own sink; sink.Run
// runs both in one run.
func ExampleTee() {
	p := pipeline.New()
	words := stage.FromSlice(p, []string{"go", "flowbar", "pipe", "tee"})
	b := stage.Tee(words, 2)
	upper := stage.Map(b[0], func(_ context.Context, w string) (string, error) { return strings.ToUpper(w), nil })
	byWord := sink.Later(upper, sink.ByInput) // branch 1: map[word]WORD
	letters := sink.LaterFunc(b[1], func(ctx context.Context, s *pipeline.Stream[string, string]) (int, error) {
		return sink.Reduce(ctx, s, 0, func(n int, w string) int { return n + len(w) }) // branch 2: a total
	})
	err := sink.Run(context.Background(), p)
	fmt.Println(byWord.Value()["flowbar"], letters.Value(), err)
	// Output:
	// FLOWBAR 16 <nil>
}

// MapByKey keeps a running total per user: the items of one user go to
// one worker, in input order, so a user's total needs no lock.
func ExampleMapByKey() {
	type payment struct {
		user   string
		amount int
	}
	p := pipeline.New()
	payments := stage.FromSlice(p, []payment{{"ann", 5}, {"bob", 1}, {"ann", 7}, {"bob", 2}, {"ann", 1}})
	var totals sync.Map // user -> *int, each touched by one worker at a time
	running := stage.MapByKey(payments,
		func(pm payment) string { return pm.user },
		func(_ context.Context, pm payment) (int, error) {
			t, _ := totals.LoadOrStore(pm.user, new(int))
			*t.(*int) += pm.amount
			return *t.(*int), nil
		}, stage.WithWorkers(4))
	byUser := map[string][]int{} // the running totals, as handed on
	_ = sink.ForEach(context.Background(), running, func(pm payment, total int) error {
		byUser[pm.user] = append(byUser[pm.user], total)
		return nil
	})
	fmt.Println(byUser)
	// Output:
	// map[ann:[5 12 13] bob:[1 3]]
}
