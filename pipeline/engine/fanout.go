package engine

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// The kinds of the fan-out stages.
const (
	KindTee       Kind = "tee"       // hands every item to each of several outputs
	KindPartition Kind = "partition" // hands each item to one of several outputs
)

// Tee adds a stage that hands every item of in, and every failure record,
// to each of n outputs, and returns the outputs: a stream with several
// consumers. One goroutine reads in and hands each chunk it takes to every
// output in turn, so the items reach each output in the order in which they
// reached the tee, and the tee blocks while any output's edge is full: the
// slowest consumer sets the pace, and what waits between the tee and each
// consumer is bounded like any edge.
//
// The tee has one [Stage] record per output, named name followed by "/1",
// "/2", ... (name empty: "tee"): each counts every
// item that entered the tee, and the items handed to its output (Out) or
// not handed on because the run was cancelled or the output's sink stopped
// early (Cancelled), so that each branch takes in exactly what its record
// emitted. A record's time split counts the time the tee waited on its own
// output as blocked and the time it waited on the others as idle: the
// record of the slowest branch reads blocked.
//
// Every output must be consumed before the pipeline runs; with several
// sinks the pipeline is run by [Run]. It panics with a "pipeline:" message
// if in is nil or already consumed, the pipeline has run, or n is less than
// 1.
func Tee[S, T any](in *Stream[S, T], name string, n int) []*Stream[S, T] {
	in.check("Tee")
	if n < 1 {
		panic(fmt.Sprintf("pipeline: Tee: %d outputs; a tee needs at least 1", n))
	}
	p := in.p
	p.mustBuild("Tee")
	if name == "" {
		name = string(KindTee)
	}
	sts := make([]*Stage, n)
	for k := range sts {
		sts[k] = p.newStage(fmt.Sprintf("%s/%d", name, k+1), KindTee, OneToOne, 1, -1, []*Stage{in.from})
		p.fan.branches[sts[k]] = new(atomic.Bool)
	}
	return fanout(in, sts, n, nil)
}

// partition adds a stage that hands each item of in to one of n outputs:
// the one route returns for it, from 0 to n-1. One goroutine reads in and
// routes the items, so the items of each output keep the order in which
// they reached the stage. An item for which route panics or returns a
// number out of range fails with its input. Failure records of items that
// failed upstream go to output 0. The stage has one [Stage] record, whose
// Emitted counts the items of every output: the outputs must be read by
// one stage (see [AttachKeyed]), which counts it as one upstream. It blocks
// while the output an item goes to is full.
func partition[S, T any](in *Stream[S, T], name string, n int, route func(input S, v T) int) []*Stream[S, T] {
	in.check("AttachKeyed")
	if route == nil {
		panic("pipeline: AttachKeyed: route function is nil")
	}
	st := in.p.newStage(name, KindPartition, OneToOne, 1, -1, []*Stage{in.from})
	return fanout(in, []*Stage{st}, n, route)
}

// fanout attaches the goroutine of a tee (one record per output, route
// nil) or of a partition (one record) to in and returns its n outputs.
func fanout[S, T any](in *Stream[S, T], sts []*Stage, n int, route func(S, T) int) []*Stream[S, T] {
	p := in.p
	f := &fanoutOp[S, T]{sts: sts, route: route, units: in.units, outs: make([]*Stream[S, T], n),
		weigh: make([]func(T) int64, n), last: make([]atomic.Pointer[Item[S, T]], n)}
	f.in = in.attach(sts[0], nil)
	for k := range n {
		st := sts[min(k, len(sts)-1)]
		out := newStream[S, T](p, st)
		out.producers = 1
		out.units = in.units
		out.onAttach = append(out.onAttach, func() {
			f.weigh[k] = out.weigh
			describeLast(st, out.describe, &f.last[k])
		})
		f.outs[k] = out
	}
	var feeds []*Stage
	if in.sourceless {
		feeds = append(feeds, in.from)
	}
	// The records of a tee finish together, with the first, when its
	// goroutine exits.
	feeds = append(feeds, sts[1:]...)
	p.starts = append(p.starts, func(r *run) {
		closers := make([]func(), n)
		for k, out := range f.outs {
			closers[k] = out.out.close
		}
		goStage(r, sts[0], 1, func(int) { f.run(r) }, closers, feeds)
	})
	return f.outs
}

