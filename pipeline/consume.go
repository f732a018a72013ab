package pipeline

import (
	"context"
	"errors"
	"fmt"
)

// ErrStop may be returned by a [Consumer]'s Each to stop the run early: the
// run is cancelled with cause [ErrStopped], its goroutines exit, and Consume
// returns no error for it.
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
	// stored, and the run with it under fail-fast). Calling a function per
	// chunk instead of per item is what lets a sink keep up with tiny
	// items.
	//
	// Batch is called by the goroutines of the stage that feeds the sink,
	// which take turns storing their own results, while the goroutine that
	// called Consume waits for the end of the input: results that arrive
	// one at a time then wake no goroutine. (A source right before the sink
	// is read by the goroutine that called Consume, which then calls
	// Batch itself.) Calls
	// never overlap, each happens before the next, and all before Consume
	// returns. Failed, when set with Batch, is called the same way.
	Batch func([]Item[S, T])
	// Failed, when set, receives each item failure (under
	// ContinueOnError) as it arrives instead of Consume keeping it for its
	// returned error. Returning ErrStop stops the run.
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
	// Bound, when set, is called once before the first item, instead of
	// Size, when only an upper bound on the number of items is known: a
	// slice source followed by stages that emit at most one item per item
	// taken in, some of them filters. A sink may size its storage to it
	// (a hand-written loop would size its map to the input's length).
	Bound func(n int)
}

// upperBound returns the most items stage st can take in, when known: the
// length of a slice source upstream when every stage in between emits at
// most one item per item taken in.
func upperBound(st *Stage) (int64, bool) {
	for up := st.upstream; up != nil; up = up.upstream {
		switch {
		case up.total >= 0:
			return up.total, true
		case up.kind == KindMap, up.kind == KindFilter, up.kind == KindCallback:
		default:
			return 0, false
		}
	}
	return 0, false
}

// Consume runs the pipeline that in belongs to and feeds c with its output,
// from the calling goroutine (c.Batch from the run's goroutines, one call at
// a time: see [Consumer]). It returns when every goroutine of the run has
// exited. The error is nil on success; under fail-fast it is the first
// failure (an [*ItemError]), or the cause of ctx when ctx was cancelled;
// under [WithContinueOnError] it joins every failure not given to c.Failed, any
// source error and the cause of ctx. It panics if both c.Each and c.Batch
// are nil, if in is already consumed or if the pipeline has already run.
func Consume[S, T any](ctx context.Context, in *Stream[S, T], c Consumer[S, T]) error {
	if c.Each == nil && c.Batch == nil {
		panic("pipeline: Consume: Each and Batch are nil")
	}
	p := in.p
	st := p.NewStage(c.Name, KindSink, 1, -1, in.from)
	in.attach(st)
	n, final := st.Total()
	switch {
	case final && c.Size != nil:
		c.Size(int(n))
	case !final && c.Bound != nil:
		if n, ok := upperBound(st); ok {
			c.Bound(int(n))
		}
	}
	var failures []error
	k := &consumer[S, T]{st: st, c: c, failures: &failures}
	if c.Batch != nil && !c.PanicThrough {
		// A sink that only stores results is fed by the producers
		// themselves when they hand on chunks (see sinkFeed): consuming a
		// chunk is the same code on their goroutines, one at a time.
		in.feedDirect(k.chunk)
	}
	consume := func(r *run) error {
		var buf []Item[S, T] // for feeds that copy: grown as needed
		want := 1
		var chunk []Item[S, T]
		completed := false
		defer func() {
			if !completed {
				// c.Each or c.Failed is panicking up the caller's stack
				// (PanicThrough): account for the rest of the input.
				k.abandon(in, chunk, buf)
			}
		}()
		for {
			var ok bool
			chunk, ok = in.next(r, &buf, want, nil)
			if !ok {
				break
			}
			k.chunk(chunk)
			in.release(chunk)
			want = chunkTarget(k.own, k.own, p.cfg.chunk)
		}
		in.finishFeed()
		completed = true
		if in.chunks == nil {
			in.from.finished.Store(true)
		}
		return nil
	}
	// The consumer is ready before any worker starts: a direct feed may
	// call it from the first result on.
	err := p.execute(ctx, st, func(r *run) { k.r = r }, consume)
	if err != nil && errors.Is(err, ErrStopped) {
		err = nil
	}
	if len(failures) == 0 {
		return err
	}
	return errors.Join(append([]error{err}, failures...)...)
}

type consumer[S, T any] struct {
	r                          *run
	st                         *Stage
	c                          Consumer[S, T]
	failures                   *[]error
	own                        int64
	pos                        int
	in, out, failed, cancelled int64
}

