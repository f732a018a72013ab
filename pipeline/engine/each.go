package engine

import "context"

// Func is the per-item function of a one-to-one or filtering operator: it
// returns the item's new value, whether to keep the item (false drops it)
// and an error, which fails it.
type Func[S, In, Out any] func(ctx context.Context, input S, v In) (out Out, keep bool, err error)

// Each runs fn on every item the worker takes and hands on the results
// that fn keeps, until the input ends: an operator's Work for one-to-one
// stages (a map, a callback) and filters. It does what Next and Emit do,
// but while the worker goes through a private chunk of plain items (no
// failure record, no weight, no description, not ordered) it does so in one
// loop that calls nothing per item but fn: items that take nanoseconds then
// cost nanoseconds.
func Each[S, In, Out any](w *Worker[S, In, S, Out], fn Func[S, In, Out]) {
	ctx := w.ctx
	for {
		if c := w.cur; c != nil && c.fast && w.plain {
			e := w.em
			if w.inplace && (w.ipj > 0 || c.pos == 0 && len(e.buf) == 0) {
				eachInPlace(w, c, fn)
			}
			for c.pos < len(c.items) && c.mode.Load() == chunkPrivate && !w.r.halted.Load() {
				it := &c.items[c.pos]
				c.pos++
				w.n++
				w.item = it // a panic in fn fails this item
				v, keep, err := fn(ctx, it.Input, it.Value)
				switch {
				case err != nil:
					w.Fail(it.Input, 1, err)
				case !keep:
					w.item = nil
					w.dropped++
				default:
					w.item = nil
					e.buf = append(e.buf, Item[S, Out]{Input: it.Input, Value: v})
					e.done++
					e.emitted++
					if len(e.buf) >= e.want || e.early && e.unchecked+1 >= e.checkEvery && e.due() {
						e.flush()
					} else {
						e.unchecked++
					}
				}
			}
		}
		it, ok := w.Next()
		if !ok {
			return
		}
		v, keep, err := fn(ctx, it.Input, it.Value)
		n := w.Units(it)
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

// eachInPlace is Each's loop for a private chunk received from another
// stage when the stage's output items have the input's type: the outputs
// are written over the inputs already read, and the chunk, once gone
// through, is handed on as it is, where a copy would write every item to
// memory the next stage's core holds. If the chunk stops being private (a
// sibling asks for a share) or the run halts, what was written so far is
// copied to the emitter and the chunk goes on as usual.
func eachInPlace[S, In, Out any](w *Worker[S, In, S, Out], c *Chunk[S, In], fn Func[S, In, Out]) {
	ctx, e := w.ctx, w.em
	out := any(c.items).([]Item[S, Out]) // In is Out (see Attach)
	j := w.ipj
	for c.pos < len(c.items) && c.mode.Load() == chunkPrivate && !w.r.halted.Load() {
		it := &c.items[c.pos]
		c.pos++
		w.n++
		w.item = it // a panic in fn fails this item
		w.ipj = j   // and Each, called again, goes on from here
		v, keep, err := fn(ctx, it.Input, it.Value)
		switch {
		case err != nil:
			w.Fail(it.Input, 1, err)
		case !keep:
			w.item = nil
			w.dropped++
		default:
			w.item = nil
			out[j] = Item[S, Out]{Input: it.Input, Value: v}
			j++
		}
	}
	w.ipj = 0
	e.done += int64(j)
	e.emitted += int64(j)
	if c.pos == len(c.items) && c.mode.Load() == chunkPrivate && len(e.buf) == 0 {
		c.forwarded = true // the chunk is the next stage's now
		spare := e.buf
		e.buf = out[:j]
		e.flush()
		if cap(spare) > 0 && cap(e.buf) == 0 {
			e.buf = spare[:0]
		}
		return
	}
	e.buf = append(e.buf, out[:j]...)
}
