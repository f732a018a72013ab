package engine

import (
	"context"
	"errors"
	"fmt"
)

// ErrStop may be returned by a [Consumer]'s Each or Failed to stop the run
// early: the run is cancelled with cause [ErrStopped], its goroutines exit,
// and Consume returns no error for it.
var ErrStop = errors.New("pipeline: stop")

// Consumer describes a sink to [Consume].
type Consumer[S, T any] struct {
	// Name of the sink stage; empty means "sink" and its index.
	Name string
	// Each is called for every successful item, serially, from the
	// goroutine that called Consume, in arrival order. A non-nil error
	// other than ErrStop is the item's failure, handled like a stage's.
	Each func(Item[S, T]) error
	// Batch, when set, is called instead of Each with runs of successful
	// items (usually a whole chunk), serially, in arrival order; none is
	// passed once the run is cancelled. It is for sinks that only store
	// results (a map, a slice): it cannot fail or stop the run, it must not
	// keep the slice, and it should not panic (a panic fails the item being
	// stored, and the run with it under fail-fast).
	//
	// Batch is called by the goroutines of the stage that feeds the sink,
	// which take turns storing their own results, while the goroutine that
	// called Consume waits for the end of the input: results that arrive
	// one at a time then wake no goroutine. (A source right before the sink
	// is read by the goroutine that called Consume, which then calls Batch
	// itself.) Calls never overlap, each happens before the next, and all
	// before Consume returns. Failed, when set with Batch, is called the
	// same way.
	Batch func([]Item[S, T])
	// Failed, when set, receives each item failure (under
	// continue-on-error) as it arrives instead of Consume keeping it for
	// its returned error. Returning ErrStop stops the run.
	Failed func(*ItemError[S]) error
	// PanicThrough lets a panic in Each or Failed go up the stack of the
	// goroutine that called Consume (after the run is stopped and its
	// goroutines have exited) instead of becoming the item's failure. A
	// range loop over results wants this: the panic is the loop body's.
	PanicThrough bool
	// Size, when set, is called once before the first item with the number
	// of items expected when it is known (a slice source with one-to-one
	// stages), so a sink can size its storage.
	Size func(n int)
	// Bound, when set, is called instead of Size when only an upper bound
	// on the number of items is known: a slice source followed by stages
	// that emit at most one item per item taken in, some of them filters.
	// It is called once, before the chunk with which at least twice the
	// pipeline's chunk size of items have arrived (so after earlier items
	// were passed on: a map grown for them is to be copied), with the
	// number of items to expect: the bound times, for each stage between
	// the source and the sink, the share of the items it finished that it
	// handed on (a filter's pass rate), at least the items arrived and at
	// most the bound. It is not called when fewer items arrive. (A map sized
	// for twice what it will hold fills about twice as slowly as one sized
	// for it, and one sized for half of it about as fast.)
	Bound func(n int)
}

// upperBound returns the most items stage st can take in, when known: the
// length of a slice source upstream when every stage in between emits at
// most one item per item taken in.
func upperBound(st *Stage) (int64, bool) {
	for up := st.Upstream(); up != nil; up = up.Upstream() {
		switch {
		case len(up.upstreams) > 1 || up.shape == Many:
			return 0, false
		case up.total >= 0:
			return up.total, true
		}
	}
	return 0, false
}

// expected returns how many items a sink bounded by n is to expect once got
// items have arrived (see Consumer.Bound): n times, for each stage between
// the sink and the stage that bounds it, the share of the items it finished
// that it handed on (not dropped or failed), within [got, n]. A stage that
// has finished nothing yet counts as handing on everything.
func expected(st *Stage, n, got int64) int64 {
	f := 1.0
	for up := st.Upstream(); up != nil && up.total < 0; up = up.Upstream() {
		out := up.out()
		if done := out + up.m.dropped.Load() + up.m.failed.Load(); done > 0 {
			f *= float64(out) / float64(done)
		}
	}
	return min(n, max(got, int64(f*float64(n))))
}

