package remote

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
)

// Map returns a map stage whose function runs on the workers of a fleet
// (processes calling [Serve] with the same name and function, on this
// machine or others), reached through the NATS server of nc: the rest of
// the pipeline, its sinks, error records and progress bars stay in this
// process. fn is not called here; it gives the stage its types and is
// what the workers must run. One stage name runs one job at a time.
//
// When the run starts, Map creates the job's JetStream streams (a work
// queue for items, one for results) and consumers on the server, and
// deletes them when the stage ends, whatever ends it: workers then stop
// taking its work. Items go out in messages of up to [WithBatchSize]
// items, sent as soon as no more input is ready, with at most
// [WithWindow] messages unanswered; results are handed on as they come
// back, in completion order.
//
// Delivery is at least once, and once into the sink: each item carries an
// id, a result for an item already answered is dropped, and messages are
// deduplicated by id on the server. A message that a worker does not
// acknowledge within [WithAckWait] (the worker died) is delivered again,
// and its items count as retries on the stage's meters; after
// [WithMaxDeliver] deliveries its items fail with [ErrMaxDeliver]. The
// function's errors and panics on a worker fail their items with a
// [*WorkerError], under the pipeline's error policy like a local map's.
// An item the codec cannot encode, or too large for the server, fails
// with its input; streams that cannot be created fail the items with
// [ErrSetup]; a worker with another fingerprint ([WithVersion]) fails them
// with [ErrVersionMismatch]. With no worker serving, the stage waits.
//
// The stage's description on a progress bar says how many workers serve
// it (a Describe set on the returned stream replaces it). One goroutine
// runs the stage in the driver. Options: WithCodec, WithVersion,
// WithBatchSize, WithWindow, WithAckWait, WithMaxDeliver, WithHeartbeat,
// WithMemoryStorage.
// It panics if nc or fn is nil, if name is empty or not made of letters,
// digits, '-' and '_', or if in already has a consumer.
func Map[S, In, Out any](in *pipeline.Stream[S, In], nc *nats.Conn, name string, fn func(context.Context, In) (Out, error), opts ...Option) *pipeline.Stream[S, Out] {
	if nc == nil {
		panic("remote: Map: connection is nil")
	}
	if fn == nil {
		panic("remote: Map: function is nil")
	}
	checkName("Map", name)
	c := newConfig("Map", mapOpts, opts)
	op := &mapOp[S, In, Out]{nc: nc, n: namesOf(name), c: c, fp: fingerprint[In, Out](name, c), fleet: newFleet(c.heartbeat)}
	out := engine.Attach([]*pipeline.Stream[S, In]{in}, engine.Spec[S, In, S, Out]{
		Name: name, Kind: engine.KindMap, Shape: engine.OneToOne, Workers: 1,
	}, op)
	fl := op.fleet
	return out.Describe(func(input S, _ Out) string {
		if n := fl.count(); n != 1 {
			return fmt.Sprintf("%d workers · %v", n, input)
		}
		return fmt.Sprintf("1 worker · %v", input)
	})
}

// mapOp is the driver's side of a remote map: one worker, which sends the
// items out and hands the results on.
type mapOp[S, In, Out any] struct {
	nc    *nats.Conn
	n     names
	c     config
	fp    string
	fleet *fleet
	d     *driver[S, In, Out] // the run's, once Work has started
}

// pend is an item sent out and not yet answered.
type pend[S any] struct {
	input S
	units int64
	batch uint64
}

// driver is the state of one run of a remote map, owned by its worker's
// goroutine; the NATS callbacks reach it only through events.
type driver[S, In, Out any] struct {
	op  *mapOp[S, In, Out]
	w   *engine.Worker[S, In, S, Out]
	ctx context.Context
	js  jetstream.JetStream
	run string

	fatal   error // once set, every item fails with it
	pending map[uint64]pend[S]
	batches map[uint64]int // batch → its items not yet answered
	nextID  uint64
	nextB   uint64
	limit   int // largest message body

	body  []byte // the batch being filled
	ids   []uint64
	bPend []pend[S]

	events chan func()
	wake   chan time.Time // ticks when events has something
	// poll is a tick that has always fired: NextOr(poll) takes the next
	// item if one is ready, and returns nil at once if it would wait.
	poll  chan time.Time
	done  chan struct{} // closed when the run's stage ends
	subs  []*nats.Subscription
	cc    jetstream.ConsumeContext
	setup bool
}

