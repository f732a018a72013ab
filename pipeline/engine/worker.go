package engine

import (
	"context"
	"fmt"
	"time"
)

// Worker is one goroutine of a stage, as the stage's [Operator] sees it: the
// run's context, the stage's input, its output and its meters. A Worker is
// owned by its goroutine; its methods must not be called from another.
//
// Items come one at a time from [Worker.Next], which takes them from the
// stage's input in chunks sized to their cost. Every item Next returns has
// entered the stage and must end exactly once, by one of:
//
//   - [Worker.Emit] with done > 0: the item was handed on (alone, or as part
//     of a batch emitted later with done = the batch's size);
//   - [Worker.Drop]: a filter removed it, or a flat-map made nothing of it;
//   - [Worker.Fail]: its function failed;
//   - nothing, while the run is cancelled: Next counts what it does not
//     return then as cancelled, and [Worker.Cancel] counts items an
//     operator held (a partial batch) when the run was cancelled.
//
// Items that failed in an earlier stage (under continue-on-error) never
// reach the operator: Next passes them on as they are.
type Worker[SI, I, SO, O any] struct {
	_    pad
	r    *run
	st   *Stage
	ctx  context.Context
	id   int
	in   *inbox[SI, I]
	spec *opState[SI, I, SO, O]
	em   *emitter[SO, O] // &emv, or nil for an ordered stage
	emv  emitter[SO, O]
	seq  *sequencer[SO, O] // ordered stages

	buf   []Item[SI, I] // for feeds that copy: grown as needed
	cur   *Chunk[SI, I] // the chunk items come from, or nil
	own   Chunk[SI, I]  // this worker's reusable chunk (never shared)
	stash *Chunk[SI, I] // a sibling's chunk found while waiting
	tick  <-chan time.Time
	units func(SI) int64 // the input's units, or nil
	// waiting says that the worker counts itself in its inbox's idle
	// workers while an inlet blocks (see wake).
	waiting bool
	// plain says that outputs go straight to the emitter: no weight, no
	// description, not ordered, one pipeline item each.
	plain bool
	item  *Item[SI, I]  // the item last returned by Next, until it is accounted for
	last  *Item[SI, I]  // the item last returned by Next
	ord   []Item[SO, O] // ordered: the outputs of the current chunk
	okOrd int64         // ordered: items of the current chunk handed on
	emOrd int64         // ordered: pipeline items the current chunk's outputs hold
	seqNo int64         // ordered: the current chunk's sequence number

	cost   int64 // cost per item, ns
	idleAt int64 // clock() when the worker began to wait for input, or 0
	since  int64 // clock() at the end of the last chunk, or 0 after a wait
	start  int64 // clock() at the start of the current chunk
	timed  bool  // items of the current chunk are timed one by one
	// finishing is set once the operator has returned: the worker then
	// accounts for the input left unread, never for a sibling's items.
	finishing bool
	// taken says that the chunk fetched last came from the input and is
	// still counted in the inbox's taking until startChunk publishes it.
	taken bool
	itemT int64 // timed: when the last item started
	// counts since the current chunk started
	n, failed, dropped, cancelled, weight int64
	timer                                 *time.Timer
	_                                     pad
}

// Context returns the context the stage's functions receive: the run's
// context, cancelled on the first error under fail-fast, when the caller's
// context ends or when the sink stops early. [AddWeight] and [StageOf] work
// with it.
func (w *Worker[SI, I, SO, O]) Context() context.Context { return w.ctx }

// Stage returns the stage the worker belongs to.
func (w *Worker[SI, I, SO, O]) Stage() *Stage { return w.st }

// Next returns the next item of the stage's input, and false once the input
// has ended or the run is cancelled (the items it then no longer returns
// are counted as cancelled). It blocks while no input is ready; before
// blocking it hands on the outputs the worker holds. The item is valid
// until the next call.
func (w *Worker[SI, I, SO, O]) Next() (*Item[SI, I], bool) { return w.NextOr(nil) }

