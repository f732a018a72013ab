package pipeline_test

import (
	"context"
	"errors"
	"testing"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

type recordingObserver struct {
	starts, stops int
	err           error
}

func (o *recordingObserver) Start([]*pipeline.Stage) { o.starts++ }
func (o *recordingObserver) Stop(err error)          { o.stops++; o.err = err }

// A panic in the body of a range loop over sink.All must still stop the
// observers, or a progress board would keep its goroutines and bars.
func TestObserverStoppedWhenConsumerPanics(t *testing.T) {
	o := &recordingObserver{}
	p := pipeline.New(pipeline.WithObserver(o))
	src := stage.FromSlice(p, []int{1, 2, 3, 4})
	sq := stage.Map(src, func(_ context.Context, x int) (int, error) { return x * x, nil }, stage.WithWorkers(2))
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Fatalf("recovered %v, want the loop body's panic", v)
			}
		}()
		for range sink.All(context.Background(), sq) {
			panic("boom")
		}
	}()
	if o.starts != 1 || o.stops != 1 {
		t.Fatalf("Start called %d times, Stop %d times; want 1 and 1", o.starts, o.stops)
	}
	if !errors.Is(o.err, pipeline.ErrConsumerPanicked) {
		t.Fatalf("Stop got %v, want ErrConsumerPanicked", o.err)
	}
}
