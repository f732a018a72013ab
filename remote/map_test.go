package remote_test

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/remote"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

func inputs(n int) []int {
	xs := make([]int, n)
	for i := range xs {
		xs[i] = i
	}
	return xs
}

// checkSquares checks that got holds the square of every input below n.
func checkSquares(t *testing.T, got map[int]int, n int) {
	t.Helper()
	if len(got) != n {
		t.Errorf("%d results, want %d", len(got), n)
	}
	for i := range n {
		if v, ok := got[i]; !ok || v != i*i {
			t.Errorf("result for %d: %d, %v; want %d", i, v, ok, i*i)
			return
		}
	}
}

// checkBalanced checks every stage's conservation law after a run.
func checkBalanced(t *testing.T, p *pipeline.Pipeline) {
	t.Helper()
	for _, st := range p.Stages() {
		if c := st.Counts(); !c.Balanced() {
			t.Errorf("stage %s: counts do not add up: %+v", st.Name(), c)
		}
	}
}

func remoteCounts(p *pipeline.Pipeline, name string) pipeline.Counts {
	for _, st := range p.Stages() {
		if st.Name() == name {
			return st.Counts()
		}
	}
	panic("no stage " + name)
}

// TestMapInProcess runs a remote map against workers on goroutines of this
// process, with one and with several workers and several batch sizes.
func TestMapInProcess(t *testing.T) {
	s := startServer(t)
	for _, tc := range []struct{ workers, batch, n int }{{1, 1, 50}, {1, 100, 500}, {4, 7, 1000}, {8, 100, 3000}} {
		t.Run(fmt.Sprintf("workers=%d/batch=%d", tc.workers, tc.batch), func(t *testing.T) {
			nc := connect(t, s)
			name := fmt.Sprintf("sq-%d-%d", tc.workers, tc.batch)
			serve(t, nc, name, square, remote.WithWorkers(tc.workers))
			p := pipeline.New()
			out := remote.Map(stage.FromSlice(p, inputs(tc.n)), nc, name, square, remote.WithBatchSize(tc.batch))
			got, err := sink.ByInput(context.Background(), out)
			if err != nil {
				t.Fatal(err)
			}
			checkSquares(t, got, tc.n)
			checkBalanced(t, p)
			if c := remoteCounts(p, name); c.Out != int64(tc.n) || c.Retries != 0 {
				t.Errorf("counts %+v: want Out %d and no retries", c, tc.n)
			}
			if left := streams(t, nc); len(left) != 0 {
				t.Errorf("streams left on the server: %v", left)
			}
		})
	}
}

// TestItemErrors: the function's errors and panics on the worker fail
// their items, named by input, under both error policies.
func TestItemErrors(t *testing.T) {
	s := startServer(t)
	nc := connect(t, s)
	picky := func(_ context.Context, x int) (string, error) {
		switch {
		case x%10 == 3:
			return "", fmt.Errorf("no threes (%d)", x)
		case x == 7:
			panic("seven")
		}
		return fmt.Sprint(x), nil
	}
	serve(t, nc, "picky", picky, remote.WithWorkers(3))
	t.Run("continue-on-error", func(t *testing.T) {
		p := pipeline.New(pipeline.WithContinueOnError())
		got, err := sink.ByInput(context.Background(), remote.Map(stage.FromSlice(p, inputs(100)), nc, "picky", picky, remote.WithBatchSize(8)))
		if len(got) != 89 {
			t.Errorf("%d results, want 89", len(got))
		}
		errs := pipeline.ItemErrors[int](err)
		if len(errs) != 11 {
			t.Fatalf("%d item errors, want 11: %v", len(errs), err)
		}
		for _, e := range errs {
			var we *remote.WorkerError
			if !errors.As(e, &we) || e.Stage != "picky" {
				t.Errorf("error %v: want a *remote.WorkerError of stage picky", e)
			}
			switch {
			case e.Input == 7:
				if !strings.Contains(we.Msg, "panic: seven") || !strings.Contains(we.Msg, "goroutine") {
					t.Errorf("the panic's error %q: want the value and the stack", we.Msg)
				}
			case e.Input%10 != 3 || !strings.Contains(e.Error(), fmt.Sprintf("no threes (%d)", e.Input)):
				t.Errorf("error for %d: %v", e.Input, e)
			}
		}
		checkBalanced(t, p)
	})
	t.Run("fail-fast", func(t *testing.T) {
		p := pipeline.New()
		_, err := sink.ByInput(context.Background(), remote.Map(stage.FromSlice(p, inputs(100)), nc, "picky", picky))
		var ie *pipeline.ItemError[int]
		if !errors.As(err, &ie) || (ie.Input%10 != 3 && ie.Input != 7) {
			t.Fatalf("err = %v, want the ItemError of a 3 or of 7", err)
		}
		checkBalanced(t, p)
		if left := streams(t, nc); len(left) != 0 {
			t.Errorf("streams left on the server: %v", left)
		}
	})
}

