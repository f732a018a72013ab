package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/flowbar/flowbar/internal/meterstest"
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// FailStage reports an error that belongs to no item, named by its stage:
// under continue-on-error next to the results, under fail-fast as the
// run's error. A nil error reports nothing.
func TestFailStage(t *testing.T) {
	errTeardown := errors.New("teardown failed")
	for _, cont := range []bool{false, true} {
		for _, workers := range []int{1, 3} {
			t.Run(fmt.Sprintf("continue=%v/workers=%d", cont, workers), func(t *testing.T) {
				var opts []pipeline.Option
				if cont {
					opts = append(opts, pipeline.WithContinueOnError())
				}
				p := pipeline.New(opts...)
				op := engine.OperatorFunc[int, int, int, int](func(w *engine.Worker[int, int, int, int]) {
					w.FailStage(nil)
					for it, ok := w.Next(); ok; it, ok = w.Next() {
						w.Emit(*it, w.Units(it))
					}
					w.FailStage(errTeardown)
				})
				out := engine.Attach([]*pipeline.Stream[int, int]{stage.FromSlice(p, []int{1, 2, 3})},
					engine.Spec[int, int, int, int]{Name: "pass", Kind: engine.KindMap, Workers: workers}, op)
				got, err := sink.Slice(context.Background(), out)
				if !errors.Is(err, errTeardown) || !strings.Contains(err.Error(), `pipeline: stage "pass": teardown failed`) {
					t.Fatalf("error %v, want the teardown error named by its stage", err)
				}
				if ies := pipeline.ItemErrors[int](err); len(ies) != 0 {
					t.Errorf("item errors %v", ies)
				}
				if cont && len(got) != 3 {
					t.Errorf("results %v, want all three", got)
				}
				meterstest.Check(t, p)
			})
		}
	}
}
