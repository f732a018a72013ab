package pipeline_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// A map stage with a describe function must not fail items when its
// emitter hands a chunk on: the description pointed at the emptied buffer.
func TestDescribeSurvivesChunkHandOff(t *testing.T) {
	for _, chunk := range []int{1, 2, 512} {
		t.Run(fmt.Sprint(chunk), func(t *testing.T) {
			p := pipeline.New(pipeline.WithChunkSize(chunk))
			xs := make([]int, 5000)
			for i := range xs {
				xs[i] = i
			}
			src := stage.FromSlice(p, xs)
			sq := stage.Map(src, func(_ context.Context, x int) (int, error) { return x * x, nil },
				stage.WithWorkers(2)).Describe(func(x, v int) string { return fmt.Sprint(x, v) })
			m, err := sink.ByInput(context.Background(), sq)
			if err != nil {
				t.Fatal(err)
			}
			if len(m) != len(xs) {
				t.Fatalf("got %d results, want %d", len(m), len(xs))
			}
			st := p.Stages()[1]
			if c := st.Counts(); !c.Balanced() || c.Out != int64(len(xs)) || c.Failed != 0 {
				t.Fatalf("counts %+v", c)
			}
			if st.Description() == "" {
				t.Fatal("no description after the run")
			}
		})
	}
}