func (op *mapOp[S, In, Out]) Work(w *engine.Worker[S, In, S, Out]) {
	d := op.d
	if d == nil {
		d = &driver[S, In, Out]{op: op, w: w, ctx: w.Context(),
			pending: map[uint64]pend[S]{}, batches: map[uint64]int{},
			events: make(chan func(), 256), wake: make(chan time.Time, 1), poll: make(chan time.Time), done: make(chan struct{})}
		close(d.poll)
		op.d = d
	}
	d.loop()
	d.stop()
}

func (d *driver[S, In, Out]) loop() {
	w := d.w
	inputOpen := true
	for {
		d.drain()
		if w.Stopping() {
			break
		}
		if inputOpen && len(d.batches) < d.window() {
			it, ok := w.NextOr(d.poll)
			if ok && it == nil { // no input ready: send what is held, then wait
				d.send()
				it, ok = w.NextOr(d.wake)
			}
			switch {
			case !ok:
				inputOpen = false
				d.send()
			case it != nil:
				d.add(it)
			}
			continue
		}
		if !inputOpen && len(d.pending) == 0 && len(d.ids) == 0 {
			return
		}
		d.send()
		w.Flush()
		select {
		case <-d.wake:
		case <-d.ctx.Done():
		}
	}
	// Cancelled: what the stage holds will never be answered (the engine
	// counts the input left unread).
	var held int64
	for _, p := range d.pending {
		held += p.units
	}
	for _, p := range d.bPend {
		held += p.units
	}
	w.Cancel(held)
	clear(d.pending)
	d.ids, d.bPend, d.body = nil, nil, nil
}

// post hands fn to the driver's goroutine, from a NATS callback.
func (d *driver[S, In, Out]) post(fn func()) {
	select {
	case d.events <- fn:
	case <-d.done:
		return
	}
	select {
	case d.wake <- time.Time{}:
	default:
	}
}

// drain runs the events that have arrived.
func (d *driver[S, In, Out]) drain() {
	for {
		select {
		case fn := <-d.events:
			fn()
		default:
			return
		}
	}
}

// add puts an item into the batch being filled, sending the batch when
// it is full or the item would not fit.
func (d *driver[S, In, Out]) add(it *engine.Item[S, In]) {
	w, c := d.w, d.op.c
	units := w.Units(it)
	if !d.setup {
		d.start() // on the first item: a run with none leaves the server alone
	}
	if d.fatal != nil {
		w.Fail(it.Input, units, d.fatal)
		return
	}
	data, err := marshal(c.codec, &it.Value)
	if err != nil {
		w.Fail(it.Input, units, fmt.Errorf("remote: encoding the item with codec %s: %w", c.codec.Name(), err))
		return
	}
	if len(data)+20 > d.limit {
		w.Fail(it.Input, units, fmt.Errorf("%w: it encodes to %d bytes, the server takes at most %d per message", ErrTooLarge, len(data), d.limit+1024))
		return
	}
	if len(d.body)+len(data)+20 > d.limit {
		d.send()
	}
	id := d.nextID
	d.nextID++
	d.body = appendWork(d.body, id, data)
	d.ids = append(d.ids, id)
	d.bPend = append(d.bPend, pend[S]{input: it.Input, units: units})
	if len(d.ids) >= c.batch {
		d.send()
	}
}

// send publishes the batch being filled.
func (d *driver[S, In, Out]) send() {
	if len(d.ids) == 0 {
		return
	}
	b := d.nextB
	d.nextB++
	for i, id := range d.ids {
		p := d.bPend[i]
		p.batch = b
		d.pending[id] = p
	}
	d.batches[b] = len(d.ids)
	m := nats.NewMsg(d.op.n.workSubj)
	m.Data = d.body
	m.Header.Set(jetstream.MsgIDHeader, d.run+"."+strconv.FormatUint(b, 10))
	m.Header.Set(hdrRun, d.run)
	m.Header.Set(hdrFingerprint, d.op.fp)
	d.body, d.ids, d.bPend = nil, d.ids[:0], d.bPend[:0]
	if _, err := d.js.PublishMsgAsync(m); err != nil {
		d.failBatch(b, fmt.Errorf("remote: sending the item: %w", err))
	}
}

