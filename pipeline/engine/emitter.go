package engine

import "time"

// budget is the processing time a chunk aims at: long enough that a hand-off
// (~100 ns to a few µs with a goroutine wake-up) costs under 1 % of it, short
// enough that items are handed on within tens of microseconds.
const budget = int64(50 * time.Microsecond)

// checkCost is the work, in ns, between two reads of the clock while a
// consumer waits: a read costs about 25 ns.
const checkCost = 1000

// chunkTarget is the number of items worth moving in one hand-off when
// producing one costs own ns and consuming one costs down ns. A cost not yet
// measured (0) counts as slow: a slow consumer is never handed a large chunk
// before its cost is known, and a producer whose items turn out to take a
// millisecond never sets up to hold hundreds of them.
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

// chunkWant is [chunkTarget] within p's chunk size, or the chunk size
// itself with the sizing heuristic off (see knobs).
func (p *Pipeline) chunkWant(own, down int64) int {
	if p.knobs.NoSizing {
		return p.cfg.ChunkSize
	}
	return chunkTarget(own, down, p.cfg.ChunkSize)
}

// ewma folds a new per-item cost sample into an estimate.
func ewma(old, sample int64) int64 {
	if old <= 0 {
		return max(sample, 1)
	}
	return max((3*old+sample)/4, 1)
}

// epoch is the origin of clock.
var epoch = time.Now()

// clock reads the monotonic clock in nanoseconds (about 25 ns).
func clock() int64 { return int64(time.Since(epoch)) }

// emitter collects one worker's output and hands it on in chunks sized to
// the work (see [chunkTarget]). It is owned by one goroutine.
type emitter[S, T any] struct {
	r     *run
	s     *Stream[S, T]
	out   outlet[S, T]
	m     *meter // the producing stage's
	down  *meter // the consuming stage's, for its cost
	units func(S) int64
	early bool // the early hand-off heuristic is on (see knobs)

	want int // buf is handed on when it holds want items
	buf  []Item[S, T]
	// done counts the items that entered the stage and whose first output
	// is in buf: counted Out when buf is sent, Cancelled when it is not;
	// emitted counts the pipeline items buf's successes hold.
	done, emitted int64
	own           int64 // producer's cost per item, ns
	blocked       int64 // ns spent blocked on sends, not counted as work
	// since is a time (clock) no later than the oldest result in buf was
	// produced, or 0 when buf has been flushed since it was last set.
	since int64
	// While the consumer waits, the clock is read every checkEvery
	// results (those that cost about a microsecond); unchecked counts the
	// results since the last read.
	checkEvery, unchecked int
}

// init readies e, which is embedded in its worker (and so padded off other
// workers' cache lines with it), to emit on s.
func (e *emitter[S, T]) init(r *run, s *Stream[S, T]) {
	*e = emitter[S, T]{
		r: r, s: s, out: s.out, m: &s.from.m, down: &s.to.m, units: s.units,
		early: !r.p.knobs.NoEarly, want: r.p.chunkWant(0, 0), checkEvery: 1,
	}
	e.buf = e.out.newChunk(e.want)
}

func (e *emitter[S, T]) target() int { return e.r.p.chunkWant(e.own, e.down.cost.Load()) }

// put adds a successful output that completes done items taken in (1 for
// the first output of an item, 0 for the next ones of a flat-map, n for a
// batch of n) and returns a pointer to it in the chunk. It stays valid and
// unchanged after the chunk is sent, because the chunks of a stream with a
// describer are never reused.
//
// Outputs are handed on when the chunk is full, and also, while the next
// stage has a worker waiting, as soon as the last hand-off is older than
// the budget: when items turn slow in the middle of a chunk sized for fast
// ones, their results still go on as they complete (after at most a
// microsecond's worth of the fast ones).
func (e *emitter[S, T]) put(it Item[S, T], done int64) *Item[S, T] {
	e.buf = append(e.buf, it)
	p := &e.buf[len(e.buf)-1]
	e.done += done
	if e.units == nil {
		e.emitted++
	} else {
		e.emitted += e.units(it.Input)
	}
	if len(e.buf) >= e.want || e.early && e.unchecked+1 >= e.checkEvery && e.due() {
		e.flush()
	} else {
		e.unchecked++
	}
	return p
}

// due is called every checkEvery outputs: it reports, while the next stage
// waits, whether the outputs held have waited past the budget (early
// hand-off).
func (e *emitter[S, T]) due() bool {
	e.unchecked = 0
	if !e.out.waiting() {
		return false
	}
	now := clock()
	if e.since == 0 {
		e.since = now
		return false
	}
	return now-e.since >= budget
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
		// Counted before the hand-off, so that the next stage never
		// counts more than this one emitted.
		e.m.out.Add(e.done)
		e.m.emitted.Add(e.emitted)
		sent, reuse, took := e.out.send(e.r, e.buf)
		e.blocked += took
		if !sent {
			e.m.out.Add(-e.done)
			e.m.emitted.Add(-e.emitted)
			e.m.cancelled.Add(e.done)
			keepFailures(e.r, e.buf)
		}
		e.since = 0
		e.done, e.emitted = 0, 0
		if reuse && e.s.recycle {
			e.buf = e.buf[:0]
		} else {
			e.buf = nil
		}
	}
	e.want = e.target()
	if cap(e.buf) < e.want {
		e.buf = e.out.newChunk(e.want)
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

// retarget lowers the hand-off size when the producer's items got slower
// than when it was set, handing on what is held if it now reaches it, so
// that a few fast items do not make the slow ones after them wait for a
// chunk sized to the fast ones.
func (e *emitter[S, T]) retarget(own int64) {
	e.own = own
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