// fanoutOp is the goroutine of a tee or a partition.
type fanoutOp[S, T any] struct {
	sts   []*Stage
	in    inlet[S, T]
	outs  []*Stream[S, T]
	ems   []emitter[S, T]
	route func(S, T) int
	units func(S) int64
	weigh []func(T) int64
	last  []atomic.Pointer[Item[S, T]]
	r     *run

	cost   int64 // ns per item
	idleAt int64 // clock() when the goroutine began to wait for input, or 0
}

func (f *fanoutOp[S, T]) run(r *run) {
	f.r = r
	f.ems = make([]emitter[S, T], len(f.outs))
	for k := range f.ems {
		f.ems[k].init(r, f.outs[k])
	}
	var buf []Item[S, T]
	for {
		chunk, ok := f.in.next(r, &buf, r.p.chunkWant(f.cost, f.cost), f)
		start := clock()
		if f.idleAt != 0 {
			for _, st := range f.sts {
				st.m.idle.Add(max(start-f.idleAt, 0))
			}
			f.idleAt = 0
		}
		if !ok {
			break
		}
		var n int64
		if f.route == nil {
			n = f.tee(chunk)
		} else {
			n = f.partition(chunk)
		}
		f.in.release(chunk)
		el := clock() - start
		f.account(el)
		if n > 0 {
			f.cost = ewma(f.cost, max(el/n, 1))
			for k := range f.ems {
				f.ems[k].retarget(f.cost)
			}
		}
	}
	for k := range f.ems {
		f.ems[k].flush()
	}
	f.account(0)
}

// account adds the time of a chunk, el, to the records' meters, with the
// time blocked on each output: blocked for its own record, idle for the
// others' (a tee), blocked for the one record of a partition.
func (f *fanoutOp[S, T]) account(el int64) {
	var total int64
	for k := range f.ems {
		total += f.ems[k].blocked
	}
	for k, st := range f.sts {
		blocked := total // a partition's one record
		if len(f.sts) > 1 {
			blocked = f.ems[k].blocked
			st.m.idle.Add(total - blocked)
		}
		st.m.blocked.Add(blocked)
		st.m.busy.Add(max(el-total, 0))
	}
	for k := range f.ems {
		f.ems[k].blocked = 0
	}
}

// idle is called before the input blocks: what the outputs hold goes on.
func (f *fanoutOp[S, T]) idle() {
	for k := range f.ems {
		f.ems[k].flush()
	}
	f.idleAt = clock()
}

func (f *fanoutOp[S, T]) wake() <-chan time.Time { return nil }

// tee hands chunk to every output that still wants items and returns the
// number of pipeline items in it.
func (f *fanoutOp[S, T]) tee(chunk []Item[S, T]) int64 {
	var n int64
	plain := f.units == nil // one pipeline item each, no failure record
	for i := range chunk {
		if chunk[i].Err == nil {
			n += unitsOf(f.units, &chunk[i])
		} else {
			plain = false
		}
	}
	stopping := f.r.stopping()
	if stopping {
		keepFailures(f.r, chunk)
	}
	for k := range f.ems {
		st := f.sts[k]
		st.m.in.Add(n)
		if stopping || f.r.p.fan.branches[st].Load() { // or its branch's sink stopped early
			st.m.cancelled.Add(n)
			continue
		}
		e, weigh := &f.ems[k], f.weigh[k]
		if plain && weigh == nil && st.desc == nil {
			putAll(e, chunk)
			continue
		}
		var weight int64
		var last *Item[S, T]
		for i := range chunk {
			it := chunk[i]
			if it.Err != nil {
				e.putFailed(it)
				continue
			}
			if weigh != nil {
				weight += weigh(it.Value)
			}
			last = e.put(it, unitsOf(f.units, &it))
		}
		if weight != 0 {
			st.m.weight.Add(weight)
		}
		if last != nil && st.desc != nil {
			f.last[k].Store(last)
		}
	}
	return n
}

