package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// A job's life on the server: the streams and consumers the driver creates
// when the run starts, the window of messages it keeps out, and their
// removal when the stage ends.

// start creates the job on the server; a failure becomes d.fatal.
func (d *driver[S, In, Out]) start() {
	op, n := d.op, d.op.n
	d.run = nuid.Next()
	d.limit = int(op.nc.MaxPayload()) - 1024
	d.setup = true
	fail := func(what string, err error) {
		d.fatal = fmt.Errorf("%w: stage %q: %s: %w", ErrSetup, n.stage, what, err)
	}
	if !op.nc.IsConnected() {
		fail("connection to "+op.nc.ConnectedUrlRedacted(), fmt.Errorf("not connected (status %v)", op.nc.Status()))
		return
	}
	js, err := jetstream.New(op.nc, jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, err error) {
		d.post(func() {
			d.failBatch(batchOf(m.Header.Get(jetstream.MsgIDHeader)), fmt.Errorf("remote: sending the item: %w", err))
		})
	}))
	if err != nil {
		fail("jetstream", err)
		return
	}
	d.js = js
	// Not cut short by a cancellation: what is created is then known, and
	// deleted by stop.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(d.ctx), 10*time.Second)
	defer cancel()
	meta := map[string]string{"flowbar-run": d.run, "flowbar-fingerprint": op.fp}
	storage := jetstream.FileStorage
	if op.c.memory {
		storage = jetstream.MemoryStorage
	}
	for _, sc := range []jetstream.StreamConfig{
		{Name: n.workStream, Subjects: []string{n.workSubj}, Retention: jetstream.WorkQueuePolicy, Storage: storage, Duplicates: 2 * time.Minute, Metadata: meta,
			Description: "flowbar remote stage " + n.stage + ": items for the workers"},
		{Name: n.resStream, Subjects: []string{n.resSubj}, Retention: jetstream.WorkQueuePolicy, Storage: storage, Duplicates: 2 * time.Minute, Metadata: meta,
			Description: "flowbar remote stage " + n.stage + ": results for the driver"},
	} {
		if err := createStream(ctx, js, sc); err != nil {
			if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				err = fmt.Errorf("%w (a job of this stage is running, or one was left behind: remote.Clean removes it)", err)
			}
			fail("creating stream "+sc.Name, err)
			return
		}
	}
	// Subscribed before the consumer exists, so that no advisory is missed.
	adv, err := op.nc.Subscribe("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES."+n.workStream+"."+n.workConsumer, func(m *nats.Msg) {
		var a struct {
			StreamSeq  uint64 `json:"stream_seq"`
			Deliveries uint64 `json:"deliveries"`
		}
		if json.Unmarshal(m.Data, &a) == nil {
			d.post(func() { d.maxDelivered(a.StreamSeq, a.Deliveries) })
		}
	})
	if err != nil {
		fail("subscribing to advisories", err)
		return
	}
	d.subs = append(d.subs, adv)
	hb, err := op.nc.Subscribe(n.hb, func(m *nats.Msg) {
		var h heartbeat
		if json.Unmarshal(m.Data, &h) != nil {
			return
		}
		before := op.fleet.inFlight()
		op.fleet.seen(h.ID, h.InFlight)
		if op.fleet.inFlight() > before {
			select { // the window may have grown
			case d.wake <- time.Time{}:
			default:
			}
		}
		if h.Fingerprint != op.fp {
			err := fmt.Errorf("%w: stage %q: worker %s has fingerprint %s (version %q), the driver %s (version %q)",
				ErrVersionMismatch, n.stage, h.ID, h.Fingerprint, h.Version, op.fp, op.c.version)
			d.post(func() { d.setFatal(err) })
		}
	})
	if err != nil {
		fail("subscribing to heartbeats", err)
		return
	}
	d.subs = append(d.subs, hb)
	if _, err := js.CreateConsumer(ctx, n.workStream, jetstream.ConsumerConfig{
		Durable: n.workConsumer, AckPolicy: jetstream.AckExplicitPolicy, AckWait: op.c.ackWait,
		MaxDeliver: op.c.maxDeliver, MaxAckPending: op.c.maxAckPending(),
	}); err != nil {
		fail("creating the workers' consumer", err)
		return
	}
	// The results consumer last: workers take the job once it exists,
	// when the server has answered the creation of the work consumer and
	// so takes pull requests for it (see server.jobConsumer).
	rc, err := js.CreateConsumer(ctx, n.resStream, jetstream.ConsumerConfig{
		Durable: n.resConsu, AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Minute,
	})
	if err != nil {
		fail("creating the results consumer", err)
		return
	}
	d.cc, err = rc.Consume(func(m jetstream.Msg) { d.post(func() { d.result(m) }) }, jetstream.PullMaxMessages(max(op.c.window, 16)),
		// Short pull requests with heartbeats: a request the server lost is
		// found out and made again within a second or two.
		jetstream.PullExpiry(2*time.Second), jetstream.PullHeartbeat(500*time.Millisecond))
	if err != nil {
		fail("consuming results", err)
	}
}

// window is how many messages the driver keeps out now: WithWindow's, or
// by default at least what the serving workers pull at once.
func (d *driver[S, In, Out]) window() int {
	c := d.op.c
	if c.set&optWindow != 0 {
		return c.window
	}
	return max(c.window, d.op.fleet.inFlight())
}

// createStream creates a stream, trying again a few times when the server
// fails to create its store: nats-server removes an account's empty
// store directories in the background after the last stream is deleted,
// which races with the creation of the next one ("could not create
// storage directory", error code 10049).
const errCodeStreamCreate jetstream.ErrorCode = 10049 // JSStreamCreateErrF

func createStream(ctx context.Context, js jetstream.JetStream, sc jetstream.StreamConfig) error {
	for attempt := 1; ; attempt++ {
		_, err := js.CreateStream(ctx, sc)
		var api *jetstream.APIError
		if err == nil || attempt == 5 || !errors.As(err, &api) || api.ErrorCode != errCodeStreamCreate {
			return err
		}
		select {
		case <-time.After(time.Duration(attempt) * 20 * time.Millisecond):
		case <-ctx.Done():
			return err
		}
	}
}

// stop removes the job from the server and waits for its callbacks.
func (d *driver[S, In, Out]) stop() {
	if !d.setup {
		return
	}
	d.setup = false
	close(d.done)
	for _, s := range d.subs {
		_ = s.Unsubscribe()
	}
	if d.cc != nil {
		d.cc.Stop()
		<-d.cc.Closed()
	}
	if d.js != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, s := range []string{d.op.n.workStream, d.op.n.resStream} {
			// Only this run's: a stream of that name made by another
			// driver since is left alone. A failed deletion is tried again
			// (what is left makes the next driver of the stage fail with
			// ErrSetup, naming Clean).
			for range 3 {
				info, err := d.js.Stream(ctx, s)
				if err != nil || info.CachedInfo().Config.Metadata["flowbar-run"] != d.run || d.js.DeleteStream(ctx, s) == nil {
					break
				}
			}
		}
		d.js.CleanupPublisher()
	}
}
