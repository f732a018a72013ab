package remote_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"pgregory.net/rapid"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/remote"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// campaignFn is the remote function of a campaign case: it squares x, and
// fails (every failEvery-th value) or panics (every panicEvery-th).
func campaignFn(failEvery, panicEvery int) func(context.Context, int) (int, error) {
	return func(_ context.Context, x int) (int, error) {
		switch {
		case failEvery > 0 && x%failEvery == failEvery-1:
			return 0, fmt.Errorf("injected error for %d", x)
		case panicEvery > 0 && x%panicEvery == panicEvery-1:
			panic(fmt.Sprintf("injected panic for %d", x))
		}
		return x * x, nil
	}
}

// duplicator is a faulty worker: it answers every message it takes with
// correct results published without a message id (so the server does not
// deduplicate them), then hands the message back on its first delivery,
// so that a real worker answers it again. The driver must drop the
// duplicates.
func duplicator(ctx context.Context, nc *nats.Conn, stage string, fn func(context.Context, int) (int, error)) {
	js, _ := jetstream.New(nc)
	for ctx.Err() == nil {
		cons := jobConsumer(ctx, js, stage)
		if cons == nil {
			return
		}
		cc, err := cons.Consume(func(m jetstream.Msg) {
			var body []byte
			b := m.Data()
			for len(b) > 0 {
				id, n := binary.Uvarint(b)
				b = b[n:]
				l, n := binary.Uvarint(b)
				b = b[n:]
				var x int
				_ = json.Unmarshal(b[:l], &x)
				b = b[l:]
				body = binary.AppendUvarint(body, id)
				if y, err := call(fn, x); err == nil {
					data, _ := json.Marshal(y)
					body = append(body, 0)
					body = binary.AppendUvarint(body, uint64(len(data)))
					body = append(body, data...)
				} else {
					body = append(body, 1)
					body = binary.AppendUvarint(body, uint64(len(err.Error())))
					body = append(body, err.Error()...)
				}
			}
			md, _ := m.Metadata()
			r := nats.NewMsg("flowbar." + stage + ".results")
			r.Data = body
			r.Header.Set("Flowbar-Run", m.Headers().Get("Flowbar-Run"))
			r.Header.Set("Flowbar-Worker", "duplicator")
			r.Header.Set("Flowbar-Delivered", strconv.FormatUint(md.NumDelivered, 10))
			_, _ = js.PublishMsg(ctx, r)
			if md.NumDelivered < 2 {
				_ = m.Nak()
			} else {
				_ = m.Ack()
			}
		}, jetstream.PullMaxMessages(2))
		if err != nil {
			continue
		}
		<-ctx.Done()
		cc.Stop()
		<-cc.Closed()
	}
}

func call(fn func(context.Context, int) (int, error), x int) (y int, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return fn(context.Background(), x)
}

