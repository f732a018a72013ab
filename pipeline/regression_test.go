package pipeline_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/flowbar/flowbar/internal/meterstest"
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// Regression tests for bugs found by the fault campaign (internal/campaign).

// A panic in an OnDone callback given an item that had already failed was
// counted as a second failure of a stage the item never entered, leaving the
// stage's meters unbalanced, and replaced the item's first error.
func TestFailedHookPanicKeepsCountsAndFirstError(t *testing.T) {
	boom := errors.New("boom")
	p := pipeline.New(pipeline.WithContinueOnError())
	src := stage.FromSlice(p, []int{1, 2, 3, 4})
	m := stage.Map(src, func(_ context.Context, x int) (int, error) {
		if x%2 == 0 {
			return 0, boom
		}
		return x, nil
	}, stage.WithWorkers(1), stage.WithName("map"))
	cb := stage.OnDone(m, func(_ int, _ int, err error) {
		if err != nil {
			panic("callback")
		}
	}, stage.WithName("cb"))
	got, err := sink.ByInput(context.Background(), cb)
	if len(got) != 2 {
		t.Errorf("got %v, want the two odd inputs", got)
	}
	ies := pipeline.ItemErrors[int](err)
	if len(ies) != 2 {
		t.Fatalf("got %d item errors (%v), want 2", len(ies), err)
	}
	for _, ie := range ies {
		if ie.Stage != "map" || !errors.Is(ie, boom) {
			t.Errorf("item error %v: want stage map and the map's error", ie)
		}
		var pe *pipeline.PanicError
		if !errors.As(ie, &pe) || pe.Value != "callback" || !strings.Contains(ie.Error(), `stage "cb": failure callback`) {
			t.Errorf("item error %v does not carry the callback's panic", ie)
		}
	}
	meterstest.Check(t, p)
	if k := p.Stages()[2].Counts(); k.Failed != 0 || k.In != 2 {
		t.Errorf("callback stage counts %+v, want In 2 and no failure", k)
	}
}

// When the body of a range loop over sink.All panicked, the items already
// handed to the sink (its current chunk and its input buffer) were never
// counted, the sink stage was never marked finished and observers were never
// told that the run stopped.
func TestLoopBodyPanicKeepsCounts(t *testing.T) {
	xs := make([]int, 10000)
	for i := range xs {
		xs[i] = i
	}
	obs := &stopObserver{}
	p := pipeline.New(pipeline.WithObserver(obs))
	m := stage.Map(stage.FromSlice(p, xs), func(_ context.Context, x int) (int, error) { return x, nil }, stage.WithWorkers(4))
	func() {
		defer func() {
			if v := recover(); v != "body" {
				t.Errorf("recovered %v, want the loop body's panic", v)
			}
		}()
		n := 0
		for _, err := range sink.All(context.Background(), m) {
			if err != nil {
				t.Fatal(err)
			}
			if n++; n == 100 {
				panic("body")
			}
		}
	}()
	meterstest.Check(t, p)
	if !obs.stopped {
		t.Error("observer's Stop was not called")
	}
	if got := p.Stages()[2].Counts().Out; got != 100 {
		t.Errorf("sink Out = %d, want the 100 items the loop body received", got)
	}
}

type stopObserver struct{ stopped bool }

func (o *stopObserver) Start([]*pipeline.Stage) {}
func (o *stopObserver) Stop(error)              { o.stopped = true }

// A generator's emit returned true after the run was cancelled whenever the
// source's buffer had room (the next stage drains it after cancellation), so
// a producer that relied on emit's result went on producing.
func TestEmitReturnsFalseOnceCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := pipeline.New()
	var after int
	src := stage.Generate(p, func(gctx context.Context, emit func(int) bool) error {
		for i := 0; ; i++ {
			if i == 10 {
				cancel()
				<-gctx.Done()
			}
			if !emit(i) {
				return nil
			}
			if i >= 10 {
				after++
			}
		}
	})
	_, err := sink.Count(ctx, src)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if after != 0 {
		t.Errorf("emit accepted %d values after the run was cancelled", after)
	}
	meterstest.Check(t, p)
}

// When the caller's context was cancelled at the moment an item failed
// under fail-fast, the item's error could be recorded as the run's first
// error while the run's context had already been cancelled with the
// caller's cause: the sink returned one error and context.Cause, as seen by
// the user functions, said another.
func TestFailFastErrorIsTheRunsCause(t *testing.T) {
	boom := errors.New("boom")
	for i := range 300 {
		ctx, cancel := context.WithCancelCause(context.Background())
		p := pipeline.New(pipeline.WithChunkSize(1))
		var seen context.Context
		xs := []int{0, 1}
		m := stage.Map(stage.FromSlice(p, xs), func(c context.Context, x int) (int, error) {
			if x == 0 {
				seen = c
				return 0, boom
			}
			cancel(errors.New("caller"))
			return x, nil
		}, stage.WithWorkers(2))
		_, err := sink.Count(ctx, m)
		cancel(nil)
		if seen == nil {
			continue
		}
		cause := context.Cause(seen)
		if _, item := err.(*pipeline.ItemError[int]); (item && err != cause) || !errors.Is(err, cause) {
			t.Fatalf("iteration %d: the sink returned %v but the run's cause is %v", i, err, cause)
		}
	}
}

