package pipeline

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Item is one element moving through a pipeline: the pipeline's original
// input it came from, its current value, and, for an item that failed under
// [WithContinueOnError], the error (an [*ItemError]) with which it travels to the
// sink. Stage and sink implementations see Items; users see values.
type Item[S, T any] struct {
	Input S     // the pipeline input the item came from
	Value T     // the item's current value (the zero value for a failure)
	Err   error // nil, or the *ItemError of an item that failed upstream
}

// Stream is the typed edge from one stage to the next: values of type T,
// each still tied to the pipeline input of type S it came from, so that a
// sink can key results by input without a pass-through function.
//
// A Stream is consumed by exactly one stage or sink; a second consumer
// panics at build time.
type Stream[S, T any] struct {
	p    *Pipeline
	from *Stage
	to   *Stage

	// Exactly one of slice, items and chunks is set.
	slice  *sliceFeed[S, T]
	items  <-chan S // a source channel of single values (S == T)
	chunks chan []Item[S, T]
	// free holds chunks the consumer has finished with, for the producer to
	// fill again: a run moves its items through a few chunks that stay in
	// cache instead of allocating one per hand-off. It is nil when the
	// producer keeps pointers into the chunks it sent (a describer reads
	// the last item), which then must not be reused.
	free    chan []Item[S, T]
	recycle bool // attach creates free
	// space wakes the producers waiting on a full edge once consumers have
	// drained it to half its capacity (see emitter.wait); waiting counts
	// the producers that may be waiting.
	space   chan struct{}
	waiting atomic.Int32
	// queued counts the items in chunks; producers wait while it would
	// pass maxQueued (see send).
	queued    atomic.Int64
	maxQueued int64
	// idle counts the consumers blocked waiting for a chunk; producers
	// then hand on results that have waited longer than the budget
	// (see emitter.put). It has a cache line of its own.
	_    [64]byte
	idle atomic.Int32
	_    [60]byte

	// direct, when set, lets the producers feed the sink themselves (see
	// sinkFeed); nothing is sent on chunks then.
	direct *sinkFeed[S, T]

	// itemsOwned says that items is fed by the source's own goroutine,
	// which counts what it emits and closes the channel promptly on
	// cancellation; otherwise items is the user's channel.
	itemsOwned bool
	fromValue  func(S) Item[S, T] // for items: builds an Item from a value

	// weigh and describe are set by [Stream.Weigh] and [Stream.Describe];
	// onAttach, set by the producer, reads them once the stream has its
	// consumer (they cannot change after that).
	weigh    func(T) int64
	describe func(S, T) string
	onAttach func()
}

// Weigh makes the stage that produces s count the weight of each value it
// emits, as given by fn, in unit (Bytes, Rows, or any name): progress bars
// then show bytes or rows instead of items. fn is called once per item, from
// the stage's goroutines. It returns s, so that it chains after the stage
// constructor. It panics if fn is nil or s already has a consumer.
func (s *Stream[S, T]) Weigh(unit Unit, fn func(v T) int64) *Stream[S, T] {
	if fn == nil {
		panic(fmt.Sprintf("pipeline: Weigh: stage %q: function is nil", s.from.name))
	}
	s.mustOpen("Weigh")
	s.weigh = fn
	s.from.unit = unit
	return s
}

// Describe gives the stage that produces s a description of its last
// result, such as the file just hashed, which progress bars show. fn
// receives the item's pipeline input and the value. It is called only when
// the description is read (a few times a second by a progress bar), never
// per item, so it may format freely. It returns s. It panics if fn is nil or
// s already has a consumer.
func (s *Stream[S, T]) Describe(fn func(input S, v T) string) *Stream[S, T] {
	if fn == nil {
		panic(fmt.Sprintf("pipeline: Describe: stage %q: function is nil", s.from.name))
	}
	s.mustOpen("Describe")
	s.describe = fn
	return s
}

