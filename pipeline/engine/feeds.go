package engine

import (
	"sync"
	"sync/atomic"
)

// sliceFeed hands out index ranges of a slice to the workers of the stage
// that consumes it: one atomic add per range, no goroutine, no channel.
type sliceFeed[S, T any] struct {
	from      *Stage
	n         int64
	cursor    atomic.Int64
	consumers int64
	fill      func(dst []Item[S, T], lo, hi int) []Item[S, T]
}

func (f *sliceFeed[S, T]) next(r *run, buf *[]Item[S, T], want int, _ waiter) ([]Item[S, T], bool) {
	if r.stopping() {
		return nil, false
	}
	// Guided self-scheduling: never take more than a share of what is
	// left, so that the last items spread over every worker.
	left := f.n - f.cursor.Load()
	if share := left / (2 * f.consumers); share < int64(want) {
		want = int(max(share, 1))
	}
	hi := f.cursor.Add(int64(want))
	lo := hi - int64(want)
	if lo >= f.n {
		return nil, false
	}
	hi = min(hi, f.n)
	f.from.m.in.Add(hi - lo) // and out, emitted: the source mirrors
	*buf = f.fill((*buf)[:0], int(lo), int(hi))
	return *buf, true
}

func (f *sliceFeed[S, T]) release([]Item[S, T]) {}

func (f *sliceFeed[S, T]) setConsumers(n int) { f.consumers = int64(n) }

// valueFeed is a user's channel of values (FromChan), read by the
// consumers. item makes each value an Item.
type valueFeed[T any] struct {
	from      *Stage
	ch        <-chan T
	item      func(T) Item[T, T] // builds an Item from a value
	consumers int                // workers reading the channel
}

func (f *valueFeed[T]) setConsumers(n int) { f.consumers = n }

func (f *valueFeed[T]) next(r *run, buf *[]Item[T, T], want int, w waiter) ([]Item[T, T], bool) {
	if r.stopping() {
		// Values still in a channel the user owns stay there.
		return nil, false
	}
	b := (*buf)[:0]
	var v T
	var ok bool
	select {
	case v, ok = <-f.ch:
	default:
		w.idle()
		select {
		case v, ok = <-f.ch:
		case <-w.wake():
			return nil, true
		case <-r.ctx.Done():
			// A channel the user owns may never close: stop reading it.
			return nil, false
		}
	}
	if !ok {
		return nil, false
	}
	// Guided self-scheduling, as for slices: never take more than a share
	// of what the channel holds, so that the last values spread over every
	// worker.
	if share := len(f.ch) / (2 * f.consumers); share < want {
		want = max(share, 1)
	}
	b = append(b, f.item(v))
more:
	for len(b) < want {
		select {
		case v, ok = <-f.ch:
			if !ok {
				break more
			}
			b = append(b, f.item(v))
		default:
			break more
		}
	}
	// No producer goroutine counts for the source: count here (in alone:
	// the source mirrors).
	f.from.m.in.Add(int64(len(b)))
	*buf = b
	return b, true
}

func (f *valueFeed[T]) release([]Item[T, T]) {}

// directFeed is how the producers of a sink's input feed a sink that only
// stores results (a batch consumer): they consume their chunks themselves,
// one goroutine at a time, instead of sending them to the sink's goroutine,
// which waits for the end of the input. No goroutine is woken per chunk and
// none waits for one that is ready but not running: results that arrive one
// by one cost a lock, not a wake-up.
//
// A producer that finds the sink taken (held set) queues its chunk and goes
// on: the holder consumes the queue, in order, before it lets go of held, and
// looks again after letting go (so a chunk queued as it let go is not left
// behind). A producer that finds the queue over the edge's item bound waits
// until the holder has stored half of it (the holder goes on storing while
// anything is queued, so one goroutine keeps storing while the others
// produce), which bounds memory as a full edge does. Chunks are consumed in
// the order they were queued, so each producer's keep theirs.
type directFeed[S, T any] struct {
	// held is set while a goroutine consumes: a flag taken with a
	// compare-and-swap, never waited for (a producer that finds it set
	// queues its chunk and goes on), one locked instruction to take it and
	// one to let it go.
	held    atomic.Bool
	consume func([]Item[S, T]) int64 // returns the time it took, ns
	closed  chan struct{}            // closed when every producer has exited

	qmu       sync.Mutex // guards queue
	queue     [][]Item[S, T]
	spare     [][]Item[S, T] // the last queue consumed, for reuse; while held
	count     atomic.Int64   // chunks in queue
	queued    atomic.Int64   // items in queue
	maxQueued int64
	room      room           // producers waiting for the queue to drain
	free      freeList[S, T] // queued chunks once stored
}