// NextOr is [Worker.Next] that also returns, with a nil item and true, when
// tick fires while it waits for input: an operator that holds items (a
// partial batch) can then hand them on.
func (w *Worker[SI, I, SO, O]) NextOr(tick <-chan time.Time) (*Item[SI, I], bool) {
	if c := w.cur; c != nil && c.private() && c.fast && (c.pos < c.lim || c.extend()) && !w.r.stopping() {
		it := &c.items[c.pos]
		c.pos++
		w.n++
		w.item = it
		return it, true
	}
	return w.nextSlow(tick)
}

// nextSlow is Next at the end of a chunk, for an item that is not for the
// operator (a failure record, or any item once the run is cancelled), for a
// shared chunk, or for a chunk whose items are timed one by one.
func (w *Worker[SI, I, SO, O]) nextSlow(tick <-chan time.Time) (*Item[SI, I], bool) {
	var it *Item[SI, I]
	for {
		if it != nil {
			switch {
			case w.r.stopping():
				w.cancelItem(it)
			case it.Err != nil:
				w.passFailure(it)
			default:
				w.item, w.last = it, it
				return it, true
			}
		}
		if c := w.cur; c != nil {
			if w.timed {
				now := clock()
				if w.last != nil {
					w.recordSlow(now-w.itemT, w.last)
					w.last = nil
				}
				w.itemT = now
			}
			if it = c.take(!w.timed); it != nil {
				w.n++
				continue
			}
			w.endChunk()
		}
		c, ok, ticked := w.fetch(tick)
		if ticked {
			return nil, true
		}
		if !ok {
			return nil, false
		}
		w.startChunk(c)
	}
}

// recordSlow offers an item that took ns to the stage's slowest items.
func (w *Worker[SI, I, SO, O]) recordSlow(ns int64, it *Item[SI, I]) {
	if ns > w.st.slow.floor.Load() {
		w.st.slow.record(ns, fmt.Sprint(it.Input))
	}
}

// cancelItem counts an item taken after the run was cancelled.
func (w *Worker[SI, I, SO, O]) cancelItem(it *Item[SI, I]) {
	if it.Err != nil {
		keepFailures(w.r, []Item[SI, I]{*it})
		return
	}
	w.cancelled += w.Units(it)
}

// Units returns the number of pipeline items it stands for: 1, or a
// batch's size. Emit, Drop, Cancel and Fail count in these units.
func (w *Worker[SI, I, SO, O]) Units(it *Item[SI, I]) int64 {
	if w.units == nil {
		return 1
	}
	return w.units(it.Input)
}

// passFailure hands on an item that failed upstream, telling the stage's
// failure hook first.
func (w *Worker[SI, I, SO, O]) passFailure(it *Item[SI, I]) {
	err := it.Err
	if h := w.spec.OnFailed; h != nil {
		func() {
			defer func() {
				if v := recover(); v != nil {
					err = failedHookPanic(err, w.st.name, newPanicError(v))
				}
			}()
			h(it.Input, it.Err)
		}()
	}
	w.spec.failure(it.Input, err, w.emitFailed)
}

// startChunk begins work on chunk c, taken from the input.
func (w *Worker[SI, I, SO, O]) startChunk(c *Chunk[SI, I]) {
	// A chunk taken without waiting starts when the last one ended: one
	// clock read per chunk instead of two.
	w.start = w.since
	if w.start == 0 {
		w.start = clock()
		if w.em != nil {
			// Time blocked handing on before the wait is no chunk's.
			add(&w.st.m.blocked, w.em.takeBlocked())
		}
		if w.idleAt != 0 {
			w.st.m.idle.Add(max(w.start-w.idleAt, 0))
			w.idleAt = 0
		}
	}
	if w.em != nil {
		w.em.mark(w.start)
	}
	w.cur = c
	w.n = 0
	w.item, w.last = nil, nil
	// Items taken from another worker's chunk turned slow there: time
	// them one by one.
	w.timed = c.owner != w.id
	w.itemT = w.start
	if !w.timed {
		// A chunk fresh from the input: its items enter the stage (those
		// of a claimed chunk entered with the chunk they came from).
		var n int64
		c.fast = true
		if w.in.s.units == nil && !w.r.p.cfg.ContinueOnError {
			n = int64(len(c.items))
		} else {
			for i := range c.items {
				if c.items[i].Err == nil {
					n += w.Units(&c.items[i])
				} else {
					c.fast = false
				}
			}
		}
		if !c.counted {
			w.st.m.in.Add(n)
		}
		if c != &w.own {
			// Published once the owner's fields are set: a sibling reads
			// them after it loads the chunk from the slot.
			w.in.slots[w.slot()].Store(c)
		}
	}
	if w.taken {
		w.taken = false
		w.in.untake() // the chunk is where the siblings look
	}
	if w.seq != nil {
		w.beginOrdered(len(c.items))
	}
}

