package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/sourcegraph/conc/panics"
)

// Func is the per-item function of a transform: it receives the item's
// pipeline input and current value and returns the new value, whether to
// keep the item (false drops it, as a filter does) and an error.
type Func[S, In, Out any] func(ctx context.Context, input S, v In) (out Out, keep bool, err error)

// TransformSpec describes a transform stage to [Transform].
type TransformSpec[S, Out any] struct {
	// Name of the stage; empty means kind and index ("map1").
	Name string
	// Kind of the stage (KindMap, KindFilter, KindCallback).
	Kind Kind
	// Workers is the number of goroutines running the function; at least 1.
	Workers int
	// Ordered makes the stage hand on its results in input order.
	Ordered bool
	// Window bounds, for an ordered stage, how many chunks may be taken
	// ahead of the oldest unfinished one; 0 means 4 × Workers.
	Window int
	// Unit names what the stage's weight counts ([AddWeight]); a weight
	// function set with [Stream.Weigh] on the output sets it too.
	Unit Unit
	// Failed, when set, is called for each item that failed in an earlier
	// stage and passes through this one (under ContinueOnError), from the
	// stage's goroutines, in arrival order when Workers is 1. If it panics,
	// the item still counts as failed where it first failed, and its
	// [ItemError] joins the panic (a [*PanicError]) to the first cause.
	Failed func(input S, err error)
}

// Transform attaches a stage that runs fn on every item of in with
// spec.Workers goroutines and returns the stage's output. Under fail-fast an
// error or panic cancels the run; under [WithContinueOnError] the item travels on
// as a failure record and fn is not called for it again. It panics at build
// time if fn is nil, spec.Workers < 1, spec.Window < 0, or in is already
// consumed.
func Transform[S, In, Out any](in *Stream[S, In], spec TransformSpec[S, Out], fn Func[S, In, Out]) *Stream[S, Out] {
	if fn == nil {
		panic(fmt.Sprintf("pipeline: stage %q: function is nil", spec.Name))
	}
	if spec.Window < 0 {
		panic(fmt.Sprintf("pipeline: stage %q: window %d is negative", spec.Name, spec.Window))
	}
	p := in.p
	st := p.NewStage(spec.Name, spec.Kind, spec.Workers, -1, in.from)
	st.unit = spec.Unit
	in.attach(st)
	out := newStream[S, Out](p, st)
	t := &transform[S, In, Out]{in: in, out: out, st: st, spec: spec, fn: fn}
	t.active.Store(int32(spec.Workers))
	out.recycle = true
	out.onAttach = func() {
		t.weigh, t.describe = out.weigh, out.describe
		if describe := out.describe; describe != nil {
			out.recycle = false
			st.desc = func() string {
				if it := t.last.Load(); it != nil {
					return describe(it.Input, it.Value)
				}
				return ""
			}
		}
	}
	p.starts = append(p.starts, t.start)
	return out
}

type transform[S, In, Out any] struct {
	in   *Stream[S, In]
	out  *Stream[S, Out]
	st   *Stage
	spec TransformSpec[S, Out]
	fn   Func[S, In, Out]
	// weigh and describe come from the output stream once it is consumed.
	weigh    func(Out) int64
	describe func(S, Out) string
	active   atomic.Int32
	last     atomic.Pointer[Item[S, Out]]
	seq      *sequencer[S, Out]
}

func (t *transform[S, In, Out]) start(r *run) {
	if t.spec.Ordered {
		t.seq = newSequencer[S, Out](t.spec.Window, t.spec.Workers)
		r.pool.Go(func() { t.sequence(r) })
	}
	for range t.spec.Workers {
		r.pool.Go(func() { t.work(r) })
	}
}

// worker is the state one goroutine of a transform keeps.
type worker[S, In, Out any] struct {
	_   pad
	t   *transform[S, In, Out]
	r   *run
	ctx context.Context
	// where results go: an emitter, or for an ordered stage a chunk that
	// is deposited whole.
	em      *emitter[S, Out]
	ordered []Item[S, Out]
	okOrd   int64
	own     int64 // cost per item, ns
	since   int64 // clock() at the end of the last chunk, or 0 after a wait
	// counts since the last chunk
	in, failed, dropped, cancelled, weight int64
	_                                      pad
}

func (t *transform[S, In, Out]) work(r *run) {
	w := &worker[S, In, Out]{t: t, r: r, ctx: workerContext(r, t.st)}
	var buf []Item[S, In] // for feeds that copy: grown as needed
	if t.seq != nil {
		t.workOrdered(w, buf)
	} else {
		w.em = newEmitter(r, t.out)
		idle := func() {
			w.since = 0 // about to wait: the next chunk reads the clock
			w.em.flush()
		}
		for {
			chunk, ok := t.in.next(r, &buf, chunkTarget(w.own, w.own, r.p.cfg.chunk), idle)
			if !ok {
				break
			}
			w.chunk(chunk)
			t.in.release(chunk)
			w.em.own = w.own
			w.em.retarget()
		}
		w.em.flush()
	}
	t.exit()
}

