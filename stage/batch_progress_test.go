package stage_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/flowbar/flowbar/internal/meterstest"
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/progress"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// A progress board counts the items of batching stages, not their
// batches: Batch, a map over whole batches, Unbatch and MapBatch all show
// every item, in their summaries and in the lines they print.
func TestBatchingStagesShowItemsOnProgress(t *testing.T) {
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			const n, size = 1000, 64
			var out bytes.Buffer
			board := progress.New(progress.WithOutput(&out), progress.WithTerminal(false))
			p := pipeline.New(pipeline.WithObserver(board))
			batches := stage.Batch(stage.FromSlice(p, ints(n)), size, 0, stage.WithName("batch"))
			batches = stage.Map(batches, tenTimes, stage.WithWorkers(workers), stage.WithName("bulk"))
			items := stage.Unbatch(batches, stage.WithWorkers(workers), stage.WithName("unbatch"))
			items = stage.MapBatch(items, size, 0, tenTimes, stage.WithWorkers(workers), stage.WithName("mapbatch"))
			m, err := sink.ByInput(context.Background(), items)
			if err != nil || len(m) != n {
				t.Fatalf("%d results, error %v", len(m), err)
			}
			meterstest.Check(t, p)
			sum := board.Summary()
			if len(sum) != 6 {
				t.Fatalf("%d stages in the summary", len(sum))
			}
			for _, s := range sum {
				if s.Amount() != n || s.Counts.In != n || s.Status != progress.Done {
					t.Errorf("stage %s: amount %d, counts %+v, %s; want %d items done", s.Name, s.Amount(), s.Counts, s.Status, n)
				}
			}
			for _, name := range []string{"batch", "bulk", "unbatch", "mapbatch"} {
				if !strings.Contains(out.String(), fmt.Sprintf("%s: done, %d items", name, n)) {
					t.Errorf("no summary line of %s with %d items in:\n%s", name, n, out.String())
				}
			}
		})
	}
}
