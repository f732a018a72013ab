package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestServeWaitsForSetup: a worker takes a job only once the driver has
// set it up, when the results consumer (created last) exists. The server
// lists a work consumer it is creating before that consumer takes pull
// requests, and a pull request sent in between is answered "no
// responders", which the client's iterator ignores: a worker that pulled
// as soon as it found the work consumer could get no work until its pull
// heartbeats were missed. Here the job is left half set up, as a driver
// leaves it between the two consumers: the worker must look for the
// results consumer, not take the work, and take it once that consumer
// exists.
func TestServeWaitsForSetup(t *testing.T) {
	srv, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("the NATS server did not start within 10s")
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	const name = "early"
	n := namesOf(name)
	double := func(_ context.Context, x int) (int, error) { return 2 * x, nil }
	for _, sc := range []jetstream.StreamConfig{
		{Name: n.workStream, Subjects: []string{n.workSubj}, Retention: jetstream.WorkQueuePolicy},
		{Name: n.resStream, Subjects: []string{n.resSubj}, Retention: jetstream.WorkQueuePolicy},
	} {
		if _, err := js.CreateStream(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	work, err := js.CreateConsumer(ctx, n.workStream, jetstream.ConsumerConfig{Durable: n.workConsumer, AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	m := nats.NewMsg(n.workSubj)
	m.Data = appendWork(nil, 7, []byte("21"))
	m.Header.Set(hdrRun, "run")
	m.Header.Set(hdrFingerprint, fingerprint[int, int](name, newConfig("Serve", serveOpts, nil)))
	if _, err := js.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}

	// The worker's looks for the results consumer, told by the server's
	// audit of its API requests, and the results it publishes.
	audits := make(chan *nats.Msg, 64)
	asub, err := nc.ChanSubscribe("$JS.EVENT.ADVISORY.API", audits)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = asub.Unsubscribe() }()
	results := make(chan *nats.Msg, 4)
	rsub, err := nc.ChanSubscribe(n.resSubj, results)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rsub.Unsubscribe() }()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	wc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Close()
	sctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(sctx, wc, name, double, WithWorkers(1), WithHeartbeat(50*time.Millisecond)) }()
	defer func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("Serve returned %v", err)
		}
	}()

	lookup := "$JS.API.CONSUMER.INFO." + n.resStream + "." + n.resConsu
	for looks := 0; looks < 3; {
		select {
		case a := <-audits:
			var audit struct {
				Subject string `json:"subject"`
			}
			if json.Unmarshal(a.Data, &audit) == nil && audit.Subject == lookup {
				looks++
			}
		case r := <-results:
			t.Fatalf("the worker took the job before its results consumer existed (result %q)", r.Data)
		case <-ctx.Done():
			t.Fatal("the worker did not look for the job's results consumer within a minute")
		}
	}
	if ci, err := work.Info(ctx); err != nil || ci.Delivered.Consumer != 0 {
		t.Fatalf("work consumer: %+v, %v; want nothing delivered before the results consumer exists", ci, err)
	}

	if _, err := js.CreateConsumer(ctx, n.resStream, jetstream.ConsumerConfig{Durable: n.resConsu, AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-results:
		var got []string
		if err := readResult(r.Data, func(id uint64, status byte, data []byte) {
			got = append(got, fmt.Sprintf("%d:%s", status, data))
			if id != 7 {
				t.Errorf("result for item %d, want 7", id)
			}
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0] != "0:42" {
			t.Errorf("results %q, want one \"0:42\" (status OK, 2×21)", got)
		}
	case <-ctx.Done():
		t.Fatal("the worker did not take the job within a minute of its results consumer's creation")
	}
}