// mustOpen panics if s already has a consumer or the pipeline has run.
func (s *Stream[S, T]) mustOpen(what string) {
	s.p.mustBuild(what)
	if s.to != nil {
		panic(fmt.Sprintf("pipeline: %s: the output of stage %q is already consumed by stage %q; call it before passing the stream on", what, s.from.name, s.to.name))
	}
}

// From returns the stage that produces the stream.
func (s *Stream[S, T]) From() *Stage { return s.from }

// Pipeline returns the pipeline the stream belongs to.
func (s *Stream[S, T]) Pipeline() *Pipeline { return s.p }

// attach marks the stream as consumed by stage to. It panics on a second
// consumer.
func (s *Stream[S, T]) attach(to *Stage) {
	if s.to != nil {
		panic(fmt.Sprintf("pipeline: the output of stage %q is already consumed by stage %q; a stream has one consumer", s.from.name, s.to.name))
	}
	s.to = to
	if s.onAttach != nil {
		s.onAttach()
	}
	if s.chunks == nil && s.slice == nil && s.items == nil {
		n := edgeChunks(to.workers)
		s.chunks = make(chan []Item[S, T], n)
		s.maxQueued = int64(EdgeItems * s.p.cfg.chunk)
		s.space = make(chan struct{}, s.from.workers)
		if s.recycle {
			// Room for every chunk the edge can have out at once: queued,
			// being consumed, being filled.
			s.free = make(chan []Item[S, T], n+to.workers+s.from.workers)
		}
	}
}

// EdgeChunks is the least number of chunks an edge between two stages
// holds: an edge holds max(EdgeChunks, 2 × the consumer's workers) chunks,
// and at most EdgeItems × the pipeline's chunk size ([WithChunkSize]) items
// in them (a chunk larger than that passes an empty edge alone). Many small
// chunks (slow items) keep a producer from waiting on a consumer that shares
// its cores; the item bound keeps large chunks (fast items) from piling up.
const EdgeChunks = 64

// EdgeItems bounds the items an edge holds, in chunks of the pipeline's
// chunk size (see [EdgeChunks]).
const EdgeItems = 16

func edgeChunks(consumers int) int { return max(EdgeChunks, 2*consumers) }

// newChunk returns an empty chunk with room for n items, reusing one the
// consumer has finished with when it is large enough. limit is the
// pipeline's chunk size: new chunks are rounded up to a power of two within
// it, so that they fit the next targets too.
func (s *Stream[S, T]) newChunk(n, limit int) []Item[S, T] {
	if s.free != nil {
		select {
		case c := <-s.free:
			if cap(c) >= n {
				return c[:0]
			}
		default:
		}
	}
	size := 1
	for size < n {
		size *= 2
	}
	return make([]Item[S, T], 0, max(n, min(size, limit)))
}

// release hands back a chunk received from the stream once its consumer is
// done with every item in it. The items are left in place until the chunk
// is filled again.
func (s *Stream[S, T]) release(c []Item[S, T]) {
	if s.free == nil || s.chunks == nil {
		return
	}
	select {
	case s.free <- c:
	default:
	}
}

// sinkFeed is how the producers of a sink's input feed a sink that only
// stores results (a batch consumer): they consume their chunks themselves,
// one goroutine at a time, instead of sending them to the sink's goroutine,
// which waits for the end of the input. No goroutine is woken per chunk and
// none waits for one that is ready but not running: results that arrive one
// by one cost a lock, not a wake-up.
//
// A producer that finds the sink taken (mu held) queues its chunk and goes
// on: the holder consumes the queue, in order, before it lets go of mu, and
// looks again after letting go (so a chunk queued as it let go is not left
// behind). A producer that finds the queue over the edge's item bound waits
// until the holder has stored half of it (the holder goes on storing while
// anything is queued, so one goroutine keeps storing while the others
// produce), which bounds memory as a full edge does. Chunks are
// consumed in the order they were queued, so each producer's keep theirs.
type sinkFeed[S, T any] struct {
	// mu is held (a value in it) while consuming. It is a channel, not a
	// mutex, because the holder may block in consume: a goroutine waiting
	// on a channel is durably blocked (testing/synctest can advance time
	// past it).
	mu      chan struct{}
	consume func([]Item[S, T]) int64 // returns the time it took, ns

	qmu   sync.Mutex // guards queue
	queue [][]Item[S, T]
	spare [][]Item[S, T] // the last queue consumed, for reuse; under mu
	count atomic.Int64   // chunks in queue
}

