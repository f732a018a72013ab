package engine

import (
	"context"
	"fmt"
	"reflect"
	"sync/atomic"
)

// Operator is the work of a stage: Work is called once by each of the
// stage's workers, each on its own goroutine, and returns when
// [Worker.Next] reports the end of the input. It reads items with Next,
// hands on outputs with [Worker.Emit] and accounts for every item it took
// (see [Worker]). The engine does the rest: chunking, sharing slow items
// between workers, meters, cancellation, failure records, closing the
// output once every worker has returned.
//
// A panic in Work that the operator does not recover fails the item it was
// working on (the last one Next returned) and Work is called again to go
// on, so that one bad item never takes the stage down.
type Operator[SI, I, SO, O any] interface {
	Work(w *Worker[SI, I, SO, O])
}

// OperatorFunc adapts a function to [Operator].
type OperatorFunc[SI, I, SO, O any] func(w *Worker[SI, I, SO, O])

// Work calls f(w).
func (f OperatorFunc[SI, I, SO, O]) Work(w *Worker[SI, I, SO, O]) { f(w) }

// Spec describes a stage to [Attach].
type Spec[SI, I, SO, O any] struct {
	// Name of the stage; empty means its kind and index ("map1").
	Name string
	// Kind of the stage, for labels and default names.
	Kind Kind
	// Shape says how outputs relate to inputs (see [Shape]).
	Shape Shape
	// Workers is the number of goroutines running the operator; at least
	// the number of inputs (worker i reads input i modulo their number).
	Workers int
	// Ordered makes the stage hand on the outputs of each chunk in the
	// order its chunks were taken: with one input and items handed on one
	// to one, input order. Items are then not shared between workers.
	Ordered bool
	// Window bounds, for an ordered stage, how many chunks may be taken
	// ahead of the oldest unfinished one; 0 means 4 × Workers.
	Window int
	// Unit names what the stage's weight counts ([AddWeight]); a weight
	// function set with [Stream.Weigh] on the output sets it too.
	Unit Unit
	// OnFailed, when set, is called for each item that failed in an
	// earlier stage and passes through this one (under continue-on-error),
	// from the stage's goroutines. If it panics, the item still counts as
	// failed where it first failed, and its error joins the panic.
	OnFailed func(input SI, err error)
	// Failure hands on, with out, the failure records for an item with
	// pipeline input input that failed (here or upstream) with err; nil
	// means SO is SI and one record keeps the input.
	Failure func(input SI, err error, out func(Item[SO, O]))
	// Units gives the number of pipeline items an output stands for (a
	// batch: its size); nil means the input's when SO is SI (so a map
	// after a batch counts the batch's items), else one.
	Units func(SO) int64
}

// opState is what a stage's workers share: its spec and what the output
// stream says once it has a consumer.
type opState[SI, I, SO, O any] struct {
	Spec[SI, I, SO, O]
	inputs   int
	outUnits func(SO) int64
	weigh    func(O) int64
	describe func(SO, O) string
	last     atomic.Pointer[Item[SO, O]]
}

func (spec *opState[SI, I, SO, O]) failure(input SI, err error, out func(Item[SO, O])) {
	if spec.Failure != nil {
		spec.Failure(input, err, out)
		return
	}
	out(Item[SO, O]{Input: any(input).(SO), Err: err})
}

