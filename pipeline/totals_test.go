package pipeline_test

import (
	"context"
	"testing"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

func TestSetTotalFromAGenerator(t *testing.T) {
	p := pipeline.New()
	var total int64
	var final bool
	src := stage.Generate(p, func(ctx context.Context, emit func(int) bool) error {
		pipeline.SetTotal(ctx, 3)
		pipeline.SetWeightTotal(ctx, 30)
		total, final = pipeline.StageOf(ctx).Total()
		for i := range 3 {
			if !emit(i) {
				return nil
			}
		}
		return nil
	}, stage.WithUnit(pipeline.Bytes))
	if _, err := sink.Count(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	if total != 3 || !final {
		t.Errorf("declared total %d, %v; want 3, true", total, final)
	}
	if w, ok := p.Stages()[0].WeightTotal(); w != 30 || !ok {
		t.Errorf("weight total %d, %v", w, ok)
	}
}
