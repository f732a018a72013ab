package engine_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/flowbar/flowbar/internal/meterstest"
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// holdAll is an operator that takes every item of its input before it
// accounts for any, as a batch holds a partial batch: then it ends them all
// the way end says.
func holdAll(end func(w *engine.Worker[int, int, int, int], held []engine.Item[int, int])) engine.Operator[int, int, int, int] {
	return engine.OperatorFunc[int, int, int, int](func(w *engine.Worker[int, int, int, int]) {
		var held []engine.Item[int, int]
		for {
			it, ok := w.Next()
			if !ok {
				break
			}
			held = append(held, *it)
		}
		end(w, held)
	})
}

// What an operator counts after Next has reported the end of its input (the
// last partial batch it hands on, drops, fails or cancels) reaches the
// stage's meters: they were published only at the end of each chunk, so a
// final batch's weight was lost, and the items of a partial batch held when
// the run was cancelled left the stage unbalanced.
func TestCountsAfterTheInputEndsArePublished(t *testing.T) {
	errBad := errors.New("bad")
	tests := []struct {
		name string
		end  func(w *engine.Worker[int, int, int, int], held []engine.Item[int, int])
		cont bool
		want func(c engine.Counts, n int64) bool
	}{
		{"emitted with a weight", func(w *engine.Worker[int, int, int, int], held []engine.Item[int, int]) {
			for _, it := range held {
				w.Emit(it, 1)
			}
		}, false, func(c engine.Counts, n int64) bool { return c.Out == n && c.Weight == 2*n }},
		{"dropped", func(w *engine.Worker[int, int, int, int], held []engine.Item[int, int]) {
			w.Drop(int64(len(held)))
		}, false, func(c engine.Counts, n int64) bool { return c.Dropped == n }},
		{"failed", func(w *engine.Worker[int, int, int, int], held []engine.Item[int, int]) {
			for _, it := range held {
				w.Fail(it.Input, 1, errBad)
			}
		}, true, func(c engine.Counts, n int64) bool { return c.Failed == n }},
		{"cancelled", func(w *engine.Worker[int, int, int, int], held []engine.Item[int, int]) {
			w.Cancel(int64(len(held)))
		}, false, func(c engine.Counts, n int64) bool { return c.Cancelled == n }},
	}
	for _, tt := range tests {
		for _, workers := range workerCounts {
			t.Run(fmt.Sprintf("%s/workers=%d", tt.name, workers), func(t *testing.T) {
				const n = 100
				var opts []pipeline.Option
				if tt.cont {
					opts = append(opts, pipeline.WithContinueOnError())
				}
				p := pipeline.New(opts...)
				out := engine.Attach([]*pipeline.Stream[int, int]{stage.FromSlice(p, ints(n))},
					engine.Spec[int, int, int, int]{Name: "hold", Workers: workers}, holdAll(tt.end)).
					Weigh(pipeline.Rows, func(int) int64 { return 2 })
				_, err := sink.Count(context.Background(), out)
				if tt.cont != (err != nil) {
					t.Fatalf("error %v", err)
				}
				meterstest.Check(t, p)
				if c := p.Stages()[1].Counts(); !tt.want(c, n) {
					t.Errorf("counts %+v for %d items", c, n)
				}
			})
		}
	}
}

// A worker whose operator has returned accounts for the input it left
// unread, but never for the items of a sibling's chunk: it used to take the
// unstarted items of a sibling's slow chunk, as an idle worker does, and
// count them as cancelled in a run that went on, so that their results were
// lost without an error.
func TestFinishedWorkerLeavesSiblingsItems(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ch := make(chan int, 16)
		gate, ready := make(chan struct{}), make(chan struct{})
		var entered atomic.Int32
		op := engine.OperatorFunc[int, int, int, int](func(w *engine.Worker[int, int, int, int]) {
			if entered.Add(1) == 2 {
				<-ready // the other worker holds a slow chunk: stop early
				return
			}
			for {
				it, ok := w.Next()
				if !ok {
					return
				}
				switch it.Value {
				case 0:
					<-gate // until the next items wait in the channel
				case 1:
					close(ready)
					fallthrough
				default:
					time.Sleep(time.Millisecond)
				}
				w.Emit(*it, 1)
			}
		})
		p := pipeline.New()
		out := engine.Attach([]*pipeline.Stream[int, int]{stage.FromChan(p, ch)},
			engine.Spec[int, int, int, int]{Name: "work", Workers: 2}, op)
		done := make(chan error)
		var n int
		go func() {
			var err error
			n, err = sink.Count(context.Background(), out)
			done <- err
		}()
		ch <- 0
		synctest.Wait()
		for i := 1; i <= 10; i++ {
			ch <- i // taken as one chunk once item 0 is done
		}
		close(gate)
		time.Sleep(time.Second)
		close(ch)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		meterstest.Check(t, p)
		if c := p.Stages()[1].Counts(); n != 11 || c.Cancelled != 0 {
			t.Errorf("%d results, counts %+v; want 11 results and none cancelled", n, c)
		}
	})
}

