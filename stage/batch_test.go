package stage_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/flowbar/flowbar/internal/meterstest"
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

func TestBatchFillsBatches(t *testing.T) {
	tests := []struct {
		n, size int
		maxWait time.Duration
	}{
		{0, 3, 0},
		{1, 3, 0},
		{9, 3, 0},
		{10, 3, time.Hour}, // the last, partial batch goes on at the end of the input
		{1000, 64, 0},
		{1000, 1, 0},
	}
	for _, tt := range tests {
		for _, workers := range []int{1, 8} {
			t.Run(fmt.Sprintf("n=%d/size=%d/wait=%v/upstream=%d", tt.n, tt.size, tt.maxWait, workers), func(t *testing.T) {
				p := pipeline.New()
				// Workers before the batch: batches then fill in completion
				// order, but every one but the last is full.
				s := stage.Map(stage.FromSlice(p, ints(tt.n)), id, stage.WithWorkers(workers))
				got, err := collectBatches(context.Background(), stage.Batch(s, tt.size, tt.maxWait, stage.WithName("batch")))
				if err != nil {
					t.Fatal(err)
				}
				var all []int
				for i, b := range got {
					if !slices.Equal(b.in, b.v) {
						t.Errorf("batch %d: inputs %v, values %v", i, b.in, b.v)
					}
					if len(b.v) != tt.size && i != len(got)-1 || len(b.v) == 0 || len(b.v) > tt.size {
						t.Errorf("batch %d of %d holds %d items, size %d", i, len(got), len(b.v), tt.size)
					}
					all = append(all, b.v...)
				}
				if workers > 1 {
					slices.Sort(all)
				}
				if !slices.Equal(all, ints(tt.n)) {
					t.Errorf("batches hold %v", all)
				}
				if want := (tt.n + tt.size - 1) / tt.size; len(got) != want {
					t.Errorf("%d batches, want %d", len(got), want)
				}
				meterstest.Check(t, p)
				// Counted in items, here and after.
				for _, st := range p.Stages()[2:] {
					if c := st.Counts(); c.In != int64(tt.n) || c.Out != int64(tt.n) || c.Emitted != int64(tt.n) {
						t.Errorf("stage %s counts %+v, want %d items", st.Name(), c, tt.n)
					}
				}
			})
		}
	}
}

// collectBatches runs a stream of batches to its end: the batches with
// their inputs, in arrival order.
func collectBatches(ctx context.Context, s *pipeline.Stream[[]int, []int]) ([]batchPair, error) {
	var got []batchPair
	err := sink.ForEach(ctx, s, func(in, v []int) error {
		got = append(got, batchPair{in, v})
		return nil
	})
	return got, err
}

// batchPair is one batch with its inputs.
type batchPair struct{ in, v []int }

// A partial batch goes on once its first item has waited maxWait, however
// long the next item takes; a batch that fills up goes on at once.
func TestBatchMaxWait(t *testing.T) {
	type arrival struct {
		at    time.Duration
		batch []int
	}
	tests := []struct {
		size int
		want []arrival
	}{
		{3, []arrival{{0, []int{0, 1, 2}}, {time.Second, []int{3}}, {11 * time.Second, []int{4}}, {20 * time.Second, []int{5, 6}}}},
		{100, []arrival{{time.Second, []int{0, 1, 2, 3}}, {11 * time.Second, []int{4}}, {20 * time.Second, []int{5, 6}}}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("size=%d", tt.size), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				p := pipeline.New()
				// Four items, a pause of 10s, one more, a pause of 10s, the
				// last two.
				src := stage.Generate(p, func(ctx context.Context, emit func(int) bool) error {
					for i := range 7 {
						if i == 4 || i == 5 {
							time.Sleep(10 * time.Second)
						}
						if !emit(i) {
							return ctx.Err()
						}
					}
					return nil
				})
				var got []arrival
				err := sink.ForEach(context.Background(), stage.Batch(src, tt.size, time.Second), func(_, v []int) error {
					got = append(got, arrival{time.Since(start), v})
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.EqualFunc(got, tt.want, func(a, b arrival) bool { return a.at == b.at && slices.Equal(a.batch, b.batch) }) {
					t.Errorf("batches %v, want %v", got, tt.want)
				}
				meterstest.Check(t, p)
			})
		})
	}
}

// Under continue-on-error an item that failed upstream passes the batch as
// a batch of one failure record, and is counted where it failed.
func TestBatchPassesFailures(t *testing.T) {
	errBad := errors.New("bad")
	p := pipeline.New(pipeline.WithContinueOnError())
	s := stage.Map(stage.FromSlice(p, ints(10)), func(_ context.Context, x int) (int, error) {
		if x%3 == 0 {
			return 0, errBad
		}
		return x, nil
	}, stage.WithWorkers(1), stage.WithName("check"))
	got, err := collectBatches(context.Background(), stage.Batch(s, 4, 0))
	var failed []int
	for _, e := range joined(err) {
		ie, ok := e.(*pipeline.ItemError[int])
		if !ok || ie.Stage != "check" || !errors.Is(ie, errBad) {
			t.Fatalf("error %v, want the map's", e)
		}
		failed = append(failed, ie.Input)
	}
	if !slices.Equal(failed, []int{0, 3, 6, 9}) {
		t.Errorf("failed %v", failed)
	}
	want := []batchPair{{[]int{1, 2, 4, 5}, []int{1, 2, 4, 5}}, {[]int{7, 8}, []int{7, 8}}}
	if !slices.EqualFunc(got, want, func(a, b batchPair) bool { return slices.Equal(a.in, b.in) && slices.Equal(a.v, b.v) }) {
		t.Errorf("batches %v, want %v", got, want)
	}
	meterstest.Check(t, p)
	if c := p.Stages()[2].Counts(); c.In != 6 || c.Out != 6 || c.Failed != 0 {
		t.Errorf("batch counts %+v", c)
	}
}

// A partial batch held when the run is cancelled counts as cancelled.
func TestBatchCancelledHoldsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		p := pipeline.New()
		src := stage.Generate(p, func(ctx context.Context, emit func(int) bool) error {
			for i := range 5 {
				if !emit(i) {
					return ctx.Err()
				}
			}
			<-ctx.Done() // the batch holds 5 of 10 when the run is cancelled
			return ctx.Err()
		})
		done := make(chan error)
		go func() {
			_, err := sink.Count(ctx, stage.Batch(src, 10, 0))
			done <- err
		}()
		synctest.Wait()
		cancel()
		if err := <-done; err != context.Canceled {
			t.Fatalf("error %v", err)
		}
		meterstest.Check(t, p)
		if c := p.Stages()[1].Counts(); c.In != 5 || c.Cancelled != 5 {
			t.Errorf("batch counts %+v, want 5 in and 5 cancelled", c)
		}
	})
}
