package stage

import (
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
)

// Merge returns a stage that hands on the items of every stream in ins as
// they arrive: a fan-in of several streams of the same types, all from the
// same pipeline. Each input is read by a worker of its own, so a slow input
// never holds back a fast one; the order across inputs is the order of
// arrival, and each input's own order is kept. The merged total is the sum
// of the inputs' totals. Options: WithName. It panics if ins is empty or an
// input is nil, already consumed or from another pipeline.
func Merge[S, T any](ins []*pipeline.Stream[S, T], opts ...Option) *pipeline.Stream[S, T] {
	if len(ins) == 0 {
		panic("stage: Merge: no stream to merge")
	}
	c := newConfig("Merge", optName, opts)
	c.workers = len(ins)
	sp := spec[S, T, T](c, nil, engine.KindMerge, engine.OneToOne, false)
	return engine.Attach(ins, sp, engine.OperatorFunc[S, T, S, T](forward[S, T]))
}

// forward hands every item on unchanged.
func forward[S, T any](w *engine.Worker[S, T, S, T]) {
	for {
		it, ok := w.Next()
		if !ok {
			return
		}
		w.Emit(*it, w.Units(it))
	}
}
