package engine

// Flush hands on now the outputs the worker holds, for an operator that
// waits for something other than its input (results coming back from
// elsewhere): Next does it before it blocks, but an operator blocked in its
// own select would otherwise keep them until its next chunk is full. It
// blocks while the next stage is full; after cancellation the outputs are
// counted as cancelled. An ordered stage hands its outputs on per chunk, and
// Flush does nothing there.
func (w *Worker[SI, I, SO, O]) Flush() {
	if w.em != nil {
		w.em.flush()
	}
}