// chunk processes one chunk of input and publishes the counts.
func (w *worker[S, In, Out]) chunk(chunk []Item[S, In]) {
	// A chunk taken without waiting starts when the last one ended: one
	// clock read per chunk instead of two.
	start := w.since
	if start == 0 {
		start = clock()
		if w.em != nil {
			w.em.takeBlocked() // time blocked before start is no chunk's
		}
	}
	if w.em != nil {
		w.em.mark(start)
	}
	for i := 0; i < len(chunk); {
		i = w.segment(chunk, i)
	}
	end := clock()
	w.since = end
	el := end - start
	if w.em != nil {
		el -= w.em.takeBlocked()
	}
	m := &w.t.st.m
	if n := w.in; n > 0 {
		w.own = ewma(w.own, el/n)
		m.cost.Store(w.own)
		m.in.Add(n)
	}
	m.busy.Add(el)
	if w.failed > 0 {
		m.failed.Add(w.failed)
	}
	if w.dropped > 0 {
		m.dropped.Add(w.dropped)
	}
	if w.cancelled > 0 {
		m.cancelled.Add(w.cancelled)
	}
	if w.weight != 0 {
		m.weight.Add(w.weight)
	}
	w.in, w.failed, w.dropped, w.cancelled, w.weight = 0, 0, 0, 0, 0
}

// segment runs the function over chunk[from:] until the end of the chunk or a
// panic, which becomes the failure of the item that raised it; it returns
// where to resume.
func (w *worker[S, In, Out]) segment(chunk []Item[S, In], from int) (next int) {
	next = from
	defer func() {
		if v := recover(); v != nil {
			rec := panics.NewRecovered(1, v)
			pe := &PanicError{Value: v, Stack: rec.Stack}
			if it := &chunk[next]; it.Err != nil {
				// spec.Failed panicked on an item that failed upstream:
				// the item still ends where it failed, and its error
				// carries the panic too.
				w.emitFailed(Item[S, Out]{Input: it.Input, Err: failedHookPanic(it.Err, w.t.st.name, pe)})
			} else {
				w.fail(it.Input, pe)
			}
			next++
		}
	}()
	t := w.t
	for ; next < len(chunk); next++ {
		it := &chunk[next]
		if it.Err != nil {
			// Failed upstream: pass the record on untouched.
			if t.spec.Failed != nil {
				t.spec.Failed(it.Input, it.Err)
			}
			w.emitFailed(Item[S, Out]{Input: it.Input, Err: it.Err})
			continue
		}
		w.in++
		if w.r.stopping() {
			w.cancelled++
			continue
		}
		v, keep, err := t.fn(w.ctx, it.Input, it.Value)
		if err != nil {
			w.fail(it.Input, err)
			continue
		}
		if !keep {
			w.dropped++
			continue
		}
		if t.weigh != nil {
			w.weight += t.weigh(v)
		}
		w.emit(Item[S, Out]{Input: it.Input, Value: v})
	}
	return next
}

func (w *worker[S, In, Out]) emit(it Item[S, Out]) {
	if w.em != nil {
		last := w.em.put(it)
		if w.t.describe != nil {
			w.t.last.Store(last)
		}
		return
	}
	w.ordered = append(w.ordered, it)
	w.okOrd++
	if w.t.describe != nil {
		w.t.last.Store(&w.ordered[len(w.ordered)-1])
	}
}

func (w *worker[S, In, Out]) emitFailed(it Item[S, Out]) {
	if w.em != nil {
		w.em.putFailed(it)
		return
	}
	w.ordered = append(w.ordered, it)
}

// fail records an item's error according to the pipeline's policy. An error
// returned after the run was cancelled counts as a cancellation when it is
// one (the function saw the cancelled context); anything else still counts
// as a failure.
func (w *worker[S, In, Out]) fail(input S, err error) {
	if w.r.stopping() && isCancellation(w.r, err) {
		w.cancelled++
		return
	}
	w.failed++
	ie := &ItemError[S]{Input: input, Stage: w.t.st.name, Err: err}
	if w.r.p.cfg.continueOnError {
		w.emitFailed(Item[S, Out]{Input: input, Err: ie})
		return
	}
	w.r.fail(ie)
}

