package engine_test

import (
	"context"
	"testing"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// The workers of an ordered stage that exit at the same moment tell its
// sequencer once: the last two could both see that none was left and both
// close its channel, a panic that crashed the run's caller.
func TestOrderedWorkersExitTogether(t *testing.T) {
	for range 5000 {
		engine.ExitTogether(2)
	}
	// The same through a stage, whose workers end with the input.
	for range 200 {
		p := pipeline.New()
		s := stage.OrderedMap(stage.FromSlice(p, ints(2)), func(_ context.Context, x int) (int, error) { return x, nil }, stage.WithWorkers(16))
		if n, err := sink.Count(context.Background(), s); err != nil || n != 2 {
			t.Fatalf("%d results, error %v", n, err)
		}
	}
}