func newDirectFeed[S, T any](p *Pipeline, producers int, recycle bool, consume func([]Item[S, T]) int64) *directFeed[S, T] {
	// The free list has room for as many chunks as an edge holds: a holder
	// stores up to the queue's bound at a time, and with room for fewer it
	// would drop most of them, for the producers to allocate new ones (a
	// chain of maps into a map allocated a chunk for 3 in 4 of its
	// hand-offs with room for 2 per producer).
	return &directFeed[S, T]{
		consume:   consume,
		closed:    make(chan struct{}),
		maxQueued: int64(edgeItems * p.cfg.ChunkSize),
		room:      newRoom(producers),
		free:      newFreeList[S, T](p, recycle, edgeChunks+2*producers),
	}
}

// next, for the sink's own goroutine, waits for the producers to exit,
// stores what is left queued and reports the end of the input.
func (d *directFeed[S, T]) next(*run, *[]Item[S, T], int, waiter) ([]Item[S, T], bool) {
	<-d.closed
	// Every producer has returned, and let go of held: no one else takes
	// it from now on.
	d.held.Store(true)
	d.drain()
	d.unlock()
	return nil, false
}

func (d *directFeed[S, T]) release([]Item[S, T]) {}

func (d *directFeed[S, T]) waiting() bool { return false }

func (d *directFeed[S, T]) newChunk(n int) []Item[S, T] { return d.free.get(n) }

func (d *directFeed[S, T]) close() { close(d.closed) }

// send stores c for the sink, or queues it for the goroutine storing now.
// It returns reuse true when c was stored before it returned, so that the
// caller may fill it again; otherwise c belongs to the feed.
func (d *directFeed[S, T]) send(r *run, c []Item[S, T]) (sent, reuse bool, took int64) {
	held := false
	defer func() {
		if held { // consume panicked (a bug: it recovers users' panics)
			d.unlock()
		}
	}()
	if d.count.Load() == 0 && d.tryLock() {
		// Nothing queued (none of this producer's chunks either): store c
		// now, and the caller may fill it again.
		held = true
		took = d.consume(c)
		reuse = true
	} else {
		d.enqueue(c)
		for {
			if held = d.tryLock(); held {
				break
			}
			// The holder stores c, or sees it when it looks again after
			// letting go. Past the bound, wait until it has stored half.
			if d.queued.Load() <= d.maxQueued {
				return true, false, took
			}
			start := clock()
			ok := d.room.wait(r, func() bool { return d.queued.Load() <= d.maxQueued/2 })
			took += clock() - start
			if !ok {
				return true, false, took // cancelled: the holder or the sink's goroutine stores c
			}
		}
	}
	for {
		took += d.drain()
		held = false
		d.unlock()
		if d.count.Load() == 0 {
			return true, reuse, took
		}
		if held = d.tryLock(); !held {
			return true, reuse, took
		}
	}
}

// enqueue queues c. It is counted with the queue locked: a holder that
// takes the queue takes only counted chunks, so count is never below the
// chunks not yet stored, and a producer that finds it zero has had every
// chunk it queued stored. (Counted after the queue was let go, a chunk
// could be stored before it was counted, leaving count below the chunks
// still queued: a producer could then find it zero and store its next
// chunk at once, before its previous one, still queued.)
func (d *directFeed[S, T]) enqueue(c []Item[S, T]) {
	d.qmu.Lock()
	d.queue = append(d.queue, c)
	d.queued.Add(int64(len(c)))
	d.count.Add(1)
	d.qmu.Unlock()
}

// drain consumes the queued chunks, in order, and returns the time it took.
// The caller has set held.
func (d *directFeed[S, T]) drain() (took int64) {
	for d.count.Load() > 0 {
		d.qmu.Lock()
		q := d.queue
		d.queue = d.spare[:0]
		d.qmu.Unlock()
		for i, c := range q {
			took += d.consume(c)
			d.count.Add(-1)
			if d.queued.Add(-int64(len(c))) <= d.maxQueued/2 {
				d.room.wake()
			}
			q[i] = nil
			d.free.put(c)
		}
		d.spare = q
	}
	return took
}

func (d *directFeed[S, T]) tryLock() bool { return d.held.CompareAndSwap(false, true) }

func (d *directFeed[S, T]) unlock() { d.held.Store(false) }
