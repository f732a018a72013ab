package engine

import "context"

// Func is the per-item function of a one-to-one or filtering operator: it
// returns the item's new value, whether to keep the item (false drops it)
// and an error, which fails it.
type Func[S, In, Out any] func(ctx context.Context, input S, v In) (out Out, keep bool, err error)

// Each runs fn on every item the worker takes and hands on the results
// that fn keeps, until the input ends: an operator's Work for one-to-one
// stages (a callback, a map that needs the input) and filters. It does what
// Next and Emit do, but while the worker goes through a private chunk of
// plain items (no failure record, no weight, no description, not ordered)
// it does so in one loop that calls nothing per item but fn, looks whether
// the run is cancelled (so that no item starts once it is), and takes the
// chunk's next lease once per eighth of it: items that take nanoseconds
// then cost nanoseconds.
func Each[S, In, Out any](w *Worker[S, In, S, Out], fn Func[S, In, Out]) {
	each(w, fn, nil)
}

// EachMap is [Each] for a map: fn's result is always kept and fn does not
// see the item's pipeline input. Calling fn directly instead of through a
// [Func] that wraps it saves a call per item, about a tenth of what an item
// of a chain of maps over integers costs.
func EachMap[S, In, Out any](w *Worker[S, In, S, Out], fn func(ctx context.Context, v In) (Out, error)) {
	each(w, nil, fn)
}

// each is Each with fn, EachMap with mf.
func each[S, In, Out any](w *Worker[S, In, S, Out], fn Func[S, In, Out], mf func(context.Context, In) (Out, error)) {
	ctx := w.ctx
	for {
		if c := w.cur; c != nil && !w.timed && c.fast && w.plain { // the owner's, plain
			eachPlain(w, c, fn, mf)
		}
		it, ok := w.Next()
		if !ok {
			return
		}
		n := w.Units(it)
		if w.r.stopping() {
			// Cancelled since Next looked: the item does not start.
			w.item = nil
			w.cancelled += n
			continue
		}
		v, keep, err := call(ctx, it, fn, mf)
		switch {
		case err != nil:
			w.Fail(it.Input, n, err)
		case !keep:
			w.Drop(n)
		default:
			w.Emit(Item[S, Out]{Input: it.Input, Value: v}, n)
		}
	}
}

// call runs mf on it, keeping its result, or fn when mf is nil.
func call[S, In, Out any](ctx context.Context, it *Item[S, In], fn Func[S, In, Out], mf func(context.Context, In) (Out, error)) (Out, bool, error) {
	if mf != nil {
		v, err := mf(ctx, it.Value)
		return v, true, err
	}
	return fn(ctx, it.Input, it.Value)
}

// eachPlain is each's loop through the private items of chunk c, while
// they last, no sibling asks for a share and the run is not cancelled. The
// emitter's buffer and counts live in locals while it runs, and go back to
// the emitter before anything else looks at them (a hand-off, a failure,
// the end, a panic in fn).
func eachPlain[S, In, Out any](w *Worker[S, In, S, Out], c *Chunk[S, In], fn Func[S, In, Out], mf func(context.Context, In) (Out, error)) {
	ctx, e := w.ctx, w.em
	r := w.r // looked at before every item: none starts once the run is cancelled
	buf, k, unchecked := e.buf, int64(0), e.unchecked
	// Under fail-fast no output of this stage holds an error: a stage puts
	// failure records only under continue-on-error, and the chunks its
	// emitter fills are new or come back from its own output's consumers.
	// A chunk's room past its length then has a nil Err already, and
	// writing the input and the value alone spares writing (and, while the
	// collector marks, guarding) Err.
	clean := !w.r.p.cfg.ContinueOnError
	// The loop keeps no per-item state in w: the items taken are counted
	// from c.pos, and inFn says that fn runs on the item before c.pos, so
	// that a panic in fn fails it.
	p0, inFn := c.pos, false
	defer func() {
		e.buf, e.unchecked = buf, unchecked
		e.done, e.emitted = e.done+k, e.emitted+k
		w.n += int64(c.pos - p0)
		if inFn {
			w.item = &c.items[c.pos-1]
		}
	}()
	for c.mode.Load() == chunkPrivate && (c.pos < c.lim || c.extend()) && !r.stopping() {
		it := &c.items[c.pos]
		c.pos++
		inFn = true
		v, keep, err := call(ctx, it, fn, mf)
		inFn = false
		if err == nil && keep {
			if n := len(buf); clean && n < cap(buf) {
				buf = buf[:n+1]
				buf[n].Input, buf[n].Value = it.Input, v
			} else {
				buf = append(buf, Item[S, Out]{Input: it.Input, Value: v})
			}
			k++
			full := len(buf) >= e.want
			if !full && e.early {
				if unchecked++; unchecked >= e.checkEvery {
					unchecked = 0
					full = e.due()
				}
			}
			if !full {
				continue
			}
		}
		if err == nil && !keep {
			w.dropped++
			continue
		}
		e.buf, e.unchecked = buf, unchecked
		e.done, e.emitted, k = e.done+k, e.emitted+k, 0
		if err != nil {
			w.Fail(it.Input, 1, err) // may hand on a failure record
		} else {
			e.flush()
		}
		buf, unchecked = e.buf, e.unchecked
	}
}