// TestBadItems: an item the codec cannot encode and one over the server's
// message size fail with their input; the others go through.
func TestBadItems(t *testing.T) {
	s := startServer(t)
	nc := connect(t, s)
	length := func(_ context.Context, v struct {
		F float64
		S string
	}) (int, error) {
		return len(v.S), nil
	}
	type item = struct {
		F float64
		S string
	}
	serve(t, nc, "length", length)
	xs := []item{{1, "a"}, {math.NaN(), "nan"}, {2, strings.Repeat("x", 2<<20)}, {3, "ccc"}}
	p := pipeline.New(pipeline.WithContinueOnError())
	got, err := sink.ByKey(context.Background(), remote.Map(stage.FromSlice(p, xs), nc, "length", length),
		func(in item, _ int) string { return in.S[:1] })
	if len(got) != 2 || got["a"] != 1 || got["c"] != 3 {
		t.Errorf("results %v, want a:1 and c:3", got)
	}
	errs := pipeline.ItemErrors[item](err)
	if len(errs) != 2 {
		t.Fatalf("%d errors, want 2: %v", len(errs), err)
	}
	for _, e := range errs {
		switch {
		case math.IsNaN(e.Input.F):
			if !strings.Contains(e.Error(), "encoding the item with codec json") || !strings.Contains(e.Error(), "NaN") {
				t.Errorf("NaN item: %v", e)
			}
		case e.Input.F == 2:
			if !errors.Is(e, remote.ErrTooLarge) {
				t.Errorf("large item: %v, want ErrTooLarge", e)
			}
		default:
			t.Errorf("unexpected error %v", e)
		}
	}
	checkBalanced(t, p)
}

// TestSetupErrors: a stream that cannot be created, and a stage whose job
// is already running, fail the items with ErrSetup and a clear message.
func TestSetupErrors(t *testing.T) {
	s := startServer(t)
	nc := connect(t, s)
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "squatter", Subjects: []string{"flowbar.taken.work"}}); err != nil {
		t.Fatal(err)
	}
	p := pipeline.New()
	_, err := sink.ByInput(ctx, remote.Map(stage.FromSlice(p, inputs(10)), nc, "taken", square))
	if !errors.Is(err, remote.ErrSetup) || !strings.Contains(err.Error(), "FLOWBAR-WORK-taken") {
		t.Errorf("err = %v, want ErrSetup naming the stream", err)
	}
	checkBalanced(t, p)

	// A job of stage "busy" is running: a second driver is refused.
	release := make(chan struct{})
	slow := func(_ context.Context, x int) (int, error) { <-release; return x, nil }
	serve(t, nc, "busy", slow)
	first := make(chan error, 1)
	go func() {
		_, err := sink.ByInput(ctx, remote.Map(stage.FromSlice(pipeline.New(), inputs(3)), nc, "busy", slow))
		first <- err
	}()
	for deadline := time.Now().Add(30 * time.Second); len(streams(t, nc)) < 3; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first job's streams did not appear within 30s")
		}
	}
	p2 := pipeline.New()
	_, err = sink.ByInput(ctx, remote.Map(stage.FromSlice(p2, inputs(3)), nc, "busy", slow))
	if !errors.Is(err, remote.ErrSetup) || !strings.Contains(err.Error(), "remote.Clean") {
		t.Errorf("second driver: err = %v, want ErrSetup pointing to remote.Clean", err)
	}
	checkBalanced(t, p2)
	close(release)
	if err := <-first; err != nil {
		t.Errorf("first driver: %v", err)
	}
}