// TestCampaign runs generated pipelines with a remote stage (sizes, batch
// sizes, windows, workers, error policies, failing and panicking items,
// a duplicating worker, cancellation) and checks the promises: every item
// ends exactly once (conservation, on every stage's meters and in what the
// sink saw), no item reaches the sink twice, failures are exactly the
// injected ones, and the job leaves no stream behind.
func TestCampaign(t *testing.T) {
	s := startServer(t)
	nc := connect(t, s)
	var cases atomic.Int64
	rapid.Check(t, func(rt *rapid.T) {
		name := fmt.Sprintf("camp-%d", cases.Add(1))
		n := rapid.IntRange(0, 300).Draw(rt, "items")
		batch := rapid.IntRange(1, 40).Draw(rt, "batch")
		window := rapid.IntRange(1, 8).Draw(rt, "window")
		workers := rapid.IntRange(1, 4).Draw(rt, "workers")
		keepGoing := rapid.Bool().Draw(rt, "continueOnError")
		failEvery := rapid.SampledFrom([]int{0, 0, 7, 50}).Draw(rt, "failEvery")
		panicEvery := rapid.SampledFrom([]int{0, 0, 11}).Draw(rt, "panicEvery")
		dup := rapid.Bool().Draw(rt, "duplicator")
		local := rapid.Bool().Draw(rt, "localMapBefore")
		cancelAt := rapid.SampledFrom([]int{-1, -1, 0, 5, 60}).Draw(rt, "cancelAtResult")

		fn := campaignFn(failEvery, panicEvery)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var wg sync.WaitGroup
		defer wg.Wait()
		sctx, stopServe := context.WithCancel(context.Background())
		defer stopServe()
		wg.Go(func() {
			if err := remote.Serve(sctx, nc, name, fn, remote.WithWorkers(workers), remote.WithHeartbeat(100*time.Millisecond)); err != nil {
				rt.Errorf("Serve: %v", err)
			}
		})
		if dup {
			wg.Go(func() { duplicator(sctx, nc, name, fn) })
		}

		var opts []pipeline.Option
		if keepGoing {
			opts = append(opts, pipeline.WithContinueOnError())
		}
		p := pipeline.New(opts...)
		in := stage.FromSlice(p, inputs(n))
		if local {
			in = stage.Map(in, func(_ context.Context, x int) (int, error) { return x, nil }, stage.WithWorkers(2))
		}
		out := remote.Map(in, nc, name, fn, remote.WithBatchSize(batch), remote.WithWindow(window),
			remote.WithAckWait(2*time.Second), remote.WithHeartbeat(100*time.Millisecond))
		seen := map[int]int{}
		var results int
		errc := make(chan error, 1)
		go func() {
			errc <- sink.ForEach(ctx, out, func(x, y int) error {
				seen[x]++
				if y != x*x {
					rt.Errorf("result for %d: %d", x, y)
				}
				if results++; results == cancelAt {
					cancel()
				}
				return nil
			})
		}()
		if cancelAt == 0 {
			cancel()
		}
		var err error
		select {
		case err = <-errc:
		case <-time.After(time.Minute):
			rt.Fatalf("the run did not end within a minute")
		}

		for x, k := range seen {
			if k != 1 {
				rt.Errorf("input %d reached the sink %d times", x, k)
			}
		}
		failed := map[int]bool{}
		for _, e := range pipeline.ItemErrors[int](err) {
			if failed[e.Input] || seen[e.Input] > 0 {
				rt.Errorf("input %d ended twice (error %v)", e.Input, e)
			}
			failed[e.Input] = true
			if !errors.Is(err, context.Canceled) && !injectedFor(e.Input, failEvery, panicEvery) {
				rt.Errorf("input %d failed but no fault was injected: %v", e.Input, e)
			}
		}
		for _, st := range p.Stages() {
			if c := st.Counts(); !c.Balanced() {
				rt.Errorf("stage %s: counts do not add up: %+v", st.Name(), c)
			}
		}
		stages := p.Stages()
		sc := stages[len(stages)-1].Counts()
		if got := int64(len(seen)); sc.Out != got {
			rt.Errorf("sink Out = %d, the sink saw %d inputs", sc.Out, got)
		}
		if rc := remoteCounts(p, name); rc.Emitted != sc.In {
			rt.Errorf("remote stage emitted %d, the sink took in %d", rc.Emitted, sc.In)
		}
		cancelled := ctx.Err() != nil
		if !cancelled && err == nil || keepGoing && !cancelled {
			// The run went to the end: every item is a result or a failure.
			for x := range n {
				want := injectedFor(x, failEvery, panicEvery)
				if want != failed[x] || !want && seen[x] != 1 {
					rt.Errorf("input %d: failed %v, results %d; want failed %v", x, failed[x], seen[x], want)
				}
			}
		}
		if !keepGoing && !cancelled && n > 0 && anyInjected(n, failEvery, panicEvery) != (err != nil) {
			rt.Errorf("fail-fast: err = %v with faults injected: %v", err, anyInjected(n, failEvery, panicEvery))
		}
		stopServe()
		wg.Wait()
		if left := streams(t, nc); len(left) != 0 {
			rt.Errorf("streams left on the server: %v", left)
		}
	})
}

func injectedFor(x, failEvery, panicEvery int) bool {
	return failEvery > 0 && x%failEvery == failEvery-1 || panicEvery > 0 && x%panicEvery == panicEvery-1
}

func anyInjected(n, failEvery, panicEvery int) bool {
	for x := range n {
		if injectedFor(x, failEvery, panicEvery) {
			return true
		}
	}
	return false
}
