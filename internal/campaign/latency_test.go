package campaign

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// latencyRun runs an endless generator through a map whose calls take
// delay(i) and ignore their context, then an ordered map, a filter and a
// for-each sink; it cancels the caller's context after cancelAfter and
// returns when the cancellation happened, when the last call that was in
// flight returned, when the sink returned, and how many calls saw the
// cancellation at their first look at their context. On the fake clock of
// a synctest bubble that must be none. On the real clock a worker whose
// cancellation lands between the engine's look and the call sees it in the
// call: at most once per worker, since the engine looks again before the
// worker's next item.
func latencyRun(t *testing.T, workers, orderedWorkers int, delay func(i int64) time.Duration, cancelAfter time.Duration) (cancelled, lastCall, returned time.Time, late int) {
	t.Helper()
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	var mu sync.Mutex
	p := pipeline.New()
	src := stage.Generate(p, func(ctx context.Context, emit func(int64) bool) error {
		for i := int64(0); ; i++ {
			if !emit(i) {
				return nil
			}
		}
	})
	slow := stage.Map(src, func(ctx context.Context, i int64) (int64, error) {
		if ctx.Err() != nil {
			mu.Lock()
			late++
			mu.Unlock()
		}
		time.Sleep(delay(i)) // ignores the context: the slowest in-flight call
		mu.Lock()
		if now := time.Now(); now.After(lastCall) {
			lastCall = now
		}
		mu.Unlock()
		return i, nil
	}, stage.WithWorkers(workers))
	ordered := stage.OrderedMap(slow, func(_ context.Context, i int64) (int64, error) { return i * 2, nil }, stage.WithWorkers(orderedWorkers))
	even := stage.Filter(ordered, func(i int64) bool { return i%4 == 0 }, stage.WithWorkers(2))
	timer := time.AfterFunc(cancelAfter, func() {
		mu.Lock()
		cancelled = time.Now()
		mu.Unlock()
		cancel(errCancel)
	})
	defer timer.Stop()
	err := sink.ForEach(ctx, even, func(int64, int64) error { return nil })
	returned = time.Now()
	if !errors.Is(err, errCancel) {
		t.Fatalf("err = %v, want the cancellation", err)
	}
	for _, st := range p.Stages() {
		if k := st.Counts(); !k.Balanced() {
			t.Fatalf("stage %s unbalanced: %+v", st.Name(), k)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	return cancelled, lastCall, returned, late
}

// TestCancellationLatencyExact runs the latency pipeline on the fake clock
// of a synctest bubble: there the run must return at the very instant the
// slowest call in flight at the cancellation returns, with nothing waited
// on after it.
func TestCancellationLatencyExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		delay := func(i int64) time.Duration { return time.Duration(10+i%7*13) * time.Millisecond }
		cancelled, lastCall, returned, late := latencyRun(t, 8, 3, delay, 250*time.Millisecond)
		if late > 0 {
			t.Errorf("%d calls started after the cancellation", late)
		}
		if !returned.Equal(lastCall) {
			t.Errorf("returned %v after the last in-flight call ended (cancelled at +0, last call ended at +%v)",
				returned.Sub(lastCall), lastCall.Sub(cancelled))
		}
		if lastCall.Sub(cancelled) > 10*time.Millisecond+6*13*time.Millisecond {
			t.Errorf("a call was started after the cancellation: the last call ended %v after it", lastCall.Sub(cancelled))
		}
	})
}

// TestCancellationLatency measures, on the real clock, how long a run takes
// to return after its context is cancelled beyond the slowest call then in
// flight, and checks it against a generous bound. The figures are logged
// (go test -v -run CancellationLatency).
func TestCancellationLatency(t *testing.T) {
	const bound = 250 * time.Millisecond // generous: -race on a loaded 2-core machine
	var overheads, latencies []time.Duration
	for i := range 10 {
		delay := func(j int64) time.Duration { return time.Duration(5+(j*7+int64(i))%20) * time.Millisecond }
		cancelled, lastCall, returned, late := latencyRun(t, 8, 2, delay, time.Duration(20+i*7)*time.Millisecond)
		if late > 8 {
			t.Errorf("%d calls saw the cancellation at their first look, more than one per worker (8)", late)
		}
		end := lastCall
		if cancelled.After(end) {
			end = cancelled
		}
		overheads = append(overheads, returned.Sub(end))
		latencies = append(latencies, returned.Sub(cancelled))
	}
	slices.Sort(overheads)
	slices.Sort(latencies)
	t.Logf("cancel -> return: median %v, max %v (calls take 5-24ms and ignore the context)", latencies[len(latencies)/2], latencies[len(latencies)-1])
	t.Logf("return after the slowest in-flight call: median %v, max %v (bound %v)", overheads[len(overheads)/2], overheads[len(overheads)-1], bound)
	if worst := overheads[len(overheads)-1]; worst > bound {
		t.Errorf("a run returned %v after its slowest in-flight call, bound %v", worst, bound)
	}
}