// TestMissingServer: Connect names the server it could not reach.
func TestMissingServer(t *testing.T) {
	_, err := remote.Connect("nats://127.0.0.1:1", nats.Timeout(time.Second))
	if err == nil || !strings.Contains(err.Error(), "cannot reach a NATS server at nats://127.0.0.1:1") {
		t.Errorf("err = %v", err)
	}
}

// TestServeConnectionClosed: Serve returns an error, and leaves no
// goroutine, when its connection is closed under it.
func TestServeConnectionClosed(t *testing.T) {
	s := startServer(t)
	nc, err := remote.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- remote.Serve(context.Background(), nc, "orphan", square, remote.WithHeartbeat(100*time.Millisecond))
	}()
	waitServing(t, connect(t, s), "orphan", 1)
	nc.Close()
	select {
	case err := <-done:
		if !errors.Is(err, nats.ErrConnectionClosed) || !strings.Contains(err.Error(), `remote: Serve "orphan"`) {
			t.Errorf("Serve returned %v, want the closed connection", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return within 30s of its connection closing")
	}
}

// TestMemoryStorage: WithMemoryStorage puts the job's streams in the
// server's memory, and the map works the same.
func TestMemoryStorage(t *testing.T) {
	s := startServer(t)
	nc := connect(t, s)
	serve(t, nc, "mem", square)
	js, _ := jetstream.New(nc)
	var storage []jetstream.StorageType
	p := pipeline.New()
	out := stage.OnDone(remote.Map(stage.FromSlice(p, inputs(100)), nc, "mem", square, remote.WithMemoryStorage()),
		func(x, _ int, _ error) {
			if storage != nil {
				return
			}
			for _, name := range []string{"FLOWBAR-WORK-mem", "FLOWBAR-RESULTS-mem"} {
				st, err := js.Stream(context.Background(), name)
				if err != nil {
					t.Errorf("stream %s during the run: %v", name, err)
					continue
				}
				storage = append(storage, st.CachedInfo().Config.Storage)
			}
		})
	got, err := sink.ByInput(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	checkSquares(t, got, 100)
	if len(storage) != 2 || storage[0] != jetstream.MemoryStorage || storage[1] != jetstream.MemoryStorage {
		t.Errorf("storage of the job's streams: %v, want memory", storage)
	}
}

// gobCodec is a codec of the program's own: encoding/gob.
type gobCodec struct{}

func (gobCodec) Name() string { return "gob" }
func (gobCodec) Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	err := gob.NewEncoder(&b).Encode(v)
	return b.Bytes(), err
}
func (gobCodec) Unmarshal(data []byte, v any) error {
	return gob.NewDecoder(bytes.NewReader(data)).Decode(v)
}

// TestCodec: a codec of one's own carries the values both ways, and a
// worker with another codec is refused (the codec is in the fingerprint).
func TestCodec(t *testing.T) {
	s := startServer(t)
	nc := connect(t, s)
	type point struct{ X, Y int }
	norm := func(_ context.Context, p point) (int, error) { return p.X*p.X + p.Y*p.Y, nil }
	serve(t, nc, "gob", norm, remote.WithCodec(gobCodec{}))
	p := pipeline.New()
	got, err := sink.ByInput(context.Background(), remote.Map(stage.FromSlice(p, []point{{1, 2}, {3, 4}}), nc, "gob", norm, remote.WithCodec(gobCodec{})))
	if err != nil || got[point{1, 2}] != 5 || got[point{3, 4}] != 25 {
		t.Fatalf("results %v, err %v", got, err)
	}
	_, err = sink.ByInput(context.Background(), remote.Map(stage.FromSlice(pipeline.New(), []point{{1, 2}}), nc, "gob", norm))
	if !errors.Is(err, remote.ErrVersionMismatch) {
		t.Errorf("a JSON driver with gob workers: %v, want ErrVersionMismatch", err)
	}
}