// feedDirect makes the producers of s feed consume themselves (see
// sinkFeed). It is set up before the run, for a sink's input edge.
func (s *Stream[S, T]) feedDirect(consume func([]Item[S, T]) int64) {
	if s.chunks != nil {
		s.direct = &sinkFeed[S, T]{mu: make(chan struct{}, 1), consume: consume}
	}
}

// feed hands chunk c to the sink of a direct edge (see sinkFeed) in run r, raising
// out (the producer's Out meter) by n first. It returns the time the caller
// spent consuming for the sink or waiting for it, and whether c was
// consumed before feed returned, so that the caller may fill it again;
// otherwise c belongs to the edge.
func (s *Stream[S, T]) feed(r *run, c []Item[S, T], out *atomic.Int64, n int64) (took int64, done bool) {
	d := s.direct
	out.Add(n)
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
		done = true
	} else {
		s.enqueue(c)
		for {
			if held = d.tryLock(); held {
				break
			}
			// The holder stores c, or sees it when it looks again after
			// letting go. Past the bound, wait until it has stored half.
			if s.queued.Load() <= s.maxQueued {
				return took, false
			}
			start := clock()
			ok := s.waitSpace(r)
			took += clock() - start
			if !ok {
				return took, false // cancelled: the holder or the sink's goroutine stores c
			}
		}
	}
	for {
		took += s.drain()
		held = false
		d.unlock()
		if d.count.Load() == 0 {
			return took, done
		}
		if held = d.tryLock(); !held {
			return took, done
		}
	}
}

// waitSpace waits until consumers have drained the edge to half its item
// bound, and reports false if the run was cancelled first.
func (s *Stream[S, T]) waitSpace(r *run) bool {
	s.waiting.Add(1)
	// Look again once registered, so that a drain that ended before the
	// registration cannot leave us waiting.
	if s.queued.Load() <= s.maxQueued/2 {
		return true
	}
	select {
	case <-s.space:
		return true
	case <-r.ctx.Done():
		return false
	}
}

func (s *Stream[S, T]) enqueue(c []Item[S, T]) {
	d := s.direct
	d.qmu.Lock()
	d.queue = append(d.queue, c)
	d.qmu.Unlock()
	s.queued.Add(int64(len(c)))
	d.count.Add(1)
}

// drain consumes the queued chunks, in order, and returns the time it took.
// The caller holds mu.
func (s *Stream[S, T]) drain() (took int64) {
	d := s.direct
	for d.count.Load() > 0 {
		d.qmu.Lock()
		q := d.queue
		d.queue = d.spare[:0]
		d.qmu.Unlock()
		for i, c := range q {
			took += d.consume(c)
			d.count.Add(-1)
			s.drained(len(c)) // wakes producers waiting for space
			s.release(c)
			q[i] = nil
		}
		d.spare = q
	}
	return took
}

// finishFeed consumes what is left queued once every producer has exited.
func (s *Stream[S, T]) finishFeed() {
	if d := s.direct; d != nil {
		d.mu <- struct{}{}
		s.drain()
		d.unlock()
	}
}

func (d *sinkFeed[S, T]) tryLock() bool {
	select {
	case d.mu <- struct{}{}:
		return true
	default:
		return false
	}
}

func (d *sinkFeed[S, T]) unlock() { <-d.mu }