// failedHookPanic returns the failure record err of an item that failed
// upstream, with the panic of stage's Failed hook joined to its cause.
func failedHookPanic(err error, stage string, pe *PanicError) error {
	type itemError interface{ withCause(error) error }
	hook := fmt.Errorf("stage %q: failure callback: %w", stage, pe)
	if ie, ok := err.(itemError); ok {
		return ie.withCause(hook)
	}
	return errors.Join(err, hook)
}

func isCancellation(r *run, err error) bool {
	if _, ok := err.(*PanicError); ok {
		return false
	}
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, context.Cause(r.ctx))
}

// exit is called by each worker as it ends; the last one closes the output
// (or, for an ordered stage, tells the sequencer).
func (t *transform[S, In, Out]) exit() {
	if t.active.Add(-1) != 0 {
		return
	}
	if up := t.in.from; t.in.chunks == nil {
		up.finished.Store(true) // a source without a goroutine of its own
	}
	if t.seq != nil {
		close(t.seq.done)
		return
	}
	close(t.out.chunks)
	t.st.finished.Store(true)
}

// sequencer puts the chunks of an ordered stage back in input order. Workers
// take a window token, then a chunk and its sequence number; they deposit the
// chunk's results in the slot of that number; the sequencer hands slots on in
// order and returns the tokens. At most window chunks are in flight.
type sequencer[S, T any] struct {
	// take is held (a value in it) while a worker takes a chunk and its
	// number. It is a channel, not a mutex, because the holder may block
	// receiving input, and a goroutine waiting on a channel is durably
	// blocked (testing/synctest can advance time past it).
	take   chan struct{}
	next   int64 // sequence number of the next chunk taken
	tokens chan struct{}
	slots  []chan deposit[S, T]
	done   chan struct{} // closed when every worker has exited
}

type deposit[S, T any] struct {
	items []Item[S, T]
	ok    int64
}

func newSequencer[S, T any](window, workers int) *sequencer[S, T] {
	if window == 0 {
		window = 4 * workers
	}
	q := &sequencer[S, T]{take: make(chan struct{}, 1), tokens: make(chan struct{}, window), slots: make([]chan deposit[S, T], window), done: make(chan struct{})}
	for i := range q.slots {
		q.slots[i] = make(chan deposit[S, T], 1)
	}
	return q
}

func (t *transform[S, In, Out]) workOrdered(w *worker[S, In, Out], buf []Item[S, In]) {
	q := t.seq
	r := w.r
	for {
		select {
		case q.tokens <- struct{}{}:
		case <-r.ctx.Done():
			t.drain(w, buf)
			return
		}
		q.take <- struct{}{}
		chunk, ok := t.in.next(r, &buf, chunkTarget(w.own, w.own, r.p.cfg.chunk), nil)
		seq := q.next
		if ok {
			q.next++
		}
		<-q.take
		if !ok {
			<-q.tokens
			return
		}
		w.ordered = t.out.newChunk(len(chunk), r.p.cfg.chunk)
		w.since = 0 // it may have waited for a token or the take lock
		w.chunk(chunk)
		t.in.release(chunk)
		q.slots[seq%int64(len(q.slots))] <- deposit[S, Out]{items: w.ordered, ok: w.okOrd}
		w.ordered, w.okOrd = nil, 0
	}
}

// drain consumes what is left of the input after cancellation, counting it.
func (t *transform[S, In, Out]) drain(w *worker[S, In, Out], buf []Item[S, In]) {
	for {
		chunk, ok := t.in.next(w.r, &buf, w.r.p.cfg.chunk, nil)
		if !ok {
			return
		}
		var n int64
		for i := range chunk {
			if chunk[i].Err == nil {
				n++
			}
		}
		t.st.m.in.Add(n)
		t.st.m.cancelled.Add(n)
		keepFailures(w.r, chunk)
	}
}

// sequence hands the deposited chunks on in order until every worker has
// exited and every deposited chunk is handed on; then it closes the output.
func (t *transform[S, In, Out]) sequence(r *run) {
	q := t.seq
	m := &t.st.m
	window := int64(len(q.slots))
	for seq := int64(0); ; seq++ {
		slot := q.slots[seq%window]
		var d deposit[S, Out]
		select {
		case d = <-slot:
		case <-q.done:
			// Every worker has exited: q.next is final and every chunk
			// below it has been deposited.
			if seq >= q.next {
				close(t.out.chunks)
				t.st.finished.Store(true)
				return
			}
			d = <-slot
		}
		if len(d.items) > 0 {
			switch {
			case t.out.direct != nil:
				t.out.feed(r, d.items, &m.out, d.ok)
			case t.out.send(d.items, r.ctx.Done()):
				m.out.Add(d.ok)
			default:
				m.cancelled.Add(d.ok)
				keepFailures(r, d.items)
			}
		}
		<-q.tokens
	}
}
