package engine

import (
	"sync/atomic"
	"time"
)

// An edge moves items from the stage that produces a stream to the stage
// that consumes it. Its two sides are small interfaces: consumers read
// chunks from an inlet, producers' emitters write chunks to an outlet. How
// the items move is the edge's own business, chosen when the stream is
// attached to its consumer (see Stream.attach):
//
//	producer            consumer                      edge
//	slice source        any                           sliceFeed: index ranges of the slice, no goroutine
//	channel source      any                           valueFeed: the consumers receive from the channel
//	generator source    any                           sourceQueue: the generator appends, consumers take chunks
//	workers             a sink that only stores       directFeed: the producers store their own chunks
//	workers             anything else                 chunkEdge: a bounded channel of chunks
//
// No reader or writer branches on the kind of edge.

// inlet is the reader side of an edge.
type inlet[S, T any] interface {
	// next returns the next chunk of input, and false once the input has
	// ended (or, for feeds the run does not own, the run is cancelled).
	// want is how many items the consumer would like; feeds that copy
	// (slices, channels of values) fill *buf, growing it as needed, and
	// return at most want items. It blocks until input is ready; before
	// it blocks it calls w.idle, and a tick on w.wake() makes it return
	// early with no chunk and true.
	next(r *run, buf *[]Item[S, T], want int, w waiter) ([]Item[S, T], bool)
	// release hands back a chunk returned by next once the consumer is
	// done with every item in it.
	release(c []Item[S, T])
}

// waiter is the consumer's side of a wait in an inlet.
type waiter interface {
	// idle is called before the inlet blocks: the consumer hands on what
	// it holds.
	idle()
	// wake returns a channel whose tick ends the wait early, or nil.
	wake() <-chan time.Time
}

// noWait is the waiter of a consumer with nothing to do before it waits.
type noWait struct{}

func (noWait) idle()                  {}
func (noWait) wake() <-chan time.Time { return nil }

// outlet is the writer side of an edge, used by the producing stage's
// emitters (one per worker).
type outlet[S, T any] interface {
	// send hands chunk c on, blocking while the edge is full. It returns
	// false if the run was cancelled first; reuse says that c was
	// consumed before send returned and may be filled again; took is the
	// time send spent blocked or consuming for a sink, in ns.
	send(r *run, c []Item[S, T]) (sent, reuse bool, took int64)
	// waiting reports whether a consumer waits for input: results held
	// for a full chunk should then go on (early hand-off).
	waiting() bool
	// newChunk returns an empty chunk with room for n items.
	newChunk(n int) []Item[S, T]
	// close is called once every producer has exited.
	close()
}

// EdgeChunks and edgeItems bound an edge between workers: an edge holds at
// most max(edgeChunks, 2 × the consumer's workers) chunks and at most
// edgeItems × the pipeline's chunk size items in them (a chunk larger than
// that passes an empty edge alone). Many small chunks (slow items) keep a
// producer from waiting on a consumer that shares its cores; the item bound
// keeps large chunks (fast items) from piling up.
const (
	edgeChunks = 64
	edgeItems  = 16
)

// chunkEdge is a bounded channel of chunks between the workers of two
// stages, with a free list through which the consumers hand chunks back for
// the producers to fill again: a run moves its items through a few chunks
// that stay in cache instead of allocating one per hand-off.
type chunkEdge[S, T any] struct {
	chunks chan []Item[S, T]
	free   freeList[S, T]
	// room wakes the producers waiting on a full edge once consumers have
	// drained it to half its capacity.
	room room
	// queued counts the items in chunks; producers wait while it would
	// pass maxQueued.
	queued    atomic.Int64
	maxQueued int64
	// idle counts the consumers blocked waiting for a chunk. It has a
	// cache line of its own.
	_    pad
	idle atomic.Int32
	_    [60]byte
}

func newChunkEdge[S, T any](p *Pipeline, producers, consumers int, recycle bool) *chunkEdge[S, T] {
	n := max(edgeChunks, 2*consumers)
	// The free list has room for every chunk the edge can have out at
	// once: queued, being consumed, being filled.
	return &chunkEdge[S, T]{
		chunks:    make(chan []Item[S, T], n),
		free:      newFreeList[S, T](p, recycle, n+consumers+producers),
		room:      newRoom(producers),
		maxQueued: int64(edgeItems * p.cfg.ChunkSize),
	}
}

