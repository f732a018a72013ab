package engine

import "sync/atomic"

// sequencer puts the chunks of an ordered stage back in the order they were
// taken. Workers take a window token, then a chunk and its sequence number;
// they deposit the chunk's outputs in the slot of that number; the
// sequencer's goroutine hands slots on in order and returns the tokens. At
// most window chunks are in flight.
type sequencer[S, T any] struct {
	// take is held (a value in it) while a worker takes a chunk and its
	// number. It is a channel, not a mutex, because the holder may block
	// receiving input, and a goroutine waiting on a channel is durably
	// blocked (testing/synctest can advance time past it).
	take    chan struct{}
	next    int64 // sequence number of the next chunk taken
	tokens  chan struct{}
	slots   []chan deposit[S, T]
	done    chan struct{} // closed when every worker has exited
	running atomic.Int32  // workers still running
}

type deposit[S, T any] struct {
	items         []Item[S, T]
	done, emitted int64
}

func newSequencer[S, T any](window, workers int) *sequencer[S, T] {
	if window == 0 {
		window = 4 * workers
	}
	q := &sequencer[S, T]{
		take:   make(chan struct{}, 1),
		tokens: make(chan struct{}, window),
		slots:  make([]chan deposit[S, T], window),
		done:   make(chan struct{}),
	}
	for i := range q.slots {
		q.slots[i] = make(chan deposit[S, T], 1)
	}
	q.running.Store(int32(workers))
	return q
}

// exit is called by each worker as it ends; the last one, and only it,
// tells the sequencer.
func (q *sequencer[S, T]) exit() {
	if q.running.Add(-1) == 0 {
		close(q.done)
	}
}

// fetchOrdered takes the next chunk of input for an ordered worker, with a
// window token and a sequence number (none once the run is cancelled: the
// chunk's items are then all cancelled and nothing is deposited).
func (w *Worker[SI, I, SO, O]) fetchOrdered() ([]Item[SI, I], bool) {
	q := w.seq
	r := w.r
	w.seqNo = -1
	select {
	case q.tokens <- struct{}{}:
	case <-r.ctx.Done():
		return w.in.in.next(r, &w.buf, r.p.cfg.ChunkSize, noWait{})
	}
	w.idle()
	q.take <- struct{}{}
	items, ok := w.in.in.next(r, &w.buf, w.want(), noWait{})
	seq := q.next
	if ok {
		q.next++
	}
	<-q.take
	if !ok {
		<-q.tokens
		return nil, false
	}
	w.seqNo = seq
	return items, true
}

// beginOrdered readies the outputs of a chunk of n items.
func (w *Worker[SI, I, SO, O]) beginOrdered(n int) {
	w.ord = makeChunk[SO, O](n, w.r.p.cfg.ChunkSize)
	w.okOrd, w.emOrd = 0, 0
}

// endOrdered deposits the outputs of the chunk just finished.
func (w *Worker[SI, I, SO, O]) endOrdered() {
	if w.seqNo < 0 {
		return
	}
	q := w.seq
	q.slots[w.seqNo%int64(len(q.slots))] <- deposit[SO, O]{items: w.ord, done: w.okOrd, emitted: w.emOrd}
	w.ord, w.okOrd, w.emOrd, w.seqNo = nil, 0, 0, -1
}

// run hands the deposited chunks on in order until every worker has exited
// and every deposited chunk is handed on.
func (q *sequencer[S, T]) run(r *run, out *Stream[S, T]) {
	m := &out.from.m
	window := int64(len(q.slots))
	for seq := int64(0); ; seq++ {
		slot := q.slots[seq%window]
		var d deposit[S, T]
		select {
		case d = <-slot:
		case <-q.done:
			// Every worker has exited: q.next is final and every chunk
			// below it has been deposited.
			if seq >= q.next {
				return
			}
			d = <-slot
		}
		if len(d.items) > 0 {
			m.out.Add(d.done)
			m.emitted.Add(d.emitted)
			sent, _, took := out.out.send(r, d.items)
			m.blocked.Add(took)
			if !sent {
				m.out.Add(-d.done)
				m.emitted.Add(-d.emitted)
				m.cancelled.Add(d.done)
				keepFailures(r, d.items)
			}
		}
		<-q.tokens
	}
}