// Breaking out of a loop over sink.All after the caller's context was
// cancelled let failure records that were still arriving (under
// ContinueOnError) reach the loop's yield again, and the runtime panicked:
// "range function continued iteration after function for loop body
// returned false".
func TestAllBreakAfterCancelDoesNotYieldAgain(t *testing.T) {
	boom := errors.New("boom")
	xs := make([]int, 1000)
	for i := range xs {
		xs[i] = i
	}
	for range 20 {
		ctx, cancel := context.WithCancel(context.Background())
		p := pipeline.New(pipeline.WithContinueOnError())
		m := stage.Map(stage.FromSlice(p, xs), func(_ context.Context, x int) (int, error) {
			if x == 0 {
				return x, nil
			}
			return 0, boom
		}, stage.WithWorkers(1))
		func() {
			defer func() {
				if v := recover(); v != nil {
					t.Fatalf("the loop panicked: %v", v)
				}
			}()
			for r, err := range sink.All(ctx, m) {
				if err == nil && r.Input == 0 {
					cancel()
					break
				}
			}
		}()
		cancel()
		meterstest.Check(t, p)
	}
}

// A run stopped by its caller's context returned the context's cause
// wrapped in a one-element errors.Join, so err == context.Canceled was false
// although the documentation says the error is the cause.
func TestCancelledRunReturnsTheCauseItself(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := pipeline.New()
	_, err := sink.Count(ctx, stage.Map(stage.FromSlice(p, []int{1, 2, 3}), func(_ context.Context, x int) (int, error) { return x, nil }))
	if err != context.Canceled { //nolint:errorlint // the cause itself is the promise
		t.Errorf("err = %#v, want context.Canceled itself", err)
	}
	meterstest.Check(t, p)
}

// Under ContinueOnError, failures that were still on their way to the sink
// when the caller cancelled the run (in a stage's output buffer, in an
// ordered stage's reorder window) were counted as failed but never
// returned: the sink's error lacked them.
func TestContinueReturnsFailuresInFlightAtCancel(t *testing.T) {
	boom := errors.New("boom")
	xs := make([]int, 2000)
	for i := range xs {
		xs[i] = i
	}
	for _, ordered := range []bool{false, true} {
		for range 20 {
			ctx, cancel := context.WithCancel(context.Background())
			p := pipeline.New(pipeline.WithContinueOnError())
			fn := func(_ context.Context, x int) (int, error) {
				if x == 500 {
					cancel()
				}
				return 0, boom
			}
			var m *pipeline.Stream[int, int]
			if ordered {
				m = stage.OrderedMap(stage.FromSlice(p, xs), fn, stage.WithWorkers(4))
			} else {
				m = stage.Map(stage.FromSlice(p, xs), fn, stage.WithWorkers(4))
			}
			m = stage.Map(m, func(_ context.Context, x int) (int, error) { return x, nil }, stage.WithWorkers(2))
			_, err := sink.Count(ctx, m)
			cancel()
			var failed int64
			for _, st := range p.Stages() {
				failed += st.Counts().Failed
			}
			if got := len(pipeline.ItemErrors[int](err)); int64(got) != failed {
				t.Fatalf("ordered=%v: the stages failed %d items, the sink returned %d item errors", ordered, failed, got)
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err lacks the cancellation: %v", err)
			}
			meterstest.Check(t, p)
		}
	}
}

// After a cancellation, the workers reading a channel source kept taking
// the values immediately available in it (counting them as cancelled) until
// it was empty, although FromChan promises to leave them in the channel.
func TestChanSourceLeavesValuesAfterCancel(t *testing.T) {
	for _, ordered := range []bool{false, true} {
		ch := make(chan int, 10000)
		for i := range cap(ch) {
			ch <- i
		}
		close(ch)
		ctx, cancel := context.WithCancel(context.Background())
		p := pipeline.New(pipeline.WithChunkSize(1))
		// The first call cancels, whichever worker makes it: a worker
		// held up before its call must not leave the other one free to
		// take the whole channel.
		var once sync.Once
		fn := func(_ context.Context, x int) (int, error) {
			once.Do(cancel)
			return x, nil
		}
		var m *pipeline.Stream[int, int]
		if ordered {
			m = stage.OrderedMap(stage.FromChan(p, ch), fn, stage.WithWorkers(2))
		} else {
			m = stage.Map(stage.FromChan(p, ch), fn, stage.WithWorkers(2))
		}
		_, err := sink.Count(ctx, m)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		taken := p.Stages()[0].Counts().Out
		if left := int64(len(ch)); left+taken != int64(cap(ch)) || left < int64(cap(ch))-100 {
			t.Errorf("ordered=%v: the source took %d values and left %d of %d", ordered, taken, left, cap(ch))
		}
		meterstest.Check(t, p)
	}
}
