package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// Serve runs the work of the remote stage name, as sent by a driver's
// [Map] with the same name and function, on this process: it waits for a
// job of that stage, pulls its messages, runs fn on their items with
// [WithWorkers] goroutines, publishes the results and acknowledges each
// message only once its results are stored on the server; then it waits
// for the next job. fn is the same Go function as locally, compiled in, so
// closures and generic functions work unchanged. While an item runs, its
// message's acknowledgement deadline is pushed back every third of the
// consumer's AckWait, so a slow item is not given to another worker.
//
// Serve blocks until ctx is cancelled or the connection is closed. On
// cancellation it stops pulling work, finishes the messages it has already
// pulled (their functions get a context that this cancellation does not
// reach, and that ends when the driver ends the job), and returns nil;
// work it did not take goes to the other workers.
// It returns [ErrVersionMismatch] when a driver's stage has another
// fingerprint (after handing the message back for another worker), and an
// error when the connection is closed. Every [WithHeartbeat] period it
// announces itself, so that drivers show how many workers serve them.
// fn's errors and panics are the items' failures, reported to the driver.
// Options: WithCodec, WithVersion, WithWorkers, WithInFlight,
// WithHeartbeat. It panics if nc or fn is nil or name is not a valid stage
// name.
func Serve[In, Out any](ctx context.Context, nc *nats.Conn, name string, fn func(context.Context, In) (Out, error), opts ...Option) error {
	if nc == nil {
		panic("remote: Serve: connection is nil")
	}
	if fn == nil {
		panic("remote: Serve: function is nil")
	}
	checkName("Serve", name)
	c := newConfig("Serve", serveOpts, opts)
	host, _ := os.Hostname()
	s := &server[In, Out]{nc: nc, n: namesOf(name), c: c, fn: fn, fp: fingerprint[In, Out](name, c),
		id: fmt.Sprintf("%s-%d-%s", host, os.Getpid(), nuid.Next()[16:])}
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("remote: Serve %q: %w", name, err)
	}
	s.js = js
	ctx, stop := context.WithCancelCause(ctx)
	s.stop = stop
	var wg sync.WaitGroup
	wg.Go(func() { s.heartbeats(ctx) })
	defer func() {
		stop(nil) // ends the heartbeats whatever ends Serve
		wg.Wait()
	}()
	// A new job is announced by the server's advisory of its results
	// consumer, the last thing the driver sets up (see jobConsumer); the
	// look every half heartbeat is for a server that does not send it.
	created := make(chan *nats.Msg, 1)
	if sub, err := nc.ChanSubscribe("$JS.EVENT.ADVISORY.CONSUMER.CREATED."+s.n.resStream+"."+s.n.resConsu, created); err == nil {
		defer func() { _ = sub.Unsubscribe() }()
	}
	for {
		cons, err := s.jobConsumer(ctx)
		switch {
		case ctx.Err() != nil:
			return s.result(ctx)
		case nc.IsClosed():
			return fmt.Errorf("remote: Serve %q: %w", name, nats.ErrConnectionClosed)
		case err == nil:
			if err := s.job(ctx, cons); err != nil {
				return err
			}
			continue
		}
		// No job yet, or the server is away: look again a little later.
		select {
		case <-created:
		case <-time.After(c.heartbeat / 2):
		case <-ctx.Done():
		}
	}
}

type server[In, Out any] struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	n    names
	c    config
	fn   func(context.Context, In) (Out, error)
	fp   string
	id   string
	stop context.CancelCauseFunc
}

// result is what Serve returns once ctx is done.
func (s *server[In, Out]) result(ctx context.Context) error {
	if err := context.Cause(ctx); errors.Is(err, ErrVersionMismatch) {
		return err
	}
	return nil
}

// jobConsumer returns the work consumer of the stage's job once the
// driver has set the job up, and an error while there is none.
//
// The work consumer alone does not say so: the server lists a consumer
// it is creating before it takes pull requests for it, and a pull request
// sent in between is answered "no responders", which the client's pull
// iterator ignores: it then waits for heartbeats that never come, and
// the worker gets no work until it finds them missing. The driver creates
// the results consumer only once the server has answered the creation of
// the work consumer, which it does once that consumer takes pull
// requests: when the results consumer exists, the work consumer is ready.
func (s *server[In, Out]) jobConsumer(ctx context.Context) (jetstream.Consumer, error) {
	if _, err := s.js.Consumer(ctx, s.n.resStream, s.n.resConsu); err != nil {
		return nil, err
	}
	return s.js.Consumer(ctx, s.n.workStream, s.n.workConsumer)
}