// result hands on the outcomes a result message carries.
func (d *driver[S, In, Out]) result(m jetstream.Msg) {
	defer func() { _ = m.Ack() }()
	h := m.Headers()
	if h.Get(hdrRun) != d.run {
		return // left over from another run
	}
	w, codec := d.w, d.op.c.codec
	worker := h.Get(hdrWorker)
	var fresh int64
	err := readResult(m.Data(), func(id uint64, status byte, data []byte) {
		p, ok := d.pending[id]
		if !ok {
			return // answered already: a redelivered message's duplicate
		}
		delete(d.pending, id)
		d.settle(p.batch)
		fresh += p.units
		if status != statusOK {
			w.Fail(p.input, p.units, &WorkerError{Worker: worker, Msg: string(data)})
			return
		}
		var out Out
		if err := unmarshal(codec, data, &out); err != nil {
			w.Fail(p.input, p.units, fmt.Errorf("remote: decoding the result with codec %s: %w", codec.Name(), err))
			return
		}
		w.Emit(engine.Item[S, Out]{Input: p.input, Value: out}, p.units)
	})
	if n, _ := strconv.ParseInt(h.Get(hdrDelivered), 10, 64); n > 1 && fresh > 0 {
		engine.AddRetries(d.ctx, fresh*(n-1))
	}
	if err != nil {
		d.failBatch(batchOf(h.Get(jetstream.MsgIDHeader)), fmt.Errorf("remote: a result from worker %s: %w", worker, err))
	}
}

// maxDelivered fails the items of the message at seq, which the workers
// were given the maximum number of times.
func (d *driver[S, In, Out]) maxDelivered(seq, deliveries uint64) {
	ctx, cancel := context.WithTimeout(d.ctx, 5*time.Second)
	defer cancel()
	st, err := d.js.Stream(ctx, d.op.n.workStream)
	var m *jetstream.RawStreamMsg
	if err == nil {
		m, err = st.GetMsg(ctx, seq)
	}
	if err != nil {
		d.setFatal(fmt.Errorf("%w: stage %q: message %d: %w", ErrMaxDeliver, d.op.n.stage, seq, err))
		return
	}
	if m.Header.Get(hdrRun) != d.run {
		return
	}
	d.failBatch(batchOf(m.Header.Get(jetstream.MsgIDHeader)), fmt.Errorf("%w (%d deliveries)", ErrMaxDeliver, deliveries))
}

// failBatch fails the items of batch b not yet answered.
func (d *driver[S, In, Out]) failBatch(b uint64, err error) {
	if _, ok := d.batches[b]; !ok {
		return
	}
	for id, p := range d.pending {
		if p.batch == b {
			delete(d.pending, id)
			d.settle(b)
			d.w.Fail(p.input, p.units, err)
		}
	}
}

// setFatal fails every item sent and every item to come with err.
func (d *driver[S, In, Out]) setFatal(err error) {
	if d.fatal != nil {
		return
	}
	d.fatal = err
	for id, p := range d.pending {
		delete(d.pending, id)
		d.settle(p.batch)
		d.w.Fail(p.input, p.units, err)
	}
	for _, p := range d.bPend {
		d.w.Fail(p.input, p.units, err)
	}
	d.body, d.ids, d.bPend = nil, d.ids[:0], d.bPend[:0]
}

// settle counts one answered item of batch b.
func (d *driver[S, In, Out]) settle(b uint64) {
	if d.batches[b]--; d.batches[b] <= 0 {
		delete(d.batches, b)
	}
}

// batchOf returns the batch number in a message id ("run.7" for work,
// "run.7.r0" for its first result message), or a number no batch has.
func batchOf(msgID string) uint64 {
	f := strings.Split(msgID, ".")
	if len(f) < 2 {
		return ^uint64(0)
	}
	b, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return ^uint64(0)
	}
	return b
}

// marshal encodes v with c, turning a panic into an error.
func marshal(c Codec, v any) (data []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return c.Marshal(v)
}

// unmarshal decodes data with c, turning a panic into an error.
func unmarshal(c Codec, data []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return c.Unmarshal(data, v)
}
