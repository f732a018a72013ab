package engine

import (
	"sync"
	"time"
)

// sourceBuffer is the number of items a source's own goroutine ([FuncSource],
// [ItemSource]) may queue ahead of the next stage.
const sourceBuffer = 1024

// sourceQueue is the edge between a source's own goroutine and the workers
// of the next stage: the producer appends items one at a time under a lock
// held for an append, and a worker takes a whole chunk at once, as from a
// slice. An item costs the producer a lock and an append instead of a
// channel send per item, and the consumers contend once per chunk instead
// of once per item; an item queued while a worker waits wakes it, so a slow
// producer's items go on one by one as they come.
type sourceQueue[S, T any] struct {
	from      *Stage
	mu        sync.Mutex
	items     []Item[S, T] // queued: items[head:]
	head      int
	closed    bool // the producer has returned
	waiters   int  // consumers waiting for items
	full      bool // the producer waits for room
	consumers int  // workers reading the queue
	// The producer's counts not yet on the source's meters: items
	// queued (in) and their weight, published every countEvery items,
	// before the producer waits and when a consumer takes items (which
	// is before the items are counted out, so that Out never passes In).
	pendIn, pendWeight int64
	// ready wakes a waiting consumer, room the producer, and done, closed
	// with the queue, every consumer. Waits are on channels, so that a
	// waiting goroutine is durably blocked (testing/synctest).
	ready, room, done chan struct{}
}

func newSourceQueue[S, T any](from *Stage) *sourceQueue[S, T] {
	return &sourceQueue[S, T]{
		from:      from,
		consumers: 1,
		ready:     make(chan struct{}, 1),
		room:      make(chan struct{}, 1),
		done:      make(chan struct{}),
	}
}

func (q *sourceQueue[S, T]) setConsumers(n int) { q.consumers = max(n, 1) }

// countEvery is how many items a source's goroutine queues between two
// updates of its meters.
const countEvery = 64

// put queues it, waiting while sourceBuffer items are queued, and counts
// in items and weight for the source (in is 0 for a failure record, which
// was counted when it failed); it reports false, having queued and counted
// nothing, if the run is cancelled first. The time waiting is the source's
// blocked time.
func (q *sourceQueue[S, T]) put(r *run, it Item[S, T], in, weight int64) bool {
	q.mu.Lock()
	for len(q.items)-q.head >= sourceBuffer {
		q.full = true
		q.publish()
		q.mu.Unlock()
		t := clock()
		select {
		case <-q.room:
		case <-r.ctx.Done():
			q.from.m.blocked.Add(clock() - t)
			return false
		}
		q.from.m.blocked.Add(clock() - t)
		q.mu.Lock()
	}
	if q.head > 0 && len(q.items) == cap(q.items) {
		// Move the queued items to the front instead of growing.
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	q.items = append(q.items, it)
	q.pendIn += in
	q.pendWeight += weight
	if q.pendIn >= countEvery {
		q.publish()
	}
	wake := q.waiters > 0
	q.mu.Unlock()
	if wake {
		signal(q.ready)
	}
	return true
}

// publish adds the producer's pending counts to the source's meters. The
// caller holds mu.
func (q *sourceQueue[S, T]) publish() {
	m := &q.from.m
	if q.pendIn != 0 {
		m.in.Add(q.pendIn)
	}
	if q.pendWeight != 0 {
		m.weight.Add(q.pendWeight)
	}
	q.pendIn, q.pendWeight = 0, 0
}

// close is called once the producer has returned.
func (q *sourceQueue[S, T]) close() {
	q.mu.Lock()
	q.publish()
	q.closed = true
	q.mu.Unlock()
	close(q.done)
}

func (q *sourceQueue[S, T]) next(r *run, buf *[]Item[S, T], want int, w waiter) ([]Item[S, T], bool) {
	var wake <-chan time.Time // the waiter's tick, once asked for
	asked := false
	for {
		q.mu.Lock()
		if n := len(q.items) - q.head; n > 0 {
			// Guided self-scheduling, as for slices: never take more
			// than a share of what is queued, so that the last items
			// (often the slow ones of a walk) spread over every worker.
			if share := n / (2 * q.consumers); share < want {
				want = max(share, 1)
			}
			k := min(want, n)
			b := append((*buf)[:0], q.items[q.head:q.head+k]...)
			clear(q.items[q.head : q.head+k]) // let the items' memory go
			q.head += k
			if q.head == len(q.items) {
				q.items, q.head = q.items[:0], 0
			}
			left := len(q.items) - q.head
			wakeProducer := q.full && left <= sourceBuffer/2
			if wakeProducer {
				q.full = false
			}
			wakeSibling := left > 0 && q.waiters > 0
			q.publish()
			q.mu.Unlock()
			if wakeProducer {
				signal(q.room)
			}
			if wakeSibling {
				signal(q.ready)
			}
			q.count(r, b)
			*buf = b
			return b, true
		}
		if q.closed {
			q.mu.Unlock()
			return nil, false
		}
		if !asked {
			// Hand on what the worker holds before waiting, then look
			// again: items may have come meanwhile.
			q.mu.Unlock()
			w.idle()
			wake = w.wake()
			asked = true
			continue
		}
		q.waiters++
		q.mu.Unlock()
		woken := false
		select {
		case <-q.ready:
		case <-q.done:
		case <-wake:
			woken = true
		}
		q.mu.Lock()
		q.waiters--
		q.mu.Unlock()
		if woken {
			return nil, true
		}
	}
}

// count adds the items of chunk b, just taken, to the source's meters:
// its items are handed on once taken (they were counted in when queued).
// Failure records (continue-on-error) were counted when they failed at the
// source.
func (q *sourceQueue[S, T]) count(r *run, b []Item[S, T]) {
	n := int64(len(b))
	if r.p.cfg.ContinueOnError {
		for i := range b {
			if b[i].Err != nil {
				n--
			}
		}
	}
	if n > 0 {
		m := &q.from.m
		m.out.Add(n)
		m.emitted.Add(n)
	}
}

func (q *sourceQueue[S, T]) release([]Item[S, T]) {}

// signal leaves a token in ch unless it is full.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