func newStream[S, T any](p *Pipeline, from *Stage) *Stream[S, T] {
	s := &Stream[S, T]{p: p, from: from}
	p.streams = append(p.streams, streamInfo{from: from, consumed: func() bool { return s.to != nil }})
	return s
}

// sliceFeed hands out index ranges of a slice to the workers of the stage
// that consumes it: one atomic add per range, no goroutine, no channel.
type sliceFeed[S, T any] struct {
	n      int64
	cursor atomic.Int64
	fill   func(dst []Item[S, T], lo, hi int) []Item[S, T]
}

// budget is the processing time a chunk aims at: long enough that a hand-off
// (~100 ns to a few µs with a goroutine wake-up) costs under 1 % of it, short
// enough that items are handed on within tens of microseconds.
const budget = int64(50 * time.Microsecond)

// chunkTarget is the number of items worth moving in one hand-off when
// producing one costs own ns and consuming one costs down ns. A cost not
// yet measured (0) counts as slow: a slow consumer is never handed a large
// chunk before its cost is known, and a producer whose items turn out to
// take a millisecond never sets up to hold hundreds of them.
func chunkTarget(own, down int64, limit int) int {
	c := max(own, down)
	if own <= 0 || down <= 0 {
		return 1
	}
	t := budget / c
	if t < 1 {
		return 1
	}
	if t > int64(limit) {
		return limit
	}
	return int(t)
}

// ewma folds a new per-item cost sample into an estimate.
func ewma(old, sample int64) int64 {
	if old <= 0 {
		return max(sample, 1)
	}
	return max((3*old+sample)/4, 1)
}

// next returns the consumer's next chunk of input and false when the input
// has ended. want is how many items the consumer would like; idle is called
// before blocking, so the consumer can hand on what it holds first. Feeds
// that copy (slices, channels of values) fill *buf, growing it as needed and
// keeping it for the next call: a consumer's buffer is as large as the
// largest chunk it took, not the largest chunk possible.
func (s *Stream[S, T]) next(r *run, buf *[]Item[S, T], want int, idle func()) ([]Item[S, T], bool) {
	switch {
	case s.chunks != nil:
		select {
		case c, ok := <-s.chunks:
			s.drained(len(c))
			return c, ok
		default:
		}
		if idle != nil {
			idle()
		}
		s.idle.Add(1)
		c, ok := <-s.chunks
		s.idle.Add(-1)
		s.drained(len(c))
		return c, ok

	case s.slice != nil:
		f := s.slice
		if r.stopping() {
			return nil, false
		}
		// Guided self-scheduling: never take more than a share of what is
		// left, so that the last items spread over every worker.
		left := f.n - f.cursor.Load()
		if share := left / int64(2*s.to.workers); share < int64(want) {
			want = int(max(share, 1))
		}
		hi := f.cursor.Add(int64(want))
		lo := hi - int64(want)
		if lo >= f.n {
			return nil, false
		}
		hi = min(hi, f.n)
		s.from.m.in.Add(hi - lo)
		s.from.m.out.Add(hi - lo)
		*buf = f.fill((*buf)[:0], int(lo), int(hi))
		return *buf, true

	default:
		if !s.itemsOwned && r.stopping() {
			// Values still in a channel the user owns stay there.
			return nil, false
		}
		ch := s.items
		b := (*buf)[:0]
		var v S
		var ok bool
		select {
		case v, ok = <-ch:
		default:
			if idle != nil {
				idle()
			}
			select {
			case v, ok = <-ch:
			case <-r.ctx.Done():
				if !s.itemsOwned {
					// A channel the user owns may never close: stop reading it.
					return nil, false
				}
				v, ok = <-ch // our own producer closes it promptly
			}
		}
		if !ok {
			return nil, false
		}
		b = append(b, s.fromValue(v))
	more:
		for len(b) < want {
			select {
			case v, ok = <-ch:
				if !ok {
					break more
				}
				b = append(b, s.fromValue(v))
			default:
				break more
			}
		}
		if !s.itemsOwned {
			// No producer goroutine counts for the source: count here.
			n := int64(len(b))
			s.from.m.in.Add(n)
			s.from.m.out.Add(n)
		}
		*buf = b
		return b, true
	}
}