// endChunk publishes the counts of the chunk just finished.
func (w *Worker[SI, I, SO, O]) endChunk() {
	c := w.cur
	w.cur = nil
	end := clock()
	w.since = end
	el := end - w.start
	if w.em != nil {
		b := w.em.takeBlocked()
		el -= b
		add(&w.st.m.blocked, b)
	}
	m := &w.st.m
	if w.n > 0 {
		w.cost = ewma(w.cost, el/w.n)
		m.setCost(w.cost)
		if w.n == 1 && !w.timed {
			if it := w.last; it != nil {
				w.recordSlow(el, it)
			} else if c.pos == 1 && c.items[0].Err == nil { // not a failure passing by
				w.recordSlow(el, &c.items[0])
			}
		}
	}
	m.busy.Add(el)
	w.flushCounts()
	w.item, w.last = nil, nil
	if w.seq != nil {
		w.endOrdered()
	}
	if c.owner == w.id {
		w.done(c)
	}
	if w.em != nil {
		w.em.retarget(w.cost)
	}
}

// flushCounts adds the worker's counts since the last chunk ended to the
// stage's meters: at the end of each chunk, and once more when the worker
// finishes, for what the operator ended after its input did (a last
// partial batch).
func (w *Worker[SI, I, SO, O]) flushCounts() {
	m := &w.st.m
	add(&m.failed, w.failed)
	add(&m.dropped, w.dropped)
	add(&m.cancelled, w.cancelled)
	add(&m.weight, w.weight)
	w.failed, w.dropped, w.cancelled, w.weight = 0, 0, 0, 0
}

// want is how many items the worker would like in its next chunk.
func (w *Worker[SI, I, SO, O]) want() int {
	return w.r.p.chunkWant(w.cost, w.cost)
}

// idle is called before the worker blocks waiting for input.
func (w *Worker[SI, I, SO, O]) idle() {
	if w.em != nil {
		w.em.flush()
	}
	if w.since != 0 {
		w.idleAt = w.since + w.em0Blocked()
	} else if w.idleAt == 0 {
		w.idleAt = clock()
	}
	w.since = 0 // about to wait: the next chunk reads the clock
}

// em0Blocked is the time the flush before a wait spent blocked, which is
// not idle time.
func (w *Worker[SI, I, SO, O]) em0Blocked() int64 {
	if w.em == nil {
		return 0
	}
	return w.em.blocked
}

// wakeIn returns a channel that ticks after d, for an idle worker that
// looks at its siblings' chunks again then. While every P is idle the
// runtime fires a timer shorter than a millisecond after about one (its
// poller waits in whole milliseconds): a budget's wait is then a
// millisecond's. Spinning through such waits instead gained nothing on
// the benchmarks where idle workers claim slow items (Skew, HashTree).
func (w *Worker[SI, I, SO, O]) wakeIn(d time.Duration) <-chan time.Time {
	if w.timer == nil {
		w.timer = time.NewTimer(d)
	} else {
		w.timer.Reset(d)
	}
	return w.timer.C
}

