package remote_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/remote"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// runFleet maps n inputs through the stage "square" served by three
// worker processes, and calls stop with the first worker's process once a
// quarter of the results are in.
func runFleet(t *testing.T, n int, stop func(p *proc)) (map[int]int, *pipeline.Pipeline) {
	t.Helper()
	s := startServer(t)
	nc := connect(t, s)
	ps := startWorkers(t, s, "square", "", 3)
	waitServing(t, nc, "square", 3)
	p := pipeline.New()
	var done atomic.Int64
	out := remote.Map(stage.FromSlice(p, inputs(n)), nc, "square", square,
		remote.WithBatchSize(10), remote.WithAckWait(time.Second), remote.WithHeartbeat(200*time.Millisecond))
	out = stage.OnDone(out, func(int, int, error) {
		if done.Add(1) == int64(n/4) {
			stop(ps[0])
		}
	})
	var got map[int]int
	var err error
	within(t, 2*time.Minute, "the run", func() { got, err = sink.ByInput(context.Background(), out) })
	if err != nil {
		t.Fatal(err)
	}
	if left := streams(t, nc); len(left) != 0 {
		t.Errorf("streams left on the server: %v", left)
	}
	return got, p
}

// TestKilledWorker: a worker process killed with SIGKILL after a quarter
// of the results loses nothing: its unacknowledged messages go to the
// other workers after AckWait, and count as retries.
func TestKilledWorker(t *testing.T) {
	const n = 3000
	got, p := runFleet(t, n, func(p *proc) { _ = p.cmd.Process.Kill() })
	checkSquares(t, got, n)
	checkBalanced(t, p)
	c := remoteCounts(p, "square")
	if c.Out != n {
		t.Errorf("Out = %d, want %d (each item once)", c.Out, n)
	}
	if c.Retries == 0 {
		t.Errorf("no retries counted; the killed worker's messages should have been redelivered: %+v", c)
	}
	t.Logf("retries after the kill: %d", c.Retries)
}

// TestGracefulStop: a worker process sent SIGTERM finishes the messages
// it took, and exits with status 0; the others do the rest.
func TestGracefulStop(t *testing.T) {
	const n = 3000
	var stopped *proc
	got, p := runFleet(t, n, func(p *proc) { stopped = p; _ = p.cmd.Process.Signal(syscall.SIGTERM) })
	checkSquares(t, got, n)
	checkBalanced(t, p)
	select {
	case err := <-stopped.done:
		if err != nil {
			t.Errorf("the stopped worker exited with %v, want status 0", err)
		}
		stopped.done <- err // for the cleanup
	case <-time.After(30 * time.Second):
		t.Error("the worker sent SIGTERM did not exit within 30s")
	}
}