// drained is called by a consumer after each receive: once the edge is at
// most half full it wakes the producers waiting for room.
func (s *Stream[S, T]) drained(n int) {
	q := s.queued.Add(-int64(n))
	if s.waiting.Load() == 0 || len(s.chunks) > cap(s.chunks)/2 || q > s.maxQueued/2 {
		return
	}
	for range s.waiting.Swap(0) {
		select {
		case s.space <- struct{}{}:
		default:
		}
	}
}

// room reports whether a chunk of n items fits on the edge's item bound; a
// chunk larger than the bound fits an empty edge.
func (s *Stream[S, T]) room(n int) bool {
	q := s.queued.Load()
	return q <= 0 || q+int64(n) <= s.maxQueued
}

// send hands chunk c on, and reports false if done closed first. A producer
// that finds the edge full waits until consumers have drained it to half,
// instead of being woken for every chunk they take: a producer much faster
// than its consumer then refills the edge in bursts, and the cores are not
// kept busy waking it and putting it back to sleep.
func (s *Stream[S, T]) send(c []Item[S, T], done <-chan struct{}) bool {
	return s.trySend(c) || s.sendWait(c, done)
}

// sendWait is send once a first try has found the edge full.
func (s *Stream[S, T]) sendWait(c []Item[S, T], done <-chan struct{}) bool {
	for {
		s.waiting.Add(1)
		// Try again once registered, so that a consumer that drained the
		// edge before seeing the registration cannot leave us waiting. (A
		// token left in space makes a later wait try again early.)
		if s.trySend(c) {
			return true
		}
		select {
		case <-s.space:
		case <-done:
			return false
		}
	}
}

// trySend hands chunk c on if the edge has room for it, without blocking.
func (s *Stream[S, T]) trySend(c []Item[S, T]) bool {
	if !s.room(len(c)) {
		return false
	}
	select {
	case s.chunks <- c:
		s.queued.Add(int64(len(c)))
		return true
	default:
		return false
	}
}

// emitter collects one producer's output and hands it on in chunks sized
// to the work (see [chunkTarget]). It is owned by one goroutine.
type emitter[S, T any] struct {
	_       pad
	r       *run
	out     *Stream[S, T]
	from    *Stage
	limit   int
	want    int // buf is handed on when it holds want items
	buf     []Item[S, T]
	ok      int64 // own successes in buf: counted Out when sent, Cancelled when not
	own     int64 // producer's cost per item, ns
	blocked int64 // ns spent blocked on sends, not counted as work
	// since is a time (clock) no later than the oldest result in buf was
	// produced, or 0 when buf has been flushed since it was last set (see
	// mark).
	since int64
	// While the consumer waits, the clock is read every checkEvery
	// results (those that cost about a microsecond); unchecked counts
	// the results since the last read.
	checkEvery, unchecked int
	_                     pad
}

// epoch is the origin of clock.
var epoch = time.Now()

// clock reads the monotonic clock in nanoseconds (about 25 ns).
func clock() int64 { return int64(time.Since(epoch)) }

func newEmitter[S, T any](r *run, out *Stream[S, T]) *emitter[S, T] {
	return &emitter[S, T]{r: r, out: out, from: out.from, limit: r.p.cfg.chunk, want: 1, buf: out.newChunk(1, 1), checkEvery: 1}
}

func (e *emitter[S, T]) target() int {
	return chunkTarget(e.own, e.out.to.m.cost.Load(), e.limit)
}

