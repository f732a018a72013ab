package engine

import (
	"sync"
	"sync/atomic"
	"time"
)

// inbox is one input of a stage as its workers see it: the edge's inlet,
// and the chunks its workers are working through, published so that idle
// workers can take the items not yet started.
//
// Sharing follows one rule: an idle worker does not wait while another
// worker holds items it has not started and that would keep it busy past
// the chunk budget. A worker that takes a chunk of two or more items
// publishes it. It works through it with a private index (one load of the
// chunk's own cache line per item, no atomic write), unless its items are
// known to be slow (a microsecond or more) or a sibling was waiting for
// work when it took a chunk that would take longer than twice the budget
// (or whose cost is not known yet): then the chunk is shared from the start. A
// worker about to wait with nothing to do asks every private chunk of its
// siblings for a share; the owner turns it shared at its next item. An
// owner inside a slow item does not come to its next one for a while, so it
// holds its private items by leases of an eighth of the chunk (a
// compare-and-swap each): a worker that finds a chunk still asked half a
// budget after asking claims the items past the lease, as a chunk of its
// own shared from the start. Items of a shared chunk are taken with an
// atomic add, by the owner as by any worker. A waiting worker looks at the
// shared chunks every budget and joins one whose items left would take
// longer than the budget at the pace seen since its last look (slow items,
// or a chunk sized for fast items that turned slow), taking its items one
// at a time. Chunks that go at the pace they were sized for are joined by
// no one, so fast items keep moving in large chunks; whatever feeds the
// stage, the rule is the same.
type inbox[S, T any] struct {
	s     *Stream[S, T] // the stream read
	in    inlet[S, T]
	share bool
	slots []atomic.Pointer[Chunk[S, T]] // by worker, within this inbox
	ended atomic.Bool                   // the inlet reported the end of the input
	// running counts the workers reading the inbox whose operator has not
	// returned (see Worker.finish).
	running atomic.Int32
	// taking counts the workers inside the inlet's next, and those that
	// took items from it and have not yet published them in their slot: a
	// worker that finds the input ended stays while it is not zero, since
	// those items may be ones it could share.
	taking atomic.Int32
	// settled is closed once the input has ended and taking is zero: a
	// worker that finds the input ended while a sibling is still taking
	// waits for it, not for a timer.
	settled    chan struct{}
	settleOnce sync.Once
	// idle counts the workers waiting for input or for a share; read once
	// per chunk, a chunk taken while it is not zero is shared from the
	// start.
	_    pad
	idle atomic.Int32
	_    pad
}

// untake counts a worker out of taking; the last, once the input has
// ended, lets the siblings waiting for it go on.
func (b *inbox[S, T]) untake() {
	if b.taking.Add(-1) == 0 && b.ended.Load() {
		b.settle()
	}
}

func (b *inbox[S, T]) settle() { b.settleOnce.Do(func() { close(b.settled) }) }

// slot is the worker's index among those reading its inbox.
func (w *Worker[SI, I, SO, O]) slot() int { return w.id / w.spec.inputs }

// fetch returns the next chunk for w: one it takes from the input, or one
// it shares with a sibling. ticked reports that tick fired first.
func (w *Worker[SI, I, SO, O]) fetch(tick <-chan time.Time) (c *Chunk[SI, I], ok, ticked bool) {
	b := w.in
	w.tick = tick
	defer func() { w.tick = nil }()
	for {
		if w.stash != nil {
			c, w.stash = w.stash, nil
			return c, true, false
		}
		if !b.ended.Load() {
			if w.seq != nil {
				items, ok := w.fetchOrdered()
				if !ok {
					b.ended.Store(true)
					return nil, false, false
				}
				return w.publish(items), true, false
			}
			b.taking.Add(1)
			items, ok := b.in.next(w.r, &w.buf, w.want(), w)
			if w.waiting {
				w.waiting = false
				b.idle.Add(-1)
			}
			if ok && items != nil {
				w.taken = true // released by startChunk once published
				return w.publish(items), true, false
			}
			b.untake()
			switch {
			case ok && tick != nil:
				return nil, true, true
			case ok:
				continue // woken to look at the siblings' chunks
			}
			b.ended.Store(true)
			if b.taking.Load() == 0 {
				b.settle()
			}
			// A chunk that wake stashed while the inlet waited (a
			// sibling's items, claimed) comes first: the inlet may report
			// the end in the same wait.
			continue
		}
		// The input has ended: help with what the siblings hold, or leave.
		if c := w.steal(); c != nil {
			return c, true, false
		}
		if !w.stealable() {
			if b.taking.Load() == 0 || w.r.stopping() {
				return nil, false, false
			}
			// A sibling is between taking its last items and publishing
			// them, which takes nanoseconds: wait for it, then look at
			// what it published. (One that looked at the input just before
			// it ended and takes after settled was closed is waited for on
			// the timer below.)
			select {
			case <-b.settled:
				if b.taking.Load() == 0 {
					continue
				}
			case <-w.r.ctx.Done():
				continue
			case <-tick:
				return nil, true, true
			}
		}
		w.idle()
		b.idle.Add(1)
		w.ask()
		select {
		case <-w.wakeIn(time.Duration(budget)):
			b.idle.Add(-1)
		case <-tick:
			b.idle.Add(-1)
			return nil, true, true
		}
	}
}