// TestMaxDeliver: messages that a worker takes and never answers (it
// fails on every one) are delivered WithMaxDeliver times, then their items
// fail with ErrMaxDeliver, named by input: the run does not hang.
func TestMaxDeliver(t *testing.T) {
	s := startServer(t)
	nc := connect(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var naks atomic.Int64
	rogue := make(chan struct{})
	go func() { // a worker that fails on every message
		defer close(rogue)
		js, _ := jetstream.New(nc)
		for ctx.Err() == nil {
			cons := jobConsumer(ctx, js, "doomed")
			if cons == nil {
				return
			}
			cc, err := cons.Consume(func(m jetstream.Msg) { naks.Add(1); _ = m.Nak() })
			if err == nil {
				<-ctx.Done()
				cc.Stop()
				<-cc.Closed()
			}
		}
	}()
	p := pipeline.New(pipeline.WithContinueOnError())
	var got map[int]int
	var err error
	within(t, time.Minute, "the run", func() {
		got, err = sink.ByInput(ctx, remote.Map(stage.FromSlice(p, inputs(25)), nc, "doomed", square,
			remote.WithMaxDeliver(3), remote.WithAckWait(200*time.Millisecond), remote.WithBatchSize(10)))
	})
	cancel()
	<-rogue
	if len(got) != 0 {
		t.Errorf("%d results, want none", len(got))
	}
	errs := pipeline.ItemErrors[int](err)
	seen := map[int]bool{}
	for _, e := range errs {
		if !errors.Is(e, remote.ErrMaxDeliver) || !strings.Contains(e.Error(), "3 deliveries") {
			t.Errorf("error %v: want ErrMaxDeliver after 3 deliveries", e)
		}
		seen[e.Input] = true
	}
	if len(seen) != 25 || len(errs) != 25 {
		t.Errorf("%d errors for %d inputs, want 25 each: %v", len(errs), len(seen), err)
	}
	if k := naks.Load(); k < 3*3 {
		t.Errorf("%d deliveries to the failing worker, want at least 9 (3 messages × 3)", k)
	}
	checkBalanced(t, p)
}

// TestSlowItem: an item that takes several times AckWait is not given to
// another worker: the worker sends in-progress acknowledgements.
func TestSlowItem(t *testing.T) {
	s := startServer(t)
	nc := connect(t, s)
	var calls atomic.Int64
	slow := func(_ context.Context, x int) (int, error) {
		calls.Add(1)
		if x == 0 {
			time.Sleep(1500 * time.Millisecond) // 5 × AckWait
		}
		return x + 1, nil
	}
	serve(t, nc, "slow", slow, remote.WithWorkers(2))
	p := pipeline.New()
	got, err := sink.ByInput(context.Background(), remote.Map(stage.FromSlice(p, inputs(20)), nc, "slow", slow,
		remote.WithAckWait(300*time.Millisecond), remote.WithBatchSize(1)))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 20 || got[0] != 1 {
		t.Errorf("results %v", got)
	}
	if c := remoteCounts(p, "slow"); c.Retries != 0 || calls.Load() != 20 {
		t.Errorf("retries %d, calls %d: want 0 and 20 (no redelivery)", c.Retries, calls.Load())
	}
}

// TestVersionMismatch: a worker serving another version of the stage is
// refused on both sides with ErrVersionMismatch.
func TestVersionMismatch(t *testing.T) {
	s := startServer(t)
	nc := connect(t, s)
	served := serve(t, nc, "versioned", square, remote.WithVersion("2"))
	p := pipeline.New()
	var err error
	within(t, time.Minute, "the run", func() {
		_, err = sink.ByInput(context.Background(), remote.Map(stage.FromSlice(p, inputs(50)), nc, "versioned", square, remote.WithVersion("1")))
	})
	if !errors.Is(err, remote.ErrVersionMismatch) || !strings.Contains(err.Error(), `version "2"`) {
		t.Errorf("driver: err = %v, want ErrVersionMismatch naming the worker's version", err)
	}
	checkBalanced(t, p)
	// The worker refuses the work too, if it got any before the driver
	// stopped; it keeps serving otherwise.
	if err, ok := served.result(); ok && !errors.Is(err, remote.ErrVersionMismatch) {
		t.Errorf("Serve returned %v, want ErrVersionMismatch", err)
	}
	if left := streams(t, nc); len(left) != 0 {
		t.Errorf("streams left on the server: %v", left)
	}
}

// TestVersionMismatchWorker: a worker given a message of another version
// hands it back and returns ErrVersionMismatch.
func TestVersionMismatchWorker(t *testing.T) {
	s := startServer(t)
	nc := connect(t, s)
	// The driver does not listen to heartbeats here: set the job up and
	// publish work directly (the results consumer last, as the driver
	// does: workers take the job once it exists).
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	for _, sc := range []jetstream.StreamConfig{
		{Name: "FLOWBAR-WORK-v", Subjects: []string{"flowbar.v.work"}, Retention: jetstream.WorkQueuePolicy},
		{Name: "FLOWBAR-RESULTS-v", Subjects: []string{"flowbar.v.results"}, Retention: jetstream.WorkQueuePolicy},
	} {
		if _, err := js.CreateStream(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := js.CreateConsumer(ctx, "FLOWBAR-WORK-v", jetstream.ConsumerConfig{Durable: "workers", AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Second}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateConsumer(ctx, "FLOWBAR-RESULTS-v", jetstream.ConsumerConfig{Durable: "driver", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}
	m := nats.NewMsg("flowbar.v.work")
	m.Header.Set("Flowbar-Fingerprint", "0123456789abcdef")
	m.Data = []byte{0, 1, '1'}
	if _, err := js.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}
	var err error
	within(t, time.Minute, "Serve", func() { err = remote.Serve(ctx, nc, "v", square) })
	if !errors.Is(err, remote.ErrVersionMismatch) || !strings.Contains(err.Error(), "0123456789abcdef") {
		t.Errorf("Serve: %v, want ErrVersionMismatch naming the driver's fingerprint", err)
	}
	if err := remote.Clean(ctx, nc, "v"); err != nil {
		t.Fatal(err)
	}
}

// TestCancel: cancelling the driver mid-run stops the job: the run
// returns the cancellation, the job's streams and consumers are deleted,
// and (TestMain checks) no goroutine is left.
func TestCancel(t *testing.T) {
	s := startServer(t)
	nc := connect(t, s)
	served := serve(t, nc, "square", square, remote.WithWorkers(2))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := pipeline.New()
	var done atomic.Int64
	out := stage.OnDone(remote.Map(stage.FromSlice(p, inputs(5000)), nc, "square", square, remote.WithBatchSize(5)),
		func(int, int, error) {
			if done.Add(1) == 100 {
				cancel()
			}
		})
	var err error
	t0 := time.Now()
	within(t, time.Minute, "the cancelled run", func() { _, err = sink.ByInput(ctx, out) })
	t.Logf("cancelled run: %v", time.Since(t0))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	checkBalanced(t, p)
	if c := remoteCounts(p, "square"); c.Cancelled == 0 {
		t.Errorf("nothing counted cancelled: %+v", c)
	}
	if left := streams(t, nc); len(left) != 0 {
		t.Errorf("streams left on the server: %v", left)
	}
	if err, ok := served.result(); ok {
		t.Errorf("Serve returned %v; it should wait for the next job", err)
	}
	// The worker serves the next job of the stage.
	p2 := pipeline.New()
	t0 = time.Now()
	got, err := sink.ByInput(context.Background(), remote.Map(stage.FromSlice(p2, inputs(30)), nc, "square", square))
	t.Logf("next run: %v", time.Since(t0))
	if err != nil {
		t.Fatal(err)
	}
	checkSquares(t, got, 30)
}

// TestSlowItemShared: the items of one message are shared by a worker's
// goroutines, so the items behind a slow one do not wait for it: here the
// first item of the only message finishes only once the seven after it
// have run, which would never happen if one goroutine ran them in order.
func TestSlowItemShared(t *testing.T) {
	s := startServer(t)
	nc := connect(t, s)
	var others atomic.Int64
	rest := make(chan struct{})
	fn := func(_ context.Context, x int) (int, error) {
		if x == 0 {
			select {
			case <-rest:
				return 0, nil
			case <-time.After(20 * time.Second):
				return 0, errors.New("the other items of the message did not run while this one was held")
			}
		}
		if others.Add(1) == 7 {
			close(rest)
		}
		return x, nil
	}
	serve(t, nc, "shared", fn, remote.WithWorkers(4), remote.WithInFlight(1))
	p := pipeline.New()
	got, err := sink.ByInput(context.Background(), remote.Map(stage.FromSlice(p, inputs(8)), nc, "shared", fn, remote.WithBatchSize(8)))
	if err != nil || len(got) != 8 {
		t.Fatalf("%d results, err %v", len(got), err)
	}
}

// TestWindowFromWorkers: by default the driver keeps out as many messages
// as the serving workers pull at once (their WithInFlight, announced in
// heartbeats), here 100, more than the minimum of 64.
func TestWindowFromWorkers(t *testing.T) {
	s := startServer(t)
	nc := connect(t, s)
	release := make(chan struct{})
	hold := func(_ context.Context, x int) (int, error) { <-release; return x, nil }
	serve(t, nc, "wide", hold, remote.WithWorkers(100), remote.WithInFlight(100))
	waitServing(t, nc, "wide", 1)
	js, _ := jetstream.New(nc)
	p := pipeline.New()
	done := make(chan error, 1)
	go func() {
		_, err := sink.ByInput(context.Background(), remote.Map(stage.FromSlice(p, inputs(150)), nc, "wide", hold,
			remote.WithBatchSize(1), remote.WithHeartbeat(200*time.Millisecond)))
		done <- err
	}()
	var pending int
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := js.Consumer(context.Background(), "FLOWBAR-WORK-wide", "workers"); err == nil {
			if ci, err := c.Info(context.Background()); err == nil {
				if pending = ci.NumAckPending; pending >= 100 {
					break
				}
			}
		}
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if pending < 100 {
		t.Errorf("at most %d messages were out at once, want 100 (the worker's in-flight limit)", pending)
	}
}