// heartbeats announces the server until ctx is done.
func (s *server[In, Out]) heartbeats(ctx context.Context) {
	t := time.NewTicker(s.c.heartbeat)
	defer t.Stop()
	for {
		s.announce()
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// announce publishes one heartbeat.
func (s *server[In, Out]) announce() {
	b, _ := json.Marshal(heartbeat{ID: s.id, Fingerprint: s.fp, Version: s.c.version, Workers: s.c.workers, InFlight: s.c.inFlight})
	_ = s.nc.Publish(s.n.hb, b)
}

// job serves one job's consumer until it is deleted or ctx is done. An
// error says that the consumer cannot be read at all.
func (s *server[In, Out]) job(ctx context.Context, cons jetstream.Consumer) error {
	cfg := cons.CachedInfo().Config
	// Pull requests that expire and heartbeat within a few of Serve's
	// heartbeats: a request the server lost is found out and made again
	// within seconds, not 30.
	expiry := min(max(10*s.c.heartbeat, 2*time.Second), 30*time.Second)
	it, err := cons.Messages(jetstream.PullMaxMessages(s.c.inFlight), jetstream.PullExpiry(expiry),
		jetstream.PullHeartbeat(max(expiry/4, 500*time.Millisecond)), jetstream.WithMessagesErrOnMissingHeartbeat(true))
	if err != nil {
		return fmt.Errorf("remote: Serve %q: %w", s.n.stage, err)
	}
	// The job's context: the driver deleting the job cancels it, the
	// cancellation of Serve's ctx does not (messages taken are finished).
	jctx, jcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer jcancel()
	var once sync.Once
	drain := func() { once.Do(it.Drain) }
	var wg sync.WaitGroup
	// The job ends when the driver deletes its streams: stop at once on
	// the server's advisory, or within a heartbeat when the consumer is
	// found gone.
	gone := make(chan *nats.Msg, 1)
	var subs []*nats.Subscription
	for _, subj := range []string{"$JS.EVENT.ADVISORY.STREAM.DELETED." + s.n.workStream, "$JS.EVENT.ADVISORY.CONSUMER.DELETED." + s.n.workStream + "." + s.n.workConsumer} {
		if sub, err := s.nc.ChanSubscribe(subj, gone); err == nil {
			subs = append(subs, sub)
		}
	}
	watching := make(chan struct{})
	wg.Go(func() {
		defer func() {
			for _, sub := range subs {
				_ = sub.Unsubscribe()
			}
		}()
		t := time.NewTicker(s.c.heartbeat)
		defer t.Stop()
		for {
			select {
			case <-gone:
				jcancel()
				it.Stop()
				return
			case <-t.C:
				ictx, cancel := context.WithTimeout(jctx, s.c.heartbeat)
				_, err := cons.Info(ictx)
				cancel()
				if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
					jcancel()
					it.Stop()
					return
				}
			case <-watching:
				return
			}
		}
	})
	// Items of every message taken go to one set of runners: a slow item
	// holds up no other, and an idle runner takes the next item of any
	// message (the skew rule of the local engine, across the fleet).
	tasks := make(chan func())
	var runners sync.WaitGroup
	for range s.c.workers {
		runners.Go(func() {
			for f := range tasks {
				f()
			}
		})
	}
	defer runners.Wait()
	defer close(tasks)
	var workers sync.WaitGroup
	for range s.c.inFlight {
		workers.Go(func() {
			for {
				var m jetstream.Msg
				var err error
				if ctx.Err() == nil {
					m, err = it.Next(jetstream.NextContext(ctx))
				} else {
					drain() // finish what was pulled, take nothing more
					m, err = it.Next()
				}
				if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
					continue
				}
				if err != nil {
					it.Stop() // the job has ended (its consumer is gone) or the server is away
					return
				}
				s.handle(jctx, m, cfg, tasks)
			}
		})
	}
	workers.Wait()
	close(watching)
	wg.Wait()
	return nil
}

