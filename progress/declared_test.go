package progress

import (
	"bytes"
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// A source that declares its totals while it runs (a walk that has
// counted its files) gives final totals, in items and in bytes, to itself
// and to the weighted stage after it before it has emitted everything.
func TestDeclaredTotals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ticks := make(chan time.Time)
		board := New(WithOutput(&bytes.Buffer{}), WithTerminal(false), WithTicks(ticks))
		p := pipeline.New(pipeline.WithObserver(board), pipeline.WithChunkSize(1))
		more := make(chan struct{})
		src := engine.ItemSource(p, engine.SourceSpec{Name: "walk", Unit: pipeline.Bytes}, func(ctx context.Context, emit func(engine.Item[int, int]) bool) error {
			emit(engine.Item[int, int]{Input: 100, Value: 100})
			emit(engine.Item[int, int]{Input: 150, Value: 150})
			engine.SetTotal(ctx, 4)
			engine.SetWeightTotal(ctx, 500)
			<-more
			emit(engine.Item[int, int]{Input: 250, Value: 250})
			return nil
		}).Weigh(pipeline.Bytes, func(v int) int64 { return int64(v) })
		g := newGate()
		hashed := stage.Map(src, func(ctx context.Context, v int) (int, error) { return v, g.pass(ctx) },
			stage.WithName("hash"), stage.WithWorkers(1)).Weigh(pipeline.Bytes, func(v int) int64 { return int64(v) })
		done := make(chan error, 1)
		go func() {
			_, err := sink.Count(context.Background(), hashed)
			done <- err
		}()
		g.release(1)
		synctest.Wait()
		tick(ticks)
		v := board.views()
		if v[0].kind != totalFinal || v[0].total != 500 || v[0].cur != 250 {
			t.Errorf("walk: %+v, want 250 of a final 500 bytes", v[0])
		}
		if v[1].kind != totalFinal || v[1].total != 500 || v[1].cur != 100 {
			t.Errorf("hash: %+v, want 100 of a final 500 bytes", v[1])
		}
		close(more)
		g.release(2)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		for _, s := range board.Summary()[:2] { // the walk and the hashing
			if s.Status != Done || s.Counts.Weight != 500 {
				t.Errorf("%s: %v, %d bytes; want done with 500", s.Name, s.Status, s.Counts.Weight)
			}
		}
	})
}