// put adds a successful result and returns a pointer to it in the chunk,
// taken before the chunk is handed on. It stays valid and unchanged after
// the chunk is sent, because the chunks of a stage with a describer are
// never reused (see Stream.free).
//
// Results are handed on when the chunk is full, and also, while the next
// stage has a worker waiting, as soon as the last hand-off is older than the
// budget: when items turn slow in the middle of a chunk sized for fast ones,
// their results still go on as they complete (after at most a microsecond's
// worth of the fast ones). The clock is read at each hand-off and, while the
// next stage waits, every microsecond or so of work.
func (e *emitter[S, T]) put(it Item[S, T]) *Item[S, T] {
	e.buf = append(e.buf, it)
	p := &e.buf[len(e.buf)-1]
	e.ok++
	if len(e.buf) >= e.want {
		e.flush()
		return p
	}
	if e.unchecked++; e.unchecked >= e.checkEvery && e.out.idle.Load() > 0 {
		e.unchecked = 0
		if now := clock(); e.since == 0 {
			e.since = now
		} else if now-e.since >= budget {
			e.flush()
		}
	}
	return p
}

// putFailed adds an item that travels as a failure record.
func (e *emitter[S, T]) putFailed(it Item[S, T]) {
	e.buf = append(e.buf, it)
	if len(e.buf) >= e.want {
		e.flush()
	}
}

// flush hands on what is buffered, blocking while the next stage is full.
// After cancellation it stops trying and counts the unsent items.
func (e *emitter[S, T]) flush() {
	if len(e.buf) > 0 {
		// Time spent feeding the sink or blocked is not the stage's work.
		// The clock is read only when the edge is full, not per hand-off.
		keep := false
		if e.out.direct != nil {
			took, done := e.out.feed(e.r, e.buf, &e.from.m.out, e.ok)
			e.blocked += took
			// Consumed already: the chunk can be filled again at once,
			// unless the stage keeps pointers into it (a describer).
			keep = done && e.out.free != nil
		} else if e.out.trySend(e.buf) {
			e.from.m.out.Add(e.ok)
		} else {
			start := clock()
			if e.out.sendWait(e.buf, e.r.ctx.Done()) {
				e.from.m.out.Add(e.ok)
			} else {
				e.from.m.cancelled.Add(e.ok)
				keepFailures(e.r, e.buf)
			}
			e.blocked += clock() - start
		}
		e.since = 0
		e.ok = 0
		if keep {
			e.buf = e.buf[:0]
		} else {
			e.buf = nil
		}
	}
	e.want = e.target()
	if cap(e.buf) < e.want {
		e.buf = e.out.newChunk(e.want, e.limit)
	}
	e.checkEvery = int(min(max(checkCost/max(e.own, 1), 1), 64))
	e.unchecked = 0
}

// mark tells the emitter the time now, when its producer reads the clock
// anyway: it dates the results put from then on if none is held.
func (e *emitter[S, T]) mark(now int64) {
	if e.since == 0 {
		e.since = now
	}
}

// checkCost is the work, in ns, between two reads of the clock while a
// consumer waits: a read costs about 25 ns.
const checkCost = 1000

// retarget lowers the hand-off size when the producer's items got slower
// than when it was set, handing on what is held if it now reaches it, so
// that a few fast items do not make the slow ones after them wait for a
// chunk sized to the fast ones.
func (e *emitter[S, T]) retarget() {
	if t := e.target(); t < e.want {
		e.want = t
		if len(e.buf) >= e.want {
			e.flush()
		}
	}
}

// takeBlocked returns and resets the time spent blocked on sends.
func (e *emitter[S, T]) takeBlocked() int64 {
	b := e.blocked
	e.blocked = 0
	return b
}

// workerContext is the context user functions of stage s receive.
func workerContext(r *run, s *Stage) context.Context {
	return context.WithValue(r.ctx, stageKey{}, s)
}

// pad starts and ends a struct written once per item by one goroutine (a
// worker's counts, an emitter's buffer): the heap may place other objects
// (a context, another worker's state) on the same cache lines, and a write
// per item would take those lines away from the cores reading them.
type pad [64]byte