func (e *chunkEdge[S, T]) next(r *run, buf *[]Item[S, T], want int, w waiter) ([]Item[S, T], bool) {
	select {
	case c, ok := <-e.chunks:
		e.drained(len(c))
		return c, ok
	default:
	}
	w.idle()
	wake := w.wake()
	e.idle.Add(1)
	defer e.idle.Add(-1)
	select {
	case c, ok := <-e.chunks:
		e.drained(len(c))
		return c, ok
	case <-wake:
		return nil, true
	}
}

func (e *chunkEdge[S, T]) release(c []Item[S, T]) { e.free.put(c) }

func (e *chunkEdge[S, T]) waiting() bool { return e.idle.Load() > 0 }

func (e *chunkEdge[S, T]) newChunk(n int) []Item[S, T] { return e.free.get(n) }

// freeList holds the chunks that the consumers of an edge have finished
// with, for its producers to fill again: a run moves its items through a
// few chunks that stay in cache. A list made for chunks that must not be
// reused (the producer keeps pointers into them: a describer reads the
// last item) holds none.
type freeList[S, T any] struct {
	ch    chan []Item[S, T] // nil: chunks are not reused
	limit int               // the pipeline's chunk size
}

func newFreeList[S, T any](p *Pipeline, recycle bool, n int) freeList[S, T] {
	f := freeList[S, T]{limit: p.cfg.ChunkSize}
	if recycle {
		f.ch = make(chan []Item[S, T], n)
	}
	return f
}

// put keeps chunk c for reuse, unless the list is full.
func (f *freeList[S, T]) put(c []Item[S, T]) {
	if f.ch == nil {
		return
	}
	select {
	case f.ch <- c:
	default:
	}
}

// get returns an empty chunk with room for n items, reusing a free one when
// it is large enough. New chunks are rounded up to a power of two within the
// pipeline's chunk size, so that they fit the next targets too.
func (f *freeList[S, T]) get(n int) []Item[S, T] {
	if f.ch != nil {
		select {
		case c := <-f.ch:
			if cap(c) >= n {
				return c[:0]
			}
		default:
		}
	}
	return makeChunk[S, T](n, f.limit)
}

func makeChunk[S, T any](n, limit int) []Item[S, T] {
	size := 1
	for size < n {
		size *= 2
	}
	return make([]Item[S, T], 0, max(n, min(size, limit)))
}

// room is where the producers of an edge wait for it to drain: a token in
// space for each producer that may be waiting, given when the consumers
// have drained the edge to half its bound.
type room struct {
	space   chan struct{}
	waiters atomic.Int32
}

func newRoom(producers int) room { return room{space: make(chan struct{}, producers)} }

// wait waits until ready holds, and reports false if the run was cancelled
// first. ready is asked again once the producer is registered, so that a
// consumer that drained the edge before seeing the registration cannot
// leave it waiting; a token left in space makes a later wait ask again
// early.
func (rm *room) wait(r *run, ready func() bool) bool {
	for {
		rm.waiters.Add(1)
		if ready() {
			return true
		}
		select {
		case <-rm.space:
		case <-r.ctx.Done():
			return false
		}
	}
}

// wake wakes every producer waiting, if any.
func (rm *room) wake() {
	if rm.waiters.Load() == 0 {
		return
	}
	for range rm.waiters.Swap(0) {
		signal(rm.space)
	}
}

func (e *chunkEdge[S, T]) close() { close(e.chunks) }

// drained is called by a consumer after each receive: once the edge is at
// most half full it wakes the producers waiting for room.
func (e *chunkEdge[S, T]) drained(n int) {
	if q := e.queued.Add(-int64(n)); len(e.chunks) <= cap(e.chunks)/2 && q <= e.maxQueued/2 {
		e.room.wake()
	}
}

// send hands c on. A producer that finds the edge full waits until
// consumers have drained it to half, instead of being woken for every chunk
// they take: a producer much faster than its consumer then refills the edge
// in bursts, and the cores are not kept busy waking it and putting it back
// to sleep.
func (e *chunkEdge[S, T]) send(r *run, c []Item[S, T]) (sent, reuse bool, took int64) {
	if e.trySend(c) {
		return true, false, 0
	}
	start := clock()
	sent = e.room.wait(r, func() bool { return e.trySend(c) })
	return sent, false, clock() - start
}

// trySend hands c on if the edge has room for it, without blocking.
func (e *chunkEdge[S, T]) trySend(c []Item[S, T]) bool {
	if q := e.queued.Load(); q > 0 && q+int64(len(c)) > e.maxQueued {
		return false
	}
	select {
	case e.chunks <- c:
		e.queued.Add(int64(len(c)))
		return true
	default:
		return false
	}
}
