package remote_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/remote"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// wordLength is the stage's function: the same Go function in the driver
// (for its types) and in the workers (which run it).
func wordLength(_ context.Context, w string) (int, error) {
	if w == "" {
		return 0, fmt.Errorf("empty word")
	}
	return len(w), nil
}

// A remote map: the driver sends the words to the workers serving stage
// "length" and collects the results by input, with the errors keyed by
// input as for a local map. Here the server is embedded and the worker
// runs on a goroutine; in real use both are other processes (see
// remote/examples/demo).
func ExampleMap() {
	dir, _ := os.MkdirTemp("", "flowbar-remote-example")
	defer os.RemoveAll(dir)
	srv, _ := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true})
	srv.Start()
	defer srv.WaitForShutdown()
	defer srv.Shutdown()
	srv.ReadyForConnections(10 * time.Second)
	nc, err := remote.Connect(srv.ClientURL())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nc.Close()

	// A worker: usually `yourprogram worker` on another machine.
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error)
	go func() { served <- remote.Serve(ctx, nc, "length", wordLength, remote.WithWorkers(2)) }()
	defer func() { stop(); <-served }()

	// The driver: the pipeline as usual, with the map stage marked remote.
	p := pipeline.New(pipeline.WithContinueOnError())
	words := stage.FromSlice(p, []string{"flow", "bar", "", "remote"})
	lengths, err := sink.ByInput(context.Background(), remote.Map(words, nc, "length", wordLength))
	fmt.Println(lengths["flow"], lengths["bar"], lengths["remote"])
	for _, e := range pipeline.ItemErrors[string](err) {
		fmt.Printf("%q failed in stage %s\n", e.Input, e.Stage)
	}
	// Output:
	// 4 3 6
	// "" failed in stage length
}
