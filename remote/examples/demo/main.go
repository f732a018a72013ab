// Command demo runs a map stage on worker processes through NATS
// JetStream, with live progress bars in the driver.
//
// On one machine, one command: an embedded NATS server, two worker
// processes (this binary, as children) and the driver:
//
//	go run ./examples/demo
//
// Across machines: a NATS server with JetStream somewhere (this binary
// can be one), workers started by hand on any number of machines, and the
// driver:
//
//	demo server -listen 0.0.0.0:4222 -store /var/tmp/flowbar-nats   # machine A
//	demo worker -url nats://A:4222 -workers 8                        # machines B, C, ...
//	demo -url nats://A:4222 -items 5000000                           # the driver
//	demo clean -url nats://A:4222                                    # after a driver was killed
//
// The stage is the same Go function in the driver and in the workers:
// build the binary once (go build ./examples/demo) and copy it.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/progress"
	"github.com/flowbar/flowbar/remote"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// stageName is the remote stage's name, shared by the driver and workers.
const stageName = "demo-hash"

// hash is the stage's function: a few rounds of SHA-256 over the item's
// number, standing for real work.
func hash(_ context.Context, n int) (string, error) {
	sum := sha256.Sum256([]byte(strconv.Itoa(n)))
	for range 200 {
		sum = sha256.Sum256(sum[:])
	}
	return hex.EncodeToString(sum[:8]), nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch {
	case len(os.Args) > 1 && os.Args[1] == "worker":
		err = worker(ctx, os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "server":
		err = serverCmd(ctx, os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "clean":
		err = clean(ctx, os.Args[2:])
	default:
		err = driver(ctx, os.Args[1:])
		if ctx.Err() != nil { // the driver was interrupted: the job is stopped and cleaned up
			fmt.Fprintln(os.Stderr, "demo: interrupted")
			os.Exit(130)
		}
	}
	if ctx.Err() != nil { // a worker or server asked to stop
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// worker serves the stage until interrupted.
func worker(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("worker", flag.ExitOnError)
	url := fs.String("url", "", "the NATS server (default "+"nats://127.0.0.1:4222)")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "goroutines running the stage")
	_ = fs.Parse(args)
	nc, err := remote.Connect(*url)
	if err != nil {
		return err
	}
	defer nc.Close()
	return remote.Serve(ctx, nc, stageName, hash, remote.WithWorkers(*workers))
}

// clean removes what a driver that was killed left on the server.
func clean(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("clean", flag.ExitOnError)
	url := fs.String("url", "", "the NATS server (default nats://127.0.0.1:4222)")
	_ = fs.Parse(args)
	nc, err := remote.Connect(*url)
	if err != nil {
		return err
	}
	defer nc.Close()
	return remote.Clean(ctx, nc, stageName)
}

// serverCmd runs a NATS server with JetStream until interrupted.
func serverCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("server", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:4222", "host:port to listen on")
	store := fs.String("store", "", "JetStream store directory (default: a temporary one)")
	_ = fs.Parse(args)
	s, cleanup, err := startServer(*listen, *store)
	if err != nil {
		return err
	}
	defer cleanup()
	fmt.Fprintln(os.Stderr, "demo: NATS server with JetStream at", s.ClientURL())
	<-ctx.Done()
	return nil
}

// driver runs the pipeline; without -url it also runs the server and the
// workers.
func driver(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ExitOnError)
	url := fs.String("url", "", "a NATS server with JetStream and workers already serving; empty: start both here")
	items := fs.Int("items", 200_000, "number of items")
	procs := fs.Int("procs", 2, "worker processes to start (without -url)")
	batch := fs.Int("batch", 100, "items per message")
	ackWait := fs.Duration("ackwait", 5*time.Second, "how long before the work of a worker that died goes to another")
	_ = fs.Parse(args)

	if *url == "" {
		s, cleanup, err := startServer("127.0.0.1:-1", "")
		if err != nil {
			return err
		}
		defer cleanup()
		*url = s.ClientURL()
		stopWorkers, err := startWorkers(*url, *procs)
		if err != nil {
			return err
		}
		defer stopWorkers()
	}
	nc, err := remote.Connect(*url)
	if err != nil {
		return err
	}
	defer nc.Close()

	xs := make([]int, *items)
	for i := range xs {
		xs[i] = i
	}
	board := progress.New()
	p := pipeline.New(pipeline.WithObserver(board))
	hashes := remote.Map(stage.FromSlice(p, xs), nc, stageName, hash, remote.WithBatchSize(*batch), remote.WithAckWait(*ackWait))
	start := time.Now()
	got, err := sink.ByInput(ctx, hashes)
	if err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Printf("%d results in %v (%.0f items/s); hash(0) = %s\n", len(got), el.Round(time.Millisecond), float64(len(got))/el.Seconds(), got[0])
	return nil
}

// startServer starts an embedded NATS server with JetStream on
// host:port (port -1: any free one), storing in dir (empty: a temporary
// directory, removed by cleanup). cleanup shuts the server down and waits
// for it.
func startServer(listen, dir string) (s *server.Server, cleanup func(), err error) {
	host, portS, ok := cut(listen)
	port, err := strconv.Atoi(portS)
	if !ok || err != nil {
		return nil, nil, fmt.Errorf("listen address %q: want host:port", listen)
	}
	removeDir := func() {}
	if dir == "" {
		if dir, err = os.MkdirTemp("", "flowbar-demo-nats"); err != nil {
			return nil, nil, err
		}
		removeDir = func() { _ = os.RemoveAll(dir) }
	}
	s, err = server.NewServer(&server.Options{Host: host, Port: port, JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true})
	if err != nil {
		removeDir()
		return nil, nil, err
	}
	s.Start()
	cleanup = func() {
		s.Shutdown()
		s.WaitForShutdown()
		removeDir()
	}
	if !s.ReadyForConnections(10 * time.Second) {
		cleanup()
		return nil, nil, errors.New("the embedded NATS server did not start within 10s")
	}
	return s, cleanup, nil
}

func cut(hostport string) (host, port string, ok bool) {
	for i := len(hostport) - 1; i >= 0; i-- {
		if hostport[i] == ':' {
			return hostport[:i], hostport[i+1:], true
		}
	}
	return "", "", false
}

// startWorkers starts n worker processes of this binary serving from url,
// and returns a function that stops them (SIGTERM, then waits).
func startWorkers(url string, n int) (func(), error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var cmds []*exec.Cmd
	stop := func() {
		for _, c := range cmds {
			_ = c.Process.Signal(syscall.SIGTERM)
		}
		for _, c := range cmds {
			_ = c.Wait()
		}
	}
	for range n {
		c := exec.Command(self, "worker", "-url", url, "-workers", strconv.Itoa(max(runtime.GOMAXPROCS(0)/n, 1)))
		c.Stderr = os.Stderr
		if err := c.Start(); err != nil {
			stop()
			return nil, err
		}
		cmds = append(cmds, c)
	}
	return stop, nil
}