// handle runs the items of one work message and answers it; ctx ends
// when the job does.
func (s *server[In, Out]) handle(ctx context.Context, m jetstream.Msg, cfg jetstream.ConsumerConfig, tasks chan<- func()) {
	h := m.Headers()
	if fp := h.Get(hdrFingerprint); fp != s.fp {
		_ = m.NakWithDelay(cfg.AckWait / 4)
		s.announce() // the driver refuses this worker on hearing it
		_ = s.nc.Flush()
		s.stop(fmt.Errorf("%w: stage %q: the driver has fingerprint %s, this worker %s (version %q)", ErrVersionMismatch, s.n.stage, fp, s.fp, s.c.version))
		return
	}
	delivered := uint64(1)
	if md, err := m.Metadata(); err == nil {
		delivered = md.NumDelivered
	}
	// Keep the message ours while its items run.
	var mu sync.Mutex
	done := false
	var t *time.Timer
	every := max(cfg.AckWait/3, 10*time.Millisecond)
	t = time.AfterFunc(every, func() {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			_ = m.InProgress()
			t.Reset(every)
		}
	})
	defer func() {
		mu.Lock()
		done = true
		t.Stop()
		mu.Unlock()
	}()

	limit := int(s.nc.MaxPayload()) - 1024
	var bodies [][]byte
	var body []byte
	put := func(id uint64, status byte, data []byte) {
		if len(data)+20 > limit {
			status, data = statusErr, fmt.Appendf(nil, "%v: the result encodes to %d bytes, the server takes at most %d per message", ErrTooLarge, len(data), limit+1024)
		}
		if len(body) > 0 && len(body)+len(data)+20 > limit {
			bodies = append(bodies, body)
			body = nil
		}
		body = appendResult(body, id, status, data)
	}
	type piece struct {
		id        uint64
		data, out []byte
		status    byte
	}
	var pieces []piece
	if err := readWork(m.Data(), func(id uint64, data []byte) { pieces = append(pieces, piece{id: id, data: data}) }); err != nil {
		// Not ours to read (another framing): hand it back; after
		// MaxDeliver deliveries the driver fails its items.
		_ = m.Nak()
		return
	}
	var wg sync.WaitGroup
	for i := range pieces {
		p := &pieces[i]
		wg.Add(1)
		tasks <- func() {
			defer wg.Done()
			p.status, p.out = s.run(ctx, p.data)
		}
	}
	wg.Wait()
	for _, p := range pieces {
		put(p.id, p.status, p.out)
	}
	if len(body) > 0 {
		bodies = append(bodies, body)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	msgID := h.Get(jetstream.MsgIDHeader)
	for k, b := range bodies {
		r := nats.NewMsg(s.n.resSubj)
		r.Data = b
		r.Header.Set(jetstream.MsgIDHeader, msgID+".r"+strconv.Itoa(k))
		r.Header.Set(hdrRun, h.Get(hdrRun))
		r.Header.Set(hdrWorker, s.id)
		r.Header.Set(hdrDelivered, strconv.FormatUint(delivered, 10))
		if _, err := s.js.PublishMsg(pctx, r); err != nil {
			_ = m.Nak() // not stored: let a worker try again
			return
		}
	}
	// Stored: now the message may go. An acknowledgement lost on the way
	// means a redelivery, whose results the driver drops.
	_ = m.Ack()
}

// run decodes one item, runs the function on it and encodes its result,
// returning the result's status and bytes.
func (s *server[In, Out]) run(ctx context.Context, data []byte) (byte, []byte) {
	codec := s.c.codec
	var v In
	if err := unmarshal(codec, data, &v); err != nil {
		return statusErr, fmt.Appendf(nil, "decoding the item with codec %s: %v", codec.Name(), err)
	}
	out, err := call(ctx, s.fn, v)
	if err != nil {
		return statusErr, []byte(err.Error())
	}
	data, err = marshal(codec, &out)
	if err != nil {
		return statusErr, fmt.Appendf(nil, "encoding the result with codec %s: %v", codec.Name(), err)
	}
	return statusOK, data
}

// call runs fn on v, turning a panic into an error with its stack.
func call[In, Out any](ctx context.Context, fn func(context.Context, In) (Out, error), v In) (out Out, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n\n%s", r, debug.Stack())
		}
	}()
	return fn(ctx, v)
}
