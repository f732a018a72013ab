package pipeline_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// When items become slow after fast ones (here 2 µs, then 1 s), a map must
// hand each result on as it completes instead of holding results for a
// chunk sized to the fast ones (as-completed promise; progress bars
// downstream lag otherwise).
func TestHandOffFollowsSlowerItems(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pipeline.New()
		xs := []int{0, 0, 0, 1, 1, 1, 1, 1, 1, 1}
		src := stage.FromSlice(p, xs)
		sq := stage.Map(src, func(_ context.Context, x int) (int, error) {
			if x > 0 {
				time.Sleep(time.Second)
			} else {
				time.Sleep(2 * time.Microsecond)
			}
			return x, nil
		}, stage.WithWorkers(1))
		got := 0
		start := time.Now()
		for r, err := range sink.All(context.Background(), sq) {
			if err != nil {
				t.Fatal(err)
			}
			got++
			if r.Input == 1 {
				// The k-th slow item completes k seconds after the three
				// fast ones.
				done := 3*2*time.Microsecond + time.Duration(got-3)*time.Second
				if late := time.Since(start) - done; late > 0 {
					t.Fatalf("result %d arrived %v after it was done", got, late)
				}
			}
		}
		if got != len(xs) {
			t.Fatalf("got %d results", got)
		}
	})
}