// Emit hands on an output that completes done items taken in: 1 for an
// item's output, 0 for the further outputs of an item a flat-map expands,
// n for a batch of n items the operator held. It blocks while the next
// stage is full; after cancellation the output is counted as cancelled
// instead.
func (w *Worker[SI, I, SO, O]) Emit(out Item[SO, O], done int64) {
	if done > 0 {
		w.item = nil
	}
	if w.plain {
		// No weight, no description, not ordered: straight to the
		// emitter.
		e := w.em
		e.buf = append(e.buf, out)
		e.done += done
		e.emitted++
		if len(e.buf) >= e.want || e.early && e.unchecked+1 >= e.checkEvery && e.due() {
			e.flush()
		} else {
			e.unchecked++
		}
		return
	}
	w.emitFull(out, done)
}

func (w *Worker[SI, I, SO, O]) emitFull(out Item[SO, O], done int64) {
	if w.spec.weigh != nil {
		w.weight += w.spec.weigh(out.Value)
	}
	if w.seq != nil {
		w.ord = append(w.ord, out)
		w.okOrd += done
		if u := w.spec.outUnits; u == nil {
			w.emOrd++
		} else {
			w.emOrd += u(out.Input)
		}
		if w.spec.describe != nil {
			w.spec.last.Store(&w.ord[len(w.ord)-1])
		}
		return
	}
	p := w.em.put(out, done)
	if w.spec.describe != nil {
		w.spec.last.Store(p)
	}
}

func (w *Worker[SI, I, SO, O]) emitFailed(it Item[SO, O]) {
	if w.seq != nil {
		w.ord = append(w.ord, it)
		return
	}
	w.em.putFailed(it)
}

// Emit with done > 0, Drop and Fail end the item Next last returned: a
// panic after them is no longer that item's failure.

// Drop counts n items the operator removed (a filter), or turned into no
// output (a flat-map).
func (w *Worker[SI, I, SO, O]) Drop(n int64) {
	w.item = nil
	w.dropped += n
}

// Cancel counts n items the operator held and could not hand on because the
// run was cancelled (a partial batch).
func (w *Worker[SI, I, SO, O]) Cancel(n int64) { w.cancelled += n }

// Stopping reports whether the run has been cancelled: an operator holding
// items should then count them with Cancel instead of emitting them.
func (w *Worker[SI, I, SO, O]) Stopping() bool { return w.r.stopping() }

// Fail records the failure of the item whose pipeline input is input,
// according to the pipeline's error policy: under fail-fast the first
// failure cancels the run; under continue-on-error the failure travels on
// to the sink. An error returned because the run was cancelled (the
// function saw the cancelled context) counts the item as cancelled
// instead. n is the number of pipeline items that fail (1, or a batch's
// size).
func (w *Worker[SI, I, SO, O]) Fail(input SI, n int64, err error) {
	w.item = nil
	if w.r.stopping() && isCancellation(w.r, err) {
		w.cancelled += n
		return
	}
	w.failed += n
	ie := &ItemError[SI]{Input: input, Stage: w.st.name, Err: err}
	if w.r.p.cfg.ContinueOnError {
		w.spec.failure(input, ie, w.emitFailed)
		return
	}
	w.r.fail(ie)
}

// finish accounts for what the operator left unread (an operator that
// stops early still accounts for every item, as cancelled) and hands on
// what the worker holds. The rest of its own chunk is counted cancelled;
// the input is left to the siblings still at work, and only the last
// worker of the input to finish counts what is left there. The items of its
// siblings' chunks are theirs to end: it takes none of them.
func (w *Worker[SI, I, SO, O]) finish() {
	w.finishing = true
	if c := w.cur; c != nil {
		if c.owner == w.id { // a sibling's chunk is its owner's to end
			for it := c.ownTake(); it != nil; it = c.ownTake() {
				w.n++
				w.cancelItem(it)
			}
		}
		w.endChunk()
	}
	if w.in.running.Add(-1) == 0 {
		for {
			it, ok := w.nextSlow(nil)
			if !ok {
				break
			}
			w.cancelled += w.Units(it)
			w.item = nil
		}
	}
	w.flushCounts()
	if w.em != nil {
		w.em.flush()
	}
}