// wake is the waiter's channel: the operator's tick, or, while a sibling
// holds items not yet started, a timer to look at them again.
func (w *Worker[SI, I, SO, O]) wake() <-chan time.Time {
	if w.tick != nil {
		return w.tick
	}
	if !w.in.share || len(w.in.slots) < 2 {
		return nil
	}
	w.waiting = true
	w.in.idle.Add(1)
	w.ask()
	if c := w.steal(); c != nil {
		w.stash = c
		return expired
	}
	if w.stealable() {
		return w.wakeIn(time.Duration(budget))
	}
	return nil
}

// expired is a channel that is always ready: closed, so that no receive
// ever drains it.
var expired = func() <-chan time.Time {
	ch := make(chan time.Time)
	close(ch)
	return ch
}()

// publish wraps items fresh from the input in a chunk, one to publish for
// the siblings when it can be shared.
func (w *Worker[SI, I, SO, O]) publish(items []Item[SI, I]) *Chunk[SI, I] {
	b := w.in
	if b.share && len(b.slots) > 1 && len(items) > 1 {
		c := &Chunk[SI, I]{items: items, owner: w.id}
		// A sibling waiting when the chunk is taken joins it at once,
		// unless the chunk is sized to the budget at a cost already
		// known: then no waiting sibling would join it (see steal), and
		// sharing would only cost an atomic add per item (a tenth of an
		// item of a chain of maps). Items that turn slow in it are still
		// claimed (see claim).
		shared := w.cost >= sharedCost || b.idle.Load() > 0 && (w.cost == 0 || w.cost*int64(len(items)) > 2*budget)
		c.lease(!shared)
		if shared {
			c.mode.Store(chunkShared)
		}
		return c // published by startChunk
	}
	c := &w.own
	c.items, c.owner = items, w.id
	c.lease(false)
	return c
}

// sharedCost is the cost per item, in ns, from which a worker shares its
// chunks from the start: an atomic add per item is then under 1 % of the
// work.
const sharedCost = 1000

// done is called by the owner of chunk c once it has taken its last item.
func (w *Worker[SI, I, SO, O]) done(c *Chunk[SI, I]) {
	if c != &w.own {
		w.in.slots[w.slot()].Store(nil)
		if c.stolen.Load() {
			// A sibling may still be reading its items: leave the memory
			// to it.
			w.buf = nil
			return
		}
	}
	w.in.in.release(c.items)
}

// ask asks the siblings that hold private chunks to share them: this worker
// is about to wait with nothing to do. Their owners turn them shared at
// their next item (see Chunk.ownTake).
func (w *Worker[SI, I, SO, O]) ask() {
	me := w.slot()
	for j := range w.in.slots {
		if j != me {
			if c := w.in.slots[j].Load(); c != nil && c.mode.Load() == chunkPrivate {
				if c.mode.CompareAndSwap(chunkPrivate, chunkAsked) {
					c.seenAt.Store(clock())
				}
			}
		}
	}
}

// stealable reports whether a sibling holds items not yet started that w
// may take: not once its operator has returned.
func (w *Worker[SI, I, SO, O]) stealable() bool {
	if !w.in.share || w.r.stopping() || w.finishing {
		return false
	}
	me := w.slot()
	for j := range w.in.slots {
		if j == me {
			continue
		}
		if c := w.in.slots[j].Load(); c != nil && (c.mode.Load() != chunkShared || c.left() > 0) {
			return true
		}
	}
	return false
}

// steal returns a sibling's chunk whose items left would take longer than
// the budget at the pace seen since the last look, marked stolen, or nil;
// nil once w's operator has returned.
func (w *Worker[SI, I, SO, O]) steal() *Chunk[SI, I] {
	if !w.in.share || w.r.stopping() || w.finishing {
		return nil
	}
	me := w.slot()
	var now int64
	for j := range w.in.slots {
		if j == me {
			continue
		}
		c := w.in.slots[j].Load()
		if c == nil {
			continue
		}
		if now == 0 {
			now = clock()
		}
		if m := c.mode.Load(); m != chunkShared {
			// Private or asked: the owner shares it at its next item. One
			// asked half a budget ago is held by an owner inside a slow
			// item: claim the items past its lease.
			if at := c.seenAt.Load(); m == chunkAsked && at != 0 && now-at >= budget/2 {
				if s := w.claim(c); s != nil {
					return s
				}
			}
			continue
		}
		left := c.left()
		if left <= 0 {
			continue
		}
		next, seen, at := c.next.Load(), c.seen.Load(), c.seenAt.Load()
		if at == 0 {
			c.seen.Store(next)
			c.seenAt.Store(now)
			continue
		}
		dt := now - at
		if dt < budget/2 {
			continue // another worker looked a moment ago
		}
		if left*dt > budget*(next-seen) {
			c.stolen.Store(true)
			return c
		}
		c.seen.Store(next)
		c.seenAt.Store(now)
	}
	return nil
}

// claim takes the items of sibling chunk c past its owner's lease, or
// returns nil when there are none or the owner took the next lease first.
// They make a chunk of w's own, shared from the start, which the idle
// siblings join at their next look: its items have been slow since c was
// asked.
func (w *Worker[SI, I, SO, O]) claim(c *Chunk[SI, I]) *Chunk[SI, I] {
	h := c.horizon.Load()
	if h < 0 || h >= int64(len(c.items)) {
		return nil
	}
	c.stolen.Store(true) // before the claim: the owner must not reuse the memory
	if !c.horizon.CompareAndSwap(h, -1-h) {
		return nil
	}
	s := &Chunk[SI, I]{items: c.items[h:], owner: w.id, counted: true}
	s.lease(false)
	s.mode.Store(chunkShared)
	s.stolen.Store(true) // the memory is c's
	s.seenAt.Store(c.seenAt.Load())
	return s
}