// Consume runs the pipeline that in belongs to and feeds c with its output,
// from the calling goroutine (c.Batch from the run's goroutines, one call at
// a time: see [Consumer]). It returns when every goroutine of the run has
// exited. The error is nil on success; under fail-fast it is the first
// failure (an [*ItemError]), or the cause of ctx when ctx was cancelled;
// under continue-on-error it joins every failure not given to c.Failed, any
// source error and the cause of ctx. It panics if both c.Each and c.Batch
// are nil, if in is nil or already consumed, or if the pipeline has already
// run.
func Consume[S, T any](ctx context.Context, in *Stream[S, T], c Consumer[S, T]) error {
	in.check("Consume")
	if c.Each == nil && c.Batch == nil {
		panic("pipeline: Consume: Each and Batch are nil")
	}
	p := in.p
	st := p.newStage(c.Name, KindSink, OneToOne, 1, -1, []*Stage{in.from})
	k := &sink[S, T]{st: st, c: c, units: in.units}
	var store func([]Item[S, T]) int64
	if c.Batch != nil && !c.PanicThrough {
		store = k.chunk // the producers may store their own results
	}
	feed := in.attach(st, store)
	n, final := st.Total()
	switch {
	case final && c.Size != nil:
		c.Size(int(n))
	case !final && c.Bound != nil:
		if n, ok := upperBound(st); ok {
			if p.knobs.NoPresize {
				c.Bound(int(n))
			} else {
				k.bound = n
			}
		}
	}
	var feeds []*Stage
	if in.sourceless {
		feeds = append(feeds, in.from)
	}
	consume := func(r *run) {
		var buf []Item[S, T] // for feeds that copy: grown as needed
		want := 1
		var chunk []Item[S, T]
		completed := false
		defer func() {
			if !completed {
				// c.Each or c.Failed is panicking up the caller's stack
				// (PanicThrough): account for the rest of the input.
				k.abandon(feed, chunk, buf)
			}
		}()
		for {
			var ok bool
			chunk, ok = feed.next(r, &buf, want, noWait{})
			if !ok {
				break
			}
			k.chunk(chunk)
			feed.release(chunk)
			want = p.chunkWant(k.own, k.own)
		}
		completed = true
	}
	// The consumer is ready before any worker starts: a direct feed may
	// call it from the first result on.
	err := p.runSink(ctx, st, feeds, func(r *run) { k.r = r }, consume)
	if err != nil && errors.Is(err, ErrStopped) {
		err = nil
	}
	if len(k.failures) == 0 {
		return err
	}
	return errors.Join(append([]error{err}, k.failures...)...)
}

type sink[S, T any] struct {
	r                          *run
	st                         *Stage
	c                          Consumer[S, T]
	units                      func(S) int64 // the input's, or nil
	failures                   []error       // kept for the returned error
	own                        int64
	pos                        int
	in, out, failed, cancelled int64
	stopped                    bool // stopped early under Run: its branch only (run.go)
	// bound is the upper bound to give c.Bound, as an expectation, once
	// enough items have arrived (see Consumer.Bound); 0 once given or when
	// there is none. arrived counts the items arrived until then.
	bound, arrived int64
}

// chunk consumes one chunk, publishes the counts and returns the time it
// took.
func (k *sink[S, T]) chunk(chunk []Item[S, T]) int64 {
	if k.bound > 0 {
		k.arrived += int64(len(chunk))
		if k.arrived >= 2*int64(k.r.p.cfg.ChunkSize) {
			n := expected(k.st, k.bound, k.arrived)
			k.bound = 0
			k.c.Bound(int(n))
		}
	}
	start := clock()
	for i := 0; i < len(chunk); {
		i = k.segment(chunk, i)
	}
	el := clock() - start
	m := &k.st.m
	if k.in > 0 {
		k.own = ewma(k.own, el/k.in)
		m.setCost(k.own)
	}
	m.busy.Add(el)
	k.publish()
	return el
}

func (k *sink[S, T]) publish() {
	// Emitted is Out for a sink (see Stage.emitted).
	m := &k.st.m
	add(&m.in, k.in)
	add(&m.out, k.out)
	add(&m.failed, k.failed)
	add(&m.cancelled, k.cancelled)
	k.in, k.out, k.failed, k.cancelled = 0, 0, 0, 0
}

// abandon is called when the consumer's function panicked through on
// chunk[k.pos]: that item was consumed, the rest of the chunk and of the
// input is counted as cancelled, so that every item is still accounted for.
// It stops the run and returns when the input has ended.
func (k *sink[S, T]) abandon(feed inlet[S, T], chunk []Item[S, T], buf []Item[S, T]) {
	k.r.stop()
	if k.pos < len(chunk) {
		if it := &chunk[k.pos]; it.Err == nil {
			k.out += unitsOf(k.units, it)
		}
		k.cancelAll(chunk[k.pos+1:])
	}
	for {
		rest, ok := feed.next(k.r, &buf, k.r.p.cfg.ChunkSize, noWait{})
		if !ok {
			break
		}
		k.cancelAll(rest)
	}
	k.publish()
}