// The channel that ends an idle worker's wait once it has found a
// sibling's chunk to share is ready every time: it held one value, which
// the first such wait in the process took.
func TestExpiredFiresEveryTime(t *testing.T) {
	for i := range 3 {
		select {
		case <-engine.Expired:
		default:
			t.Fatalf("wait %d: not ready", i+1)
		}
	}
}

// A worker waiting for input takes its share of a sibling's slow chunk, in
// every run: after the first run in the process it kept waiting for input
// instead (and, inside a synctest bubble, could never be seen blocked).
func TestIdleWorkerSharesSlowChunkEveryRun(t *testing.T) {
	for run := range 2 {
		t.Run(fmt.Sprint(run+1), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ch := make(chan int, 16)
				gate := make(chan struct{})
				p := pipeline.New()
				out := stage.Map(stage.FromChan(p, ch), func(_ context.Context, x int) (int, error) {
					if x == 0 {
						<-gate // until the next items wait in the channel
					} else {
						time.Sleep(time.Millisecond)
					}
					return x, nil
				}, stage.WithWorkers(2))
				start := time.Now()
				var last time.Duration
				done := make(chan error)
				go func() {
					done <- sink.ForEach(context.Background(), out, func(int, int) error {
						last = time.Since(start)
						return nil
					})
				}()
				ch <- 0
				synctest.Wait()
				for i := 1; i <= 10; i++ {
					ch <- i // one worker takes them as one chunk; the other waits for input
				}
				close(gate)
				time.Sleep(time.Second)
				close(ch)
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				if last > 7*time.Millisecond {
					t.Errorf("10 items of 1ms on 2 workers took %v: the idle worker did not share them", last)
				}
				meterstest.Check(t, p)
			})
		})
	}
}

// AddRetries reaches the stage whose function received the context, and
// the summary line of progress shows it.
func TestAddRetries(t *testing.T) {
	p := pipeline.New()
	out := stage.Map(stage.FromSlice(p, []int{1, 2, 3, 4}), func(ctx context.Context, v int) (int, error) {
		engine.AddRetries(ctx, int64(v%2))
		return v, nil
	}, stage.WithWorkers(2))
	if _, err := sink.Slice(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	engine.AddRetries(context.Background(), 1) // no stage: nothing happens
	if got := p.Stages()[1].Counts().Retries; got != 2 {
		t.Fatalf("Retries = %d, want 2", got)
	}
	if got := p.Stages()[0].Counts().Retries; got != 0 {
		t.Fatalf("the source's Retries = %d, want 0", got)
	}
}

// An item that failed upstream and only passes through a stage is not one
// of that stage's slowest items: the stage did no work on it.
func TestFailuresPassingByAreNotSlowest(t *testing.T) {
	p := pipeline.New(pipeline.WithContinueOnError(), pipeline.WithChunkSize(1))
	check := stage.Map(stage.FromSlice(p, []string{"ok1", "bad", "ok2"}), func(_ context.Context, s string) (string, error) {
		if s == "bad" {
			return "", errors.New("unreadable")
		}
		return s, nil
	}, stage.WithName("check"), stage.WithWorkers(1))
	hash := stage.Map(check, func(_ context.Context, s string) (int, error) { return len(s), nil },
		stage.WithName("hash"), stage.WithWorkers(1))
	if _, err := sink.Slice(context.Background(), hash); err == nil {
		t.Fatal("no error")
	}
	for _, s := range p.Stages()[2].Slowest() {
		if s.Input == "bad" {
			t.Errorf("hash's slowest items %v hold the failure that passed by", p.Stages()[2].Slowest())
		}
	}
}
