package remote_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/flowbar/flowbar/remote"
)

// The environment of a test binary re-run as a worker process.
const (
	envURL     = "FLOWBAR_REMOTE_TEST_URL"     // the server to serve from
	envStage   = "FLOWBAR_REMOTE_TEST_STAGE"   // the stage to serve
	envVersion = "FLOWBAR_REMOTE_TEST_VERSION" // its version
)

// TestMain runs the tests, or, when envURL is set, serves a test stage as a
// worker process until SIGTERM.
// The campaign checks 30 generated pipelines unless -rapid.checks or
// RAPID_CHECKS says otherwise.
func TestMain(m *testing.M) {
	if url := os.Getenv(envURL); url != "" {
		os.Exit(workerMain(url, os.Getenv(envStage), os.Getenv(envVersion)))
	}
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "rapid.checks" })
	if !explicit && os.Getenv("RAPID_CHECKS") == "" {
		if err := flag.Set("rapid.checks", "30"); err != nil {
			panic(err)
		}
	}
	goleak.VerifyTestMain(m)
}

// square is the stage the worker processes serve: it squares x after a
// pause of x%3 × 500µs, so that a run of a few thousand items lasts long
// enough to kill a worker in the middle.
func square(ctx context.Context, x int) (int, error) {
	if d := time.Duration(x%3) * 500 * time.Microsecond; d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return x * x, nil
}

func ident(_ context.Context, x int) (int, error) { return x, nil }

func workerMain(url, stage, version string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	nc, err := remote.Connect(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer nc.Close()
	fn := square
	if stage == "ident" { // the benchmarks' stage: no work, only the trip
		fn = ident
	}
	if err := remote.Serve(ctx, nc, stage, fn, remote.WithWorkers(2), remote.WithVersion(version), remote.WithHeartbeat(200*time.Millisecond)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// startServer starts an embedded JetStream server on a random port with a
// temporary store, shut down when the test ends.
func startServer(t testing.TB) *server.Server {
	t.Helper()
	logs := os.Getenv("FLOWBAR_REMOTE_SERVER_LOG") != "" // to see what the server says
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: !logs})
	if err != nil {
		t.Fatal(err)
	}
	if logs {
		s.ConfigureLogger()
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("the NATS server did not start within 10s")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// connect connects to s, closed when the test ends.
func connect(t testing.TB, s *server.Server) *nats.Conn {
	t.Helper()
	nc, err := remote.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// served is a Serve call on a goroutine of the test.
type served struct {
	done chan error
	got  bool
	err  error
}

// result returns what Serve returned, and false while it runs.
func (s *served) result() (error, bool) {
	if !s.got {
		select {
		case s.err = <-s.done:
			s.got = true
		default:
		}
	}
	return s.err, s.got
}

// serve runs Serve on its own goroutine until the test ends.
func serve[In, Out any](t testing.TB, nc *nats.Conn, name string, fn func(context.Context, In) (Out, error), opts ...remote.Option) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{done: make(chan error, 1)}
	go func() {
		s.done <- remote.Serve(ctx, nc, name, fn, append([]remote.Option{remote.WithHeartbeat(200 * time.Millisecond)}, opts...)...)
	}()
	t.Cleanup(func() {
		cancel()
		if _, ok := s.result(); ok {
			return
		}
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			t.Error("Serve did not return within 30s of its cancellation")
		}
	})
	return s
}

// proc is a worker process: the test binary re-run.
type proc struct {
	cmd  *exec.Cmd
	done chan error
}

// startWorkers starts n worker processes serving stage from s, stopped
// (SIGTERM, then SIGKILL after 20s) when the test ends.
func startWorkers(t testing.TB, s *server.Server, stage, version string, n int) []*proc {
	t.Helper()
	var ps []*proc
	for range n {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envURL+"="+s.ClientURL(), envStage+"="+stage, envVersion+"="+version)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		p := &proc{cmd: cmd, done: make(chan error, 1)}
		go func() { p.done <- cmd.Wait() }()
		ps = append(ps, p)
	}
	t.Cleanup(func() {
		for _, p := range ps {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
		}
		for _, p := range ps {
			select {
			case <-p.done:
			case <-time.After(20 * time.Second):
				_ = p.cmd.Process.Kill()
				<-p.done
				t.Errorf("worker process %d did not stop within 20s of SIGTERM", p.cmd.Process.Pid)
			}
		}
	})
	return ps
}

// waitServing waits until n workers serve stage, as heartbeats say.
func waitServing(t testing.TB, nc *nats.Conn, stage string, n int) {
	t.Helper()
	seen := map[string]bool{}
	ch := make(chan *nats.Msg, 64)
	sub, err := nc.ChanSubscribe("flowbar."+stage+".heartbeat", ch)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	deadline := time.After(60 * time.Second)
	for len(seen) < n {
		select {
		case m := <-ch:
			seen[string(m.Data)] = true
		case <-deadline:
			t.Fatalf("%d of %d workers of stage %q announced themselves within 60s", len(seen), n, stage)
		}
	}
}

// jobConsumer returns the work consumer of stage's job once its driver has
// set the job up, as Serve takes it: when the results consumer, created
// last, exists (a work consumer the server is still creating does not
// take pull requests yet). It returns nil once ctx is done.
func jobConsumer(ctx context.Context, js jetstream.JetStream, stage string) jetstream.Consumer {
	for {
		if _, err := js.Consumer(ctx, "FLOWBAR-RESULTS-"+stage, "driver"); err == nil {
			if cons, err := js.Consumer(ctx, "FLOWBAR-WORK-"+stage, "workers"); err == nil {
				return cons
			}
		}
		select {
		case <-time.After(10 * time.Millisecond):
		case <-ctx.Done():
			return nil
		}
	}
}

// streams lists the streams on the server of nc.
func streams(t testing.TB, nc *nats.Conn) []string {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var names []string
	l := js.StreamNames(ctx)
	for n := range l.Name() {
		names = append(names, n)
	}
	if err := l.Err(); err != nil && !errors.Is(err, jetstream.ErrEndOfData) {
		t.Fatal(err)
	}
	return names
}

// within fails the test if fn does not return within d.
func within(t testing.TB, d time.Duration, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not finish within %v", what, d)
	}
}