// putAll hands on every item of chunk, each one pipeline item with no
// weight or description, copying runs of them into e's buffer at once.
func putAll[S, T any](e *emitter[S, T], chunk []Item[S, T]) {
	for len(chunk) > 0 {
		take := min(max(e.want-len(e.buf), 1), len(chunk))
		e.buf = append(e.buf, chunk[:take]...)
		e.done += int64(take)
		e.emitted += int64(take)
		chunk = chunk[take:]
		if len(e.buf) >= e.want || e.early && e.due() {
			e.flush()
		}
	}
}

// partition routes each item of chunk to its output and returns the number
// of pipeline items in it.
func (f *fanoutOp[S, T]) partition(chunk []Item[S, T]) int64 {
	st := f.sts[0]
	var n, failed, cancelled, weight int64
	for i := range chunk {
		it := chunk[i]
		if it.Err != nil {
			if f.r.stopping() {
				keepFailures(f.r, chunk[i:i+1])
			} else {
				f.ems[0].putFailed(it)
			}
			continue
		}
		u := unitsOf(f.units, &it)
		n += u
		if f.r.stopping() {
			cancelled += u
			continue
		}
		k, err := f.routeOf(&it)
		if err != nil {
			failed += u
			ie := &ItemError[S]{Input: it.Input, Stage: st.name, Err: err}
			if f.r.p.cfg.ContinueOnError {
				f.ems[0].putFailed(Item[S, T]{Input: it.Input, Err: ie})
			} else {
				f.r.fail(ie)
			}
			continue
		}
		if w := f.weigh[k]; w != nil {
			weight += w(it.Value)
		}
		last := f.ems[k].put(it, u)
		if st.desc != nil {
			f.last[k].Store(last)
		}
	}
	st.m.in.Add(n)
	st.m.failed.Add(failed)
	st.m.cancelled.Add(cancelled)
	st.m.weight.Add(weight)
	return n
}

// routeOf returns the output of it, or the error of a route that panicked
// or returned a number out of range.
func (f *fanoutOp[S, T]) routeOf(it *Item[S, T]) (k int, err error) {
	if pe := Catch(func() { k = f.route(it.Input, it.Value) }); pe != nil {
		return 0, pe
	}
	if k < 0 || k >= len(f.outs) {
		return 0, fmt.Errorf("pipeline: route returned %d for %d outputs", k, len(f.outs))
	}
	return k, nil
}

// fanInfo is what a pipeline knows of its tees and of the sinks run by
// [Run].
type fanInfo struct {
	// branches holds, for each record of a tee, whether the sink of its
	// branch stopped early: the tee then hands that branch nothing more.
	branches map[*Stage]*atomic.Bool
	later    []func(context.Context) error
	gather   *gathering
}

// AttachKeyed adds a stage whose spec.Workers workers each read their own
// share of in: route gives the worker (0 to spec.Workers-1) of every item,
// a partition stage hands the items on, and worker k reads only the
// items routed to it, in the order they reached the partition, one at a
// time (no item is shared with another worker). A stage with per-key state
// (route hashes a key) is built on it. It returns the stage's output; the
// partition is a stage of its own, named spec.Name followed by "/keys"
// (spec.Name empty: "keys"). An item for which route panics or
// returns a number out of range fails there, with its input; failure
// records of items that failed upstream pass through it. It panics with a
// "pipeline:" message if route is nil, spec.Workers is less than 1, and as
// [Attach] does.
func AttachKeyed[S, I, O any](in *Stream[S, I], route func(input S, v I) int, spec Spec[S, I, S, O], op Operator[S, I, S, O]) *Stream[S, O] {
	if spec.Workers < 1 {
		panic(fmt.Sprintf("pipeline: stage %q: worker count %d is less than 1", spec.Name, spec.Workers))
	}
	name := "keys"
	if spec.Name != "" {
		name = spec.Name + "/keys"
	}
	parts := partition(in, name, spec.Workers, route)
	out := Attach(parts, spec, op)
	// One upstream, counted once: the partition emits each item to one of
	// its outputs.
	out.from.upstreams = out.from.upstreams[:1]
	return out
}
