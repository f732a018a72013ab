package stage_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/flowbar/flowbar/internal/meterstest"
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// An unbatch whose outputs could not all be handed on because the run was
// cancelled counts the ones it could not as cancelled: it used to count the
// whole batch as handed on with its first output, so the items of the rest
// of the batch ended nowhere.
func TestUnbatchCountsEveryItemWhenCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 100
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		p := pipeline.New(pipeline.WithChunkSize(1)) // one output per hand-off
		batches := stage.Batch(stage.FromSlice(p, ints(n)), n, 0)
		items := stage.Unbatch(batches, stage.WithWorkers(1))
		release := make(chan struct{})
		var first atomic.Bool
		done := make(chan error)
		go func() {
			done <- sink.ForEach(ctx, items, func(int, int) error {
				if first.CompareAndSwap(false, true) {
					<-release // the unbatch fills the edge and waits for room
				}
				return nil
			})
		}()
		synctest.Wait()
		cancel()
		close(release)
		if err := <-done; err != context.Canceled {
			t.Fatalf("error %v, want context.Canceled", err)
		}
		meterstest.Check(t, p)
		var ended int64
		for _, st := range p.Stages()[1:] {
			c := st.Counts()
			ended += c.Failed + c.Dropped + c.Cancelled
		}
		if out := p.Stages()[3].Counts().Out; ended+out != n {
			t.Errorf("%d items ended in the stages and %d in the sink, want %d in all", ended, out, n)
		}
	})
}