// Attach adds a stage that runs op on the items of ins with spec.Workers
// goroutines, and returns the stage's output. The streams must belong to
// one pipeline and have no consumer yet. It panics at build time, with a
// "pipeline:" message, if ins is empty, a stream is nil or already
// consumed, op is nil, spec.Workers is less than the number of inputs,
// spec.Window is negative, or spec.Failure is nil while SO is not SI.
func Attach[SI, I, SO, O any](ins []*Stream[SI, I], spec Spec[SI, I, SO, O], op Operator[SI, I, SO, O]) *Stream[SO, O] {
	name := spec.Name
	if name == "" {
		name = spec.Kind.String()
	}
	if len(ins) == 0 {
		panic(fmt.Sprintf("pipeline: stage %q: no input", name))
	}
	for _, in := range ins {
		in.check("stage " + name)
		if in.p != ins[0].p {
			panic(fmt.Sprintf("pipeline: stage %q: its inputs belong to different pipelines", name))
		}
	}
	if op == nil || reflect.ValueOf(op).Kind() == reflect.Func && reflect.ValueOf(op).IsNil() {
		panic(fmt.Sprintf("pipeline: stage %q: function is nil", name))
	}
	if spec.Workers < len(ins) {
		panic(fmt.Sprintf("pipeline: stage %q: %d workers for %d inputs; each input needs a worker", name, spec.Workers, len(ins)))
	}
	if spec.Window < 0 {
		panic(fmt.Sprintf("pipeline: stage %q: window %d is negative", name, spec.Window))
	}
	same := reflect.TypeFor[SI]() == reflect.TypeFor[SO]()
	if spec.Failure == nil && !same {
		panic(fmt.Sprintf("pipeline: stage %q: the pipeline input changes from %v to %v but Spec.Failure is nil", name, reflect.TypeFor[SI](), reflect.TypeFor[SO]()))
	}
	p := ins[0].p
	ups := make([]*Stage, len(ins))
	for i, in := range ins {
		ups[i] = in.from
	}
	st := p.newStage(spec.Name, spec.Kind, spec.Shape, spec.Workers, -1, ups)
	st.unit = spec.Unit
	sp := &opState[SI, I, SO, O]{Spec: spec, inputs: len(ins)}
	boxes := make([]*inbox[SI, I], len(ins))
	var feeds []*Stage
	for k, in := range ins {
		readers := (spec.Workers - k + len(ins) - 1) / len(ins)
		boxes[k] = &inbox[SI, I]{
			s:       in,
			in:      in.attach(st, nil),
			share:   !p.knobs.NoShare && !spec.Ordered,
			slots:   make([]atomic.Pointer[Chunk[SI, I]], readers),
			settled: make(chan struct{}),
		}
		boxes[k].running.Store(int32(readers))
		if in.sourceless {
			feeds = append(feeds, in.from)
		}
	}
	out := newStream[SO, O](p, st)
	out.producers = spec.Workers
	switch {
	case spec.Units != nil:
		out.units = spec.Units
	case same && ins[0].units != nil:
		out.units = any(ins[0].units).(func(SO) int64)
	}
	sp.outUnits = out.units
	out.onAttach = append(out.onAttach, func() {
		sp.weigh, sp.describe = out.weigh, out.describe
		describeLast(st, out.describe, &sp.last)
	})
	p.starts = append(p.starts, func(r *run) {
		ctx := context.WithValue(r.ctx, stageKey{}, st)
		workers := make([]*Worker[SI, I, SO, O], spec.Workers)
		var seq *sequencer[SO, O]
		if spec.Ordered {
			seq = newSequencer[SO, O](spec.Window, spec.Workers)
		}
		for i := range workers {
			w := new(Worker[SI, I, SO, O]) // padded off its neighbours' cache lines
			w.r, w.st, w.ctx, w.id, w.spec = r, st, ctx, i, sp
			w.in = boxes[i%len(boxes)]
			w.units = w.in.s.units
			w.seq = seq
			if seq == nil {
				w.emv.init(r, out)
				w.em = &w.emv
			}
			w.plain = seq == nil && sp.weigh == nil && sp.describe == nil && out.units == nil
			workers[i] = w
		}
		n := spec.Workers
		if seq != nil {
			n++ // the sequencer
		}
		goStage(r, st, n, func(i int) {
			if i == spec.Workers {
				seq.run(r, out)
				return
			}
			w := workers[i]
			if seq != nil {
				defer seq.exit()
			}
			w.run(op)
		}, []func(){out.out.close}, feeds)
	})
	return out
}

// run calls op.Work until the input has ended, turning a panic into the
// failure of the item being worked on.
func (w *Worker[SI, I, SO, O]) run(op Operator[SI, I, SO, O]) {
	for w.runOnce(op) {
	}
	w.finish()
}

func (w *Worker[SI, I, SO, O]) runOnce(op Operator[SI, I, SO, O]) (again bool) {
	defer func() {
		if v := recover(); v != nil {
			pe := newPanicError(v)
			if it := w.item; it != nil {
				w.item = nil
				w.Fail(it.Input, w.Units(it), pe)
			} else {
				w.r.runError(fmt.Errorf("pipeline: stage %q: %w", w.st.name, pe))
			}
			again = true
		}
	}()
	op.Work(w)
	return false
}