// cancelAll counts the items of items, not consumed, in and cancelled.
func (k *sink[S, T]) cancelAll(items []Item[S, T]) {
	for i := range items {
		if it := &items[i]; it.Err == nil {
			u := unitsOf(k.units, it)
			k.in += u
			k.cancelled += u
		}
	}
}

// segment feeds chunk[from:] to the consumer, keeping in k.pos the index
// of the item being consumed, and returns len(chunk); when the consumer
// panics on an item (and the panic is not to go through), it fails that
// item and returns the index of the next.
func (k *sink[S, T]) segment(chunk []Item[S, T], from int) (next int) {
	if !k.c.PanicThrough {
		defer func() {
			if v := recover(); v != nil {
				it := &chunk[k.pos]
				if k.c.Batch != nil {
					k.in += unitsOf(k.units, it) // batches count their items once fed
				}
				k.fail(it, newPanicError(v))
				next = k.pos + 1
			}
		}()
	}
	if k.c.Batch != nil {
		k.batches(chunk, from)
	} else {
		k.items(chunk, from)
	}
	return len(chunk)
}

// items feeds chunk[from:] to c.Each.
func (k *sink[S, T]) items(chunk []Item[S, T], from int) {
	for k.pos = from; k.pos < len(chunk); k.pos++ {
		it := &chunk[k.pos]
		if it.Err != nil {
			k.failedUpstream(it.Err)
			continue
		}
		u := unitsOf(k.units, it)
		k.in += u
		if k.r.stopping() || k.stopped {
			k.cancelled += u
			continue
		}
		switch err := k.c.Each(*it); {
		case err == nil:
			k.out += u
		case errors.Is(err, ErrStop):
			k.out += u
			k.stop()
		default:
			k.fail(it, err)
		}
	}
}

// batches feeds chunk[from:] to c.Batch in runs of successful items, with
// k.pos at the start of the run being fed.
func (k *sink[S, T]) batches(chunk []Item[S, T], from int) {
	for i := from; i < len(chunk); {
		if err := chunk[i].Err; err != nil {
			k.pos = i
			k.failedUpstream(err)
			i++
			continue
		}
		j := i + 1
		for j < len(chunk) && chunk[j].Err == nil {
			j++
		}
		n := int64(j - i)
		if k.units != nil {
			n = 0
			for x := i; x < j; x++ {
				n += k.units(chunk[x].Input)
			}
		}
		if k.r.stopping() {
			k.in += n
			k.cancelled += n
		} else {
			k.pos = i
			k.c.Batch(chunk[i:j])
			k.in += n
			k.out += n
		}
		i = j
	}
}

func (k *sink[S, T]) fail(it *Item[S, T], err error) {
	u := unitsOf(k.units, it)
	if k.r.stopping() && isCancellation(k.r, err) {
		k.cancelled += u
		return
	}
	k.failed += u
	ie := &ItemError[S]{Input: it.Input, Stage: k.st.name, Err: err}
	if k.r.p.cfg.ContinueOnError {
		k.failedUpstream(ie)
		return
	}
	k.r.fail(ie)
}

// failedUpstream handles a failure record: it goes to c.Failed or is kept.
func (k *sink[S, T]) failedUpstream(err error) {
	if k.stopped || k.r.stopping() && k.r.p.cfg.ContinueOnError && k.r.stoppedOnPurpose() {
		return // the consumer stopped: what still arrives is not wanted
	}
	ie, ok := err.(*ItemError[S])
	if !ok {
		if _, other := err.(anyItemError); other {
			// An item that failed before a stage changed the pipeline's
			// input type (a batch): kept as it is.
			k.failures = append(k.failures, err)
			return
		}
		ie = &ItemError[S]{Stage: k.st.name, Err: fmt.Errorf("pipeline: unexpected failure record: %w", err)}
	}
	if k.c.Failed != nil {
		if e := k.c.Failed(ie); errors.Is(e, ErrStop) {
			k.stop()
		}
		return
	}
	k.failures = append(k.failures, ie)
}