// chunk consumes one chunk, publishes the counts and returns the time it
// took.
func (k *consumer[S, T]) chunk(chunk []Item[S, T]) int64 {
	start := clock()
	for i := 0; i < len(chunk); {
		if k.c.PanicThrough {
			i = k.items(chunk, i)
		} else {
			i = k.segment(chunk, i)
		}
	}
	el := clock() - start
	m := &k.st.m
	if k.in > 0 {
		k.own = ewma(k.own, el/k.in)
		m.cost.Store(k.own)
	}
	m.busy.Add(el)
	m.in.Add(k.in)
	m.out.Add(k.out)
	m.failed.Add(k.failed)
	m.cancelled.Add(k.cancelled)
	k.in, k.out, k.failed, k.cancelled = 0, 0, 0, 0
	return el
}

// abandon is called when the consumer's function panicked through on
// chunk[k.pos]: that item was consumed, the rest of the chunk and of the
// input is counted as cancelled, so that every item is still accounted for.
// It stops the run and returns when the input has ended.
func (k *consumer[S, T]) abandon(in *Stream[S, T], chunk []Item[S, T], buf []Item[S, T]) {
	k.r.stop()
	if k.pos < len(chunk) {
		if chunk[k.pos].Err == nil {
			k.out++
		}
		for _, it := range chunk[k.pos+1:] {
			if it.Err == nil {
				k.in++
				k.cancelled++
			}
		}
	}
	for {
		rest, ok := in.next(k.r, &buf, k.r.p.cfg.chunk, nil)
		if !ok {
			break
		}
		for _, it := range rest {
			if it.Err == nil {
				k.in++
				k.cancelled++
			}
		}
	}
	if in.chunks == nil {
		in.from.finished.Store(true)
	}
	m := &k.st.m
	m.in.Add(k.in)
	m.out.Add(k.out)
	m.failed.Add(k.failed)
	m.cancelled.Add(k.cancelled)
	k.in, k.out, k.failed, k.cancelled = 0, 0, 0, 0
}

func (k *consumer[S, T]) segment(chunk []Item[S, T], from int) (next int) {
	defer func() {
		if v := recover(); v != nil {
			if k.c.Batch != nil {
				k.in++ // batches count their items once fed
			}
			k.fail(chunk[k.pos].Input, &PanicError{Value: v, Stack: stack(v)})
			next = k.pos + 1
		}
	}()
	return k.items(chunk, from)
}

// items feeds chunk[from:] to the consumer, keeping in k.pos the index of
// the item being consumed, and returns len(chunk).
func (k *consumer[S, T]) items(chunk []Item[S, T], from int) int {
	if k.c.Batch != nil {
		return k.batches(chunk, from)
	}
	for k.pos = from; k.pos < len(chunk); k.pos++ {
		it := chunk[k.pos]
		if it.Err != nil {
			k.failedUpstream(it.Err)
			continue
		}
		k.in++
		if k.r.stopping() {
			k.cancelled++
			continue
		}
		switch err := k.c.Each(it); {
		case err == nil:
			k.out++
		case errors.Is(err, ErrStop):
			k.out++
			k.r.stop()
		default:
			k.fail(it.Input, err)
		}
	}
	return len(chunk)
}

// batches feeds chunk[from:] to c.Batch in runs of successful items, with
// k.pos at the start of the run being fed, and returns len(chunk).
func (k *consumer[S, T]) batches(chunk []Item[S, T], from int) int {
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
	return len(chunk)
}

func (k *consumer[S, T]) fail(input S, err error) {
	if k.r.stopping() && isCancellation(k.r, err) {
		k.cancelled++
		return
	}
	k.failed++
	ie := &ItemError[S]{Input: input, Stage: k.st.name, Err: err}
	if k.r.p.cfg.continueOnError {
		k.failedUpstream(ie)
		return
	}
	k.r.fail(ie)
}

// failedUpstream handles a failure record: it goes to c.Failed or is kept.
func (k *consumer[S, T]) failedUpstream(err error) {
	if k.r.stopping() && k.r.p.cfg.continueOnError && k.stoppedOnPurpose() {
		return // the consumer stopped: what still arrives is not wanted
	}
	ie, ok := err.(*ItemError[S])
	if !ok {
		ie = &ItemError[S]{Stage: k.st.name, Err: fmt.Errorf("pipeline: unexpected failure record: %w", err)}
	}
	if k.c.Failed != nil {
		if e := k.c.Failed(ie); errors.Is(e, ErrStop) {
			k.r.stop()
		}
		return
	}
	*k.failures = append(*k.failures, ie)
}

func (k *consumer[S, T]) stoppedOnPurpose() bool {
	k.r.mu.Lock()
	defer k.r.mu.Unlock()
	return k.r.stopped
}
