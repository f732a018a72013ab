package campaign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"pgregory.net/rapid"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
	"github.com/flowbar/flowbar/progress"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// runBound is how long one generated run may take before the campaign calls
// it a deadlock. Runs take milliseconds; the bound is generous for -race on
// a loaded machine.
const runBound = 60 * time.Second

// The kinds of generated things.
var (
	// sourceKinds are the ways a case's items enter: one source, or
	// "merge": two or three sources of these kinds but merge, holding
	// disjoint parts of the input, joined by stage.Merge. "itemfail" is a
	// source whose items may fail there (engine.ItemSource, as stage.Walk,
	// stage.Lines and stage.CSV fail an unreadable entry or a malformed
	// record), with the injected error of position 0.
	sourceKinds = []string{"slice", "chan", "bufchan", "seq", "generate", "seq2", "mapsorted", "itemfail", "merge"}
	partKinds   = sourceKinds[:len(sourceKinds)-1]
	// stageKinds are the stages drawn one by one. "batch" stands for a
	// group: stage.Batch, up to two maps over whole batches ("bmap",
	// "orderedbmap"), then stage.Unbatch. "flatmap" is stage.FlatMap,
	// FlatMapEmit or FlatMapSeq (stageSpec.stream). "keyedmap" stands for
	// stage.MapByKey: its routing stage ("keys", a pass-through) and its map.
	// "filtererr" is stage.FilterErr, "mapwith" stage.MapWith and
	// "retrymap" a stage.Map with WithRetry, WithTimeout and WithRate whose
	// calls fail transiently (retried) before their fault.
	stageKinds  = []string{"map", "orderedmap", "filter", "orderedfilter", "ondone", "flatmap", "batch", "mapbatch", "keyedmap", "filtererr", "mapwith", "retrymap"}
	batchKinds  = []string{"bmap", "orderedbmap"}
	sinkKinds   = []string{"byinput", "bykey", "slice", "foreach", "reduce", "count", "all", "groupby", "countby", "first", "writelines"}
	cancelKinds = []string{"none", "none", "timer", "item", "before"}
)

// fault is what a user function does for one item, a deterministic function
// of (stage position, value) so that the model knows it.
type fault uint8

const (
	fNone fault = iota
	fErr
	fPanic
	fDelay
)

// injected is the error an item's function returns.
type injected struct {
	pos int // stage position: 1 for the first transform, len(stages)+1 for the sink
	v   int64
}

func (e *injected) Error() string {
	return fmt.Sprintf("injected error at stage %d value %d", e.pos, e.v)
}

// panicValue is what an item's function panics with.
type panicValue struct {
	pos int
	v   int64
}

// failedPanic is what an OnDone callback panics with when it is given a
// failure record.
type failedPanic struct {
	pos   int
	input int64
}

// loopPanic is what a range loop's body panics with.
type loopPanicValue struct{ at int }

// errSource is what a generator source returns when it fails.
var errSource = errors.New("injected source error")

// errSourcePanic is what a generator source panics with when it fails.
var errSourcePanic = errors.New("injected source panic")

// isSourceErr reports whether err holds the source's failure: its error,
// or its panic as a *pipeline.PanicError.
func isSourceErr(err error) bool {
	found := false
	walkErrs(err, func(e error) {
		if errors.Is(e, errSource) {
			found = true
		}
		var pe *pipeline.PanicError
		if !isItemErr(e) && errors.As(e, &pe) && pe.Value == errSourcePanic && len(pe.Stack) > 0 {
			found = true
		}
	})
	return found
}

// isItemErr reports whether e is the error of an item: of one input, or of
// a batch of inputs (a map over batches failed).
func isItemErr(e error) bool {
	switch e.(type) {
	case *pipeline.ItemError[int64], *pipeline.ItemError[[]int64]:
		return true
	}
	return false
}

// errCancel is the cause with which the campaign cancels a run's context.
var errCancel = errors.New("injected cancellation")

type stageSpec struct {
	kind    string
	workers int
	window  int   // 0: default
	add     int64 // a map adds this to the value (injective)
	dropPct int   // a filter or flat-map drops about this percentage
	// weighted stages count a weight per result (weightOf) and describe
	// their last result.
	weighted bool
	// flatmap: an item becomes 1 to fan outputs; output j is
	// v + add + j<<shift, distinct for every flat-map of the case.
	fan, shift int
	// stream: the flat-map is stage.FlatMap (0), FlatMapEmit (1) or
	// FlatMapSeq (2).
	stream int
	// batch, mapbatch: the batch size and the wait before a partial batch
	// goes on.
	size    int
	maxWait time.Duration
	// faulty maps over batches raise faults, keyed by the batch's first
	// value: only where the model knows how items are batched (batches of
	// one, or batches that only fill up, after an ordered chain from one
	// source). On a batch, it says that the model knows that. A mapbatch
	// raises faults, keyed by its batches' first values, where the model
	// knows its batches: batches of one, or one worker filling only full
	// batches in the model's order.
	faulty bool
}

func (s stageSpec) ordered() bool {
	switch s.kind {
	case "orderedmap", "orderedfilter", "ondone", "batch", "orderedbmap", "keys":
		return true
	}
	return s.workers == 1
}

// partSpec is one source of a case: the only one, or one of a merge's.
type partSpec struct {
	kind     string
	xs       []int64 // the values it holds, in order
	genErrAt int     // generate: return errSource after this many items; -1 never
	genPanic bool    // generate: panic with errSourcePanic instead of returning errSource
}

// emits is what the source emits when it runs to its end.
func (pt partSpec) emits() []int64 {
	if pt.genErrAt >= 0 {
		return pt.xs[:pt.genErrAt]
	}
	return pt.xs
}

// spec is one generated case.
type spec struct {
	n          int
	source     string
	parts      []partSpec
	stages     []stageSpec
	sink       string
	cont       bool // ContinueOnError
	chunk      int  // WithChunkSize; 0 default
	seed       uint64
	errPM      int // per-mille chance of an error per (stage, item)
	panicPM    int
	delayPM    int
	blockPM    int // per-mille chance that a map's call blocks until the run is cancelled
	cancel     string
	cancelAt   int // timer: µs; item: number of function calls
	stopAfter  int // consumer stops after this many results; -1 never
	slowSink   bool
	sinkFaults bool // the sink's function fails too (foreach)
	failedPM   int  // per-mille chance that an OnDone callback panics on a failure record
	loopPanic  int  // a range loop's body panics at this result; 0 never
	progress   int  // 0: no progress board; 1: plain lines; 2: live bars
	srcWeight  bool // the sources count a weight per item
}

// genErr reports whether a source of the case fails.
func (c *spec) genErr() bool {
	for _, pt := range c.parts {
		if pt.genErrAt >= 0 {
			return true
		}
	}
	return false
}

// weightOf is the weight of a value in weighted stages.
func weightOf(v int64) int64 { return v%7 + 1 }

// weightOfAll is the weight of a batch in weighted stages.
func weightOfAll(vs []int64) int64 {
	var w int64
	for _, v := range vs {
		w += weightOf(v)
	}
	return w
}

func (c *spec) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "n=%d source=%s", c.n, c.source)
	if c.source == "merge" {
		b.WriteString("(")
		for i, pt := range c.parts {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "%s:%d", pt.kind, len(pt.xs))
			if len(pt.xs) > 0 {
				fmt.Fprintf(&b, "[%d..%d]", pt.xs[0], pt.xs[len(pt.xs)-1])
			}
			if pt.genErrAt >= 0 {
				fmt.Fprintf(&b, "(err@%d)", pt.genErrAt)
			}
		}
		b.WriteString(")")
	} else if pt := c.parts[0]; pt.genErrAt >= 0 {
		fmt.Fprintf(&b, "(err@%d)", pt.genErrAt)
	}
	for _, s := range c.stages {
		fmt.Fprintf(&b, " -> %s(w=%d", s.kind, s.workers)
		if s.window > 0 {
			fmt.Fprintf(&b, ",win=%d", s.window)
		}
		switch s.kind {
		case "flatmap":
			fmt.Fprintf(&b, ",fan=%d,drop=%d%%,stream=%d", s.fan, s.dropPct, s.stream)
		case "mapbatch":
			fmt.Fprintf(&b, ",size=%d,wait=%v,faulty=%v", s.size, s.maxWait, s.faulty)
		case "filter", "orderedfilter", "filtererr":
			fmt.Fprintf(&b, ",drop=%d%%", s.dropPct)
		case "batch":
			fmt.Fprintf(&b, ",size=%d,wait=%v,known=%v", s.size, s.maxWait, s.faulty)
		case "bmap", "orderedbmap":
			fmt.Fprintf(&b, ",faulty=%v", s.faulty)
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, " -> %s cont=%v chunk=%d err=%d‰ panic=%d‰ delay=%d‰ block=%d‰ cancel=%s@%d stop=%d slow=%v sinkfaults=%v failedpanic=%d‰ looppanic=%d progress=%d",
		c.sink, c.cont, c.chunk, c.errPM, c.panicPM, c.delayPM, c.blockPM, c.cancel, c.cancelAt, c.stopAfter, c.slowSink, c.sinkFaults, c.failedPM, c.loopPanic, c.progress)
	return b.String()
}

func genSpec(t *rapid.T) *spec {
	c := &spec{
		n:      rapid.IntRange(0, 300).Draw(t, "n"),
		source: rapid.SampledFrom(sourceKinds).Draw(t, "source"),
		sink:   rapid.SampledFrom(sinkKinds).Draw(t, "sink"),
		cont:   rapid.Bool().Draw(t, "continue"),
		seed:   rapid.Uint64().Draw(t, "seed"),
		cancel: rapid.SampledFrom(cancelKinds).Draw(t, "cancel"),
	}
	if rapid.IntRange(0, 9).Draw(t, "big") == 0 {
		c.n = rapid.IntRange(300, 5000).Draw(t, "bigN") // chunks of hundreds of items
	}
	if rapid.IntRange(0, 3).Draw(t, "chunked") == 0 {
		c.chunk = rapid.SampledFrom([]int{1, 2, 7, 64}).Draw(t, "chunk")
	}
	c.parts = genParts(t, c)
	for range rapid.IntRange(1, 5).Draw(t, "stages") {
		kind := rapid.SampledFrom(stageKinds).Draw(t, "kind")
		if kind == "batch" {
			c.genBatch(t)
			continue
		}
		if kind == "keyedmap" {
			c.stages = append(c.stages, stageSpec{kind: "keys", workers: 1})
		}
		c.stages = append(c.stages, c.genStage(t, kind))
	}
	// Faults: often none, sometimes rare, sometimes many.
	levels := []int{0, 0, 2, 10, 50, 200}
	c.errPM = rapid.SampledFrom(levels).Draw(t, "errPM")
	c.panicPM = rapid.SampledFrom(levels).Draw(t, "panicPM")
	c.delayPM = rapid.SampledFrom([]int{0, 0, 10, 100}).Draw(t, "delayPM")
	if c.cancel == "timer" || c.cancel == "before" {
		// Only a cancellation that comes whatever happens ends such a call.
		c.blockPM = rapid.SampledFrom([]int{0, 5, 50}).Draw(t, "blockPM")
	}
	switch c.cancel {
	case "timer":
		c.cancelAt = rapid.IntRange(0, 3000).Draw(t, "cancelAtMicros")
	case "item":
		c.cancelAt = rapid.IntRange(0, c.n*len(c.stages)).Draw(t, "cancelAtCall")
	}
	c.stopAfter = -1
	if (c.sink == "foreach" || c.sink == "all" || c.sink == "first") && rapid.IntRange(0, 3).Draw(t, "stops") == 0 {
		c.stopAfter = rapid.IntRange(1, max(1, c.n)).Draw(t, "stopAfter")
	}
	c.slowSink = rapid.IntRange(0, 5).Draw(t, "slow") == 0
	c.sinkFaults = c.sink == "foreach" && rapid.Bool().Draw(t, "sinkFaults")
	if c.cont && rapid.IntRange(0, 3).Draw(t, "failedPanics") == 0 {
		c.failedPM = rapid.SampledFrom([]int{100, 500, 1000}).Draw(t, "failedPM")
	}
	c.progress = rapid.IntRange(0, 2).Draw(t, "progress")
	c.srcWeight = rapid.IntRange(0, 3).Draw(t, "srcWeight") == 0
	if c.sink == "all" && rapid.IntRange(0, 5).Draw(t, "loopPanics") == 0 {
		c.loopPanic = rapid.IntRange(1, max(1, c.n)).Draw(t, "loopPanic")
	}
	return c
}

// genParts draws the sources: one holding 0..n-1, or, for a merge, two or
// three holding disjoint parts of it, as ranges or interleaved.
func genParts(t *rapid.T, c *spec) []partSpec {
	genPart := func(kind string, xs []int64) partSpec {
		pt := partSpec{kind: kind, xs: xs, genErrAt: -1}
		if kind == "generate" && rapid.IntRange(0, 4).Draw(t, "generrs") == 0 {
			pt.genErrAt = rapid.IntRange(0, len(xs)).Draw(t, "genErrAt")
			pt.genPanic = rapid.Bool().Draw(t, "genPanic")
		}
		return pt
	}
	all := make([]int64, c.n)
	for i := range all {
		all[i] = int64(i)
	}
	if c.source != "merge" {
		return []partSpec{genPart(c.source, all)}
	}
	k := rapid.IntRange(2, 3).Draw(t, "parts")
	split := make([][]int64, k)
	if rapid.Bool().Draw(t, "interleaved") {
		for _, x := range all {
			split[x%int64(k)] = append(split[x%int64(k)], x)
		}
	} else {
		cuts := []int{0}
		for range k - 1 {
			cuts = append(cuts, rapid.IntRange(0, c.n).Draw(t, "cut"))
		}
		cuts = append(cuts, c.n)
		slices.Sort(cuts)
		for i := range k {
			split[i] = all[cuts[i]:cuts[i+1]]
		}
	}
	parts := make([]partSpec, k)
	for i := range k {
		parts[i] = genPart(rapid.SampledFrom(partKinds).Draw(t, "partKind"), split[i])
	}
	return parts
}

// genStage draws the stage of the given kind at the next position.
func (c *spec) genStage(t *rapid.T, kind string) stageSpec {
	pos := len(c.stages) + 1
	s := stageSpec{
		kind:    kind,
		workers: rapid.IntRange(1, 8).Draw(t, "workers"),
		add:     int64(pos) << 20,
	}
	if s.kind == "ondone" {
		s.workers = 1
	}
	if strings.HasPrefix(s.kind, "ordered") && rapid.Bool().Draw(t, "windowed") {
		s.window = rapid.IntRange(1, 4).Draw(t, "window")
	}
	s.weighted = rapid.IntRange(0, 3).Draw(t, "weighted") == 0
	if strings.HasSuffix(s.kind, "filter") || s.kind == "flatmap" || s.kind == "filtererr" {
		s.dropPct = rapid.IntRange(0, 60).Draw(t, "dropPct")
	}
	if s.kind == "flatmap" {
		s.fan = rapid.SampledFrom([]int{1, 2, 3}).Draw(t, "fan")
		flat := 0
		for _, o := range c.stages {
			if o.kind == "flatmap" {
				flat++
			}
		}
		s.shift = 34 + 3*flat // at most five: up to bit 48
		s.stream = rapid.IntRange(0, 2).Draw(t, "stream")
	}
	if s.kind == "mapbatch" {
		if rapid.Bool().Draw(t, "oneWorker") {
			s.workers = 1
		}
		s.size = rapid.SampledFrom([]int{1, 3, 16, 64}).Draw(t, "batchSize")
		s.maxWait = rapid.SampledFrom([]time.Duration{0, 0, 20 * time.Microsecond, time.Millisecond}).Draw(t, "maxWait")
		inOrder := c.source != "merge"
		for _, o := range c.stages {
			inOrder = inOrder && o.ordered()
		}
		s.faulty = s.size == 1 || s.workers == 1 && s.maxWait == 0 && inOrder
	}
	return s
}

// genBatch draws a batch, up to two maps over whole batches and the unbatch.
func (c *spec) genBatch(t *rapid.T) {
	b := stageSpec{
		kind:    "batch",
		workers: 1,
		size:    rapid.SampledFrom([]int{1, 3, 16, 64}).Draw(t, "batchSize"),
		maxWait: rapid.SampledFrom([]time.Duration{0, 0, 20 * time.Microsecond, time.Millisecond}).Draw(t, "maxWait"),
	}
	b.weighted = rapid.IntRange(0, 3).Draw(t, "weighted") == 0
	// The model knows which items a batch holds when batches hold one item,
	// or when they only fill up (no wait) with items arriving in the
	// model's order.
	inOrder := c.source != "merge"
	for _, s := range c.stages {
		inOrder = inOrder && s.ordered()
	}
	b.faulty = b.size == 1 || b.maxWait == 0 && inOrder
	c.stages = append(c.stages, b)
	for range rapid.IntRange(0, 2).Draw(t, "batchMaps") {
		s := c.genStage(t, rapid.SampledFrom(batchKinds).Draw(t, "batchKind"))
		s.faulty = b.faulty
		c.stages = append(c.stages, s)
	}
	c.stages = append(c.stages, c.genStage(t, "unbatch"))
}

// hash mixes the case's seed with a stage position and a value (splitmix64).
func (c *spec) hash(salt uint64, pos int, v int64) uint64 {
	z := c.seed ^ salt*0x9e3779b97f4a7c15 ^ uint64(pos)*0xbf58476d1ce4e5b9 ^ uint64(v)*0x94d049bb133111eb
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// faultAt is the fault of the function of the stage at position pos (1 for
// the first transform, len(stages)+1 for the sink) for value v.
func (c *spec) faultAt(pos int, v int64, canFail bool) fault {
	r := int(c.hash(1, pos, v) % 1000)
	switch {
	case r < c.errPM:
		if canFail {
			return fErr
		}
		return fNone
	case r < c.errPM+c.panicPM:
		return fPanic
	case r < c.errPM+c.panicPM+c.delayPM:
		return fDelay
	}
	return fNone
}

// blocks reports whether the map at pos blocks on value v until the run is
// cancelled, then returns the cancellation.
func (c *spec) blocks(pos int, v int64) bool {
	return c.blockPM > 0 && int(c.hash(5, pos, v)%1000) < c.blockPM
}

// failsAtSource reports whether an "itemfail" source fails input x.
func (c *spec) failsAtSource(x int64) bool { return c.faultAt(0, x, true) == fErr }

func (c *spec) keep(pos int, v int64, pct int) bool { return int(c.hash(2, pos, v)%100) >= pct }

func (c *spec) delay(pos int, v int64) time.Duration {
	return time.Duration(c.hash(3, pos, v)%300) * time.Microsecond
}

// expand is what the flat-map s at pos makes of v: 1 to s.fan values.
func (c *spec) expand(s stageSpec, pos int, v int64) []int64 {
	k := 1 + int(c.hash(6, pos, v)%uint64(s.fan))
	out := make([]int64, k)
	for j := range out {
		out[j] = v + s.add + int64(j)<<s.shift
	}
	return out
}

// leaf is what the model says happens to one item: an input, or one of the
// outputs a flat-map made of it.
type leaf struct {
	input   int64
	part    int   // the source that holds the input
	value   int64 // final value when ok
	ok      bool
	seq     int // ok: place among the successes in the model's order
	dropped int // stage position that dropped it, 0 if none
	failed  int // stage position that failed it, 0 if none
	panic   bool
	faultV  int64 // failed: the value the failing function saw (a batch's first)
	blocked int   // stage position whose call blocks until cancellation, 0 if none
	// atSource: it failed at an "itemfail" source (position 0)
	atSource bool
}

// counts are a stage's meters in the model.
type counts struct{ in, out, emitted, failed, dropped, weight int64 }

// model is the case run sequentially, stage by stage over every item.
type model struct {
	inputs    []int64   // every input the sources emit, ascending
	parts     [][]int64 // by source: the inputs it emits, in order
	partOf    map[int64]int
	srcWeight []int64 // by source
	srcFailed []int64 // by source: items that fail there ("itemfail")
	leaves    []*leaf
	ok        []*leaf         // successes, in the model's order
	stage     map[int]*counts // by position: 1.. transforms, len(stages)+1 the sink
	byValue   map[int64]*leaf // successes by final value (distinct)
	// faults counts the failed leaves by (input, position, value seen).
	faults   map[[3]int64]int64
	byFault  map[[3]int64]*leaf
	leavesOf map[int64]int // leaves per input
	okOf     map[int64]int // successes per input
	failures int64
}

// mitem is an item on its way through the model's stages.
type mitem struct {
	input int64
	v     int64
	batch int // between a batch and its unbatch: the batch it travels in
}

func (c *spec) model() *model {
	m := &model{
		partOf: map[int64]int{}, stage: map[int]*counts{}, byValue: map[int64]*leaf{},
		faults: map[[3]int64]int64{}, byFault: map[[3]int64]*leaf{}, leavesOf: map[int64]int{}, okOf: map[int64]int{},
	}
	var srcFails []int64 // inputs that fail at their source
	for i, pt := range c.parts {
		xs := pt.emits()
		if pt.kind == "itemfail" {
			var ok []int64
			for _, x := range xs {
				if c.failsAtSource(x) {
					srcFails = append(srcFails, x)
				} else {
					ok = append(ok, x)
				}
			}
			m.srcFailed = append(m.srcFailed, int64(len(xs)-len(ok)))
			for _, x := range xs {
				m.partOf[x] = i
			}
			xs = ok
		} else {
			m.srcFailed = append(m.srcFailed, 0)
		}
		m.parts = append(m.parts, xs)
		m.inputs = append(m.inputs, xs...)
		var w int64
		for _, x := range xs {
			m.partOf[x] = i
			w += weightOf(x)
		}
		m.srcWeight = append(m.srcWeight, w)
	}
	slices.Sort(m.inputs)
	items := make([]mitem, len(m.inputs))
	for i, x := range m.inputs {
		items[i] = mitem{input: x, v: x, batch: -1}
	}
	end := func(it mitem, l leaf) {
		l.input, l.part = it.input, m.partOf[it.input]
		m.leaves = append(m.leaves, &l)
		m.leavesOf[it.input]++
		if l.failed > 0 || l.atSource {
			key := [3]int64{l.input, int64(l.failed), l.faultV}
			m.faults[key]++
			m.byFault[key] = &l
			m.failures++
		}
	}
	for _, x := range srcFails {
		end(mitem{input: x, v: x, batch: -1}, leaf{atSource: true, faultV: x})
	}
	// fails returns whether the function at pos fails or blocks on v, and
	// ends it then.
	fails := func(k *counts, it mitem, pos int, v int64, canFail, canBlock bool) bool {
		if canBlock && c.blocks(pos, v) {
			end(it, leaf{blocked: pos})
			return true
		}
		if f := c.faultAt(pos, v, canFail); f == fErr || f == fPanic {
			k.failed++
			end(it, leaf{failed: pos, panic: f == fPanic, faultV: v})
			return true
		}
		return false
	}
	for i, s := range c.stages {
		pos := i + 1
		k := &counts{}
		m.stage[pos] = k
		var next []mitem
		pass := func(it mitem) {
			k.out++
			k.emitted++
			k.weight += weightOf(it.v)
			next = append(next, it)
		}
		switch s.kind {
		case "keys": // MapByKey's routing: every item on, no user function
			for _, it := range items {
				k.in++
				pass(it)
			}
		case "map", "orderedmap", "keyedmap", "mapwith", "retrymap":
			for _, it := range items {
				k.in++
				if !fails(k, it, pos, it.v, true, true) {
					it.v += s.add
					pass(it)
				}
			}
		case "filter", "orderedfilter", "ondone", "filtererr":
			for _, it := range items {
				k.in++
				switch {
				case fails(k, it, pos, it.v, s.kind == "filtererr", s.kind == "filtererr"):
				case s.kind != "ondone" && !c.keep(pos, it.v, s.dropPct):
					k.dropped++
					end(it, leaf{dropped: pos})
				default:
					pass(it)
				}
			}
		case "flatmap":
			for _, it := range items {
				k.in++
				switch {
				case fails(k, it, pos, it.v, true, true):
				case !c.keep(pos, it.v, s.dropPct):
					k.dropped++
					end(it, leaf{dropped: pos})
				default:
					k.out++
					for _, v := range c.expand(s, pos, it.v) {
						k.emitted++
						k.weight += weightOf(v)
						next = append(next, mitem{input: it.input, v: v, batch: -1})
					}
				}
			}
		case "batch":
			for j, it := range items {
				k.in++
				it.batch = j // each its own: the make-up of batches is unknown
				if s.faulty {
					it.batch = j / s.size
				}
				pass(it)
			}
		case "bmap", "orderedbmap":
			for lo := 0; lo < len(items); {
				hi := lo + 1
				for hi < len(items) && items[hi].batch == items[lo].batch {
					hi++
				}
				batch := items[lo:hi]
				lo = hi
				k.in += int64(len(batch))
				v0 := batch[0].v
				if s.faulty && c.blocks(pos, v0) {
					for _, it := range batch {
						end(it, leaf{blocked: pos})
					}
					continue
				}
				if f := c.faultAt(pos, v0, true); s.faulty && (f == fErr || f == fPanic) {
					k.failed += int64(len(batch))
					for _, it := range batch {
						end(it, leaf{failed: pos, panic: f == fPanic, faultV: v0})
					}
					continue
				}
				for _, it := range batch {
					it.v += s.add
					pass(it)
				}
			}
		case "unbatch":
			for _, it := range items {
				k.in++
				it.batch = -1
				pass(it)
			}
		case "mapbatch":
			for lo := 0; lo < len(items); lo += s.size {
				batch := items[lo:min(lo+s.size, len(items))]
				k.in += int64(len(batch))
				v0 := batch[0].v
				if s.faulty && c.blocks(pos, v0) {
					for _, it := range batch {
						end(it, leaf{blocked: pos})
					}
					continue
				}
				if f := c.faultAt(pos, v0, true); s.faulty && (f == fErr || f == fPanic) {
					k.failed += int64(len(batch))
					for _, it := range batch {
						end(it, leaf{failed: pos, panic: f == fPanic, faultV: v0})
					}
					continue
				}
				for _, it := range batch {
					it.v += s.add
					pass(it)
				}
			}
		}
		items = next
	}
	// The sink.
	sinkPos := len(c.stages) + 1
	k := &counts{}
	m.stage[sinkPos] = k
	for _, it := range items {
		k.in++
		if c.sinkFaults && fails(k, it, sinkPos, it.v, true, false) {
			continue
		}
		k.out++
		k.emitted++
		end(it, leaf{ok: true, value: it.v, seq: len(m.ok)})
		l := m.leaves[len(m.leaves)-1]
		m.ok = append(m.ok, l)
		m.byValue[l.value] = l
		m.okOf[l.input]++
	}
	return m
}

// harness holds a run's instrumentation.
type harness struct {
	c      *spec
	cancel context.CancelCauseFunc
	calls  atomic.Int64 // function calls, for cancel=item
	ctx    atomic.Pointer[context.Context]
	// emitAfterCancel says that a generator's emit accepted a value after
	// the run's context was cancelled.
	emitAfterCancel atomic.Bool

	mu     sync.Mutex
	raised map[[2]int64]fault // (pos, value) -> fault raised during the run

	// values and closed count the worker values MapWith stages made and
	// closed.
	values, closed atomic.Int64
}

// errTransient is the error of a retrymap's attempts before the last.
var errTransient = errors.New("injected transient error")

// workerValue is a MapWith worker's value: it fails a call if it is used
// by two goroutines at once or after Close, and counts Close.
type workerValue struct {
	h      *harness
	busy   atomic.Bool
	closed atomic.Bool
}

func (h *harness) setup(context.Context) (*workerValue, error) {
	h.values.Add(1)
	return &workerValue{h: h}, nil
}

// use checks that the value is the caller's alone and still open, and
// holds it until release is called.
func (w *workerValue) use() (release func(), err error) {
	if !w.busy.CompareAndSwap(false, true) {
		return nil, errors.New("a worker value used by two goroutines at once")
	}
	if w.closed.Load() {
		return nil, errors.New("a worker value used after Close")
	}
	return func() { w.busy.Store(false) }, nil
}

func (w *workerValue) Close() error {
	if w.closed.Swap(true) {
		return errors.New("a worker value closed twice")
	}
	w.h.closed.Add(1)
	return nil
}

// call is the prologue of every user function: it counts calls (and cancels
// at the chosen call), keeps a context the functions received, and raises
// the item's fault.
func (h *harness) call(ctx context.Context, pos int, v int64, canFail bool) error {
	// The run's context has no deadline; a retrymap's calls get one of
	// their own (WithTimeout), cancelled when the call returns.
	if _, own := ctx.Deadline(); !own && h.ctx.Load() == nil {
		h.ctx.CompareAndSwap(nil, &ctx)
	}
	if h.c.blocks(pos, v) {
		h.calls.Add(1)
		<-ctx.Done()
		if v%2 == 0 {
			return ctx.Err()
		}
		return context.Cause(ctx)
	}
	return h.raise(pos, v, canFail)
}

// raise is call for functions that receive no context.
func (h *harness) raise(pos int, v int64, canFail bool) error {
	if n := h.calls.Add(1); h.c.cancel == "item" && n == int64(h.c.cancelAt) {
		h.cancel(errCancel)
	}
	switch f := h.c.faultAt(pos, v, canFail); f {
	case fErr, fPanic:
		h.mu.Lock()
		h.raised[[2]int64{int64(pos), v}] = f
		h.mu.Unlock()
		if f == fPanic {
			panic(panicValue{pos, v})
		}
		return &injected{pos, v}
	case fDelay:
		time.Sleep(h.c.delay(pos, v))
	}
	return nil
}

// pace is call for a function whose faults the model could not place (a
// map over batches whose make-up depends on timing): it counts the call and
// may delay it, but never fails.
func (h *harness) pace(pos int, v int64) {
	if n := h.calls.Add(1); h.c.cancel == "item" && n == int64(h.c.cancelAt) {
		h.cancel(errCancel)
	}
	if h.c.faultAt(pos, v, true) == fDelay {
		time.Sleep(h.c.delay(pos, v))
	}
}

// result is what a run delivered.
type result struct {
	pairs     [][2]int64 // (input, value) in arrival order; input -1 when the sink does not tell
	ordered   bool       // pairs are in arrival order
	err       error
	loopErrs  []error // errors yielded by sink.All
	delivered int     // results handed to the user's code
	// counted says that the sink delivered a count, not results.
	counted bool
	// loopPanicked says that the range loop's body panicked and the panic
	// came up the caller's stack.
	loopPanicked bool
}

func TestCampaign(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		c := genSpec(rt)
		rt.Log(c)
		runCase(rt, c)
	})
}

// source builds the source of part pt. It returns the channel of a
// "bufchan" source, whose untaken values the caller checks after the run.
func (h *harness) source(p *pipeline.Pipeline, pt partSpec, feeder *sync.WaitGroup, stopFeeder <-chan struct{}) (*pipeline.Stream[int64, int64], chan int64) {
	xs := pt.xs
	switch pt.kind {
	case "slice":
		return stage.FromSlice(p, xs), nil
	case "chan":
		ch := make(chan int64)
		feeder.Go(func() {
			defer close(ch)
			for _, x := range xs {
				select {
				case ch <- x:
				case <-stopFeeder:
					return
				}
			}
		})
		return stage.FromChan(p, ch), nil
	case "bufchan":
		// A closed channel holding every value: what the run does not
		// take stays in it.
		bufch := make(chan int64, len(xs))
		for _, x := range xs {
			bufch <- x
		}
		close(bufch)
		return stage.FromChan(p, bufch), bufch
	case "seq":
		return stage.FromSeq(p, iter.Seq[int64](slices.Values(xs))), nil
	case "seq2":
		return stage.FromSeq2(p, func(yield func(int64, int64) bool) {
			for _, x := range xs {
				if !yield(x, x) {
					return
				}
			}
		}), nil
	case "mapsorted":
		m := make(map[int64]int64, len(xs))
		for _, x := range xs {
			m[x] = x
		}
		return stage.FromMapSorted(p, m), nil
	case "itemfail":
		return engine.ItemSource(p, engine.SourceSpec{}, func(_ context.Context, emit func(engine.Item[int64, int64]) bool) error {
			for _, x := range xs {
				it := engine.Item[int64, int64]{Input: x, Value: x}
				if h.c.failsAtSource(x) {
					h.mu.Lock()
					h.raised[[2]int64{0, x}] = fErr
					h.mu.Unlock()
					it = engine.Item[int64, int64]{Input: x, Err: &injected{0, x}}
				}
				if !emit(it) {
					return nil
				}
			}
			return nil
		}), nil
	}
	return stage.Generate(p, func(ctx context.Context, emit func(int64) bool) error {
		for i, x := range xs {
			if i == pt.genErrAt {
				if pt.genPanic {
					panic(errSourcePanic)
				}
				return errSource
			}
			wasCancelled := ctx.Err() != nil
			if !emit(x) {
				return ctx.Err()
			}
			if wasCancelled {
				h.emitAfterCancel.Store(true)
			}
		}
		if pt.genErrAt == len(xs) {
			if pt.genPanic {
				panic(errSourcePanic)
			}
			return errSource
		}
		return nil
	}), nil
}

func runCase(t *rapid.T, c *spec) {
	ignore := goleak.IgnoreCurrent()
	var opts []pipeline.Option
	if c.cont {
		opts = append(opts, pipeline.WithContinueOnError())
	}
	if c.chunk > 0 {
		opts = append(opts, pipeline.WithChunkSize(c.chunk))
	}
	var board *progress.Board
	if c.progress > 0 {
		board = progress.New(progress.WithOutput(io.Discard), progress.WithTerminal(c.progress == 2),
			progress.WithRefresh(time.Millisecond), progress.WithLineInterval(time.Millisecond))
		opts = append(opts, pipeline.WithObserver(board))
	}
	p := pipeline.New(opts...)
	parent, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	h := &harness{c: c, cancel: cancel, raised: map[[2]int64]fault{}}

	// Sources.
	var feeder sync.WaitGroup
	stopFeeder := make(chan struct{})
	var parts []*pipeline.Stream[int64, int64]
	bufchs := make([]chan int64, len(c.parts))
	for i, pt := range c.parts {
		s, bufch := h.source(p, pt, &feeder, stopFeeder)
		if c.srcWeight {
			s.Weigh(pipeline.Bytes, weightOf).Describe(func(in, v int64) string { return fmt.Sprint(in) })
		}
		parts = append(parts, s)
		bufchs[i] = bufch
	}
	s := parts[0]
	if c.source == "merge" {
		s = stage.Merge(parts, stage.WithName("merge"))
	}

	// Transforms. bs is the stream of batches between a batch and its
	// unbatch.
	var bs *pipeline.Stream[[]int64, []int64]
	for i, st := range c.stages {
		pos := i + 1
		if st.kind == "keys" {
			continue // built with the keyed map after it
		}
		o := []stage.Option{stage.WithName(fmt.Sprintf("%s%d", st.kind, pos))}
		if st.kind != "ondone" && st.kind != "batch" {
			o = append(o, stage.WithWorkers(st.workers))
		}
		if st.window > 0 {
			o = append(o, stage.WithWindow(st.window))
		}
		switch st.kind {
		case "map", "orderedmap", "keyedmap":
			add := st.add
			fn := func(ctx context.Context, v int64) (int64, error) {
				if err := h.call(ctx, pos, v, true); err != nil {
					return 0, err
				}
				return v + add, nil
			}
			switch st.kind {
			case "map":
				s = stage.Map(s, fn, o...)
			case "orderedmap":
				s = stage.OrderedMap(s, fn, o...)
			default:
				s = stage.MapByKey(s, func(v int64) int64 { return v % 5 }, fn, o...)
			}
		case "filter", "orderedfilter":
			pct := st.dropPct
			keep := func(v int64) bool {
				_ = h.raise(pos, v, false)
				return c.keep(pos, v, pct)
			}
			if st.kind == "filter" {
				s = stage.Filter(s, keep, o...)
			} else {
				s = stage.OrderedFilter(s, keep, o...)
			}
		case "ondone":
			s = stage.OnDone(s, func(input, v int64, err error) {
				if err == nil {
					_ = h.raise(pos, v, false)
				} else if int(c.hash(4, pos, input)%1000) < c.failedPM {
					panic(failedPanic{pos, input})
				}
			}, o...)
		case "filtererr":
			pct := st.dropPct
			s = stage.FilterErr(s, func(ctx context.Context, v int64) (bool, error) {
				if err := h.call(ctx, pos, v, true); err != nil {
					return false, err
				}
				return c.keep(pos, v, pct), nil
			}, o...)
		case "mapwith":
			add := st.add
			s = stage.MapWith(s, h.setup, func(ctx context.Context, w *workerValue, v int64) (int64, error) {
				release, err := w.use()
				if err != nil {
					return 0, err
				}
				defer release()
				if err := h.call(ctx, pos, v, true); err != nil {
					return 0, err
				}
				return v + add, nil
			}, o...)
		case "retrymap":
			add := st.add
			var mu sync.Mutex
			tried := map[int64]int{}
			o = append(o, stage.WithRetry(3, func(err error) bool { return errors.Is(err, errTransient) }),
				stage.WithBackoff(time.Microsecond, 10*time.Microsecond), stage.WithTimeout(time.Hour), stage.WithRate(1e6, 1000))
			s = stage.Map(s, func(ctx context.Context, v int64) (int64, error) {
				mu.Lock()
				tried[v]++
				n := tried[v]
				mu.Unlock()
				if n <= int(c.hash(7, pos, v)%3) { // up to two transient failures first
					return 0, errTransient
				}
				if err := h.call(ctx, pos, v, true); err != nil {
					return 0, err
				}
				return v + add, nil
			}, o...)
		case "flatmap":
			fn := func(ctx context.Context, v int64) ([]int64, error) {
				if err := h.call(ctx, pos, v, true); err != nil {
					return nil, err
				}
				if !c.keep(pos, v, st.dropPct) {
					return nil, nil
				}
				return c.expand(st, pos, v), nil
			}
			switch st.stream {
			case 0:
				s = stage.FlatMap(s, fn, o...)
			case 1:
				s = stage.FlatMapEmit(s, func(ctx context.Context, v int64, emit func(int64) bool) error {
					outs, err := fn(ctx, v)
					for _, out := range outs {
						if !emit(out) {
							return ctx.Err()
						}
					}
					return err
				}, o...)
			default:
				s = stage.FlatMapSeq(s, func(ctx context.Context, v int64) iter.Seq2[int64, error] {
					return func(yield func(int64, error) bool) {
						outs, err := fn(ctx, v)
						if err != nil {
							yield(0, err)
							return
						}
						for _, out := range outs {
							if !yield(out, nil) {
								return
							}
						}
					}
				}, o...)
			}
		case "mapbatch":
			s = stage.MapBatch(s, st.size, st.maxWait, func(ctx context.Context, vs []int64) ([]int64, error) {
				if st.faulty {
					if err := h.call(ctx, pos, vs[0], true); err != nil {
						return nil, err
					}
				} else {
					h.pace(pos, vs[0])
				}
				out := make([]int64, len(vs))
				for j, v := range vs {
					out[j] = v + st.add
				}
				return out, nil
			}, o...)
		case "batch":
			bs = stage.Batch(s, st.size, st.maxWait, o...)
		case "bmap", "orderedbmap":
			fn := func(ctx context.Context, vs []int64) ([]int64, error) {
				if st.faulty {
					if err := h.call(ctx, pos, vs[0], true); err != nil {
						return nil, err
					}
				} else {
					h.pace(pos, vs[0])
				}
				out := make([]int64, len(vs))
				for j, v := range vs {
					out[j] = v + st.add
				}
				return out, nil
			}
			if st.kind == "bmap" {
				bs = stage.Map(bs, fn, o...)
			} else {
				bs = stage.OrderedMap(bs, fn, o...)
			}
		case "unbatch":
			s = stage.Unbatch(bs, o...)
			bs = nil
		}
		if !st.weighted || st.kind == "ondone" {
			continue
		}
		if bs != nil {
			bs.Weigh(pipeline.Rows, weightOfAll).Describe(func(in, v []int64) string { return fmt.Sprintf("%v: %v", in, v) })
		} else {
			s.Weigh(pipeline.Rows, weightOf).Describe(func(in, v int64) string { return fmt.Sprintf("%d: %d", in, v) })
		}
	}

	// Sink.
	sinkPos := len(c.stages) + 1
	res := &result{ordered: true}
	slow := func() {
		if c.slowSink {
			time.Sleep(50 * time.Microsecond)
		}
	}
	run := func() {
		ctx := parent
		switch c.sink {
		case "byinput":
			m, err := sink.ByInput(ctx, s)
			for in, v := range m {
				res.pairs = append(res.pairs, [2]int64{in, v})
			}
			res.ordered, res.err, res.delivered = false, err, len(m)
		case "bykey":
			m, err := sink.ByKey(ctx, s, func(_, v int64) int64 { return v })
			for k, v := range m {
				if k != v {
					panic("bykey: key is not the value")
				}
				res.pairs = append(res.pairs, [2]int64{-1, v})
			}
			res.ordered, res.err, res.delivered = false, err, len(m)
		case "count":
			n, err := sink.Count(ctx, s)
			res.err, res.delivered, res.counted = err, n, true
		case "slice":
			vs, err := sink.Slice(ctx, s)
			for _, v := range vs {
				res.pairs = append(res.pairs, [2]int64{-1, v})
			}
			res.err, res.delivered = err, len(vs)
		case "reduce":
			acc, err := sink.Reduce(ctx, s, []int64(nil), func(acc []int64, v int64) []int64 {
				slow()
				return append(acc, v)
			})
			for _, v := range acc {
				res.pairs = append(res.pairs, [2]int64{-1, v})
			}
			res.err, res.delivered = err, len(acc)
		case "foreach":
			res.err = sink.ForEach(ctx, s, func(in, v int64) error {
				slow()
				if c.sinkFaults {
					if err := h.raise(sinkPos, v, true); err != nil {
						return err
					}
				}
				res.pairs = append(res.pairs, [2]int64{in, v})
				res.delivered++
				if res.delivered == c.stopAfter {
					return pipeline.ErrStop
				}
				return nil
			})
		case "groupby":
			groups, err := sink.GroupBy(ctx, s, func(in, _ int64) int64 { return in })
			for in, vs := range groups {
				for _, v := range vs {
					res.pairs = append(res.pairs, [2]int64{in, v})
				}
			}
			res.ordered, res.err, res.delivered = false, err, len(res.pairs)
		case "countby":
			counts, err := sink.CountBy(ctx, s, func(_, v int64) int64 { return v })
			for v, n := range counts {
				for range n { // the model's values are unique: twice is a delivery twice
					res.pairs = append(res.pairs, [2]int64{-1, v})
				}
			}
			res.ordered, res.err, res.delivered = false, err, len(res.pairs)
		case "first":
			n := c.stopAfter
			if n < 0 {
				n = math.MaxInt
			}
			first, err := sink.First(ctx, s, n)
			for _, r := range first {
				res.pairs = append(res.pairs, [2]int64{r.Input, r.Value})
			}
			res.err, res.delivered = err, len(first)
		case "writelines":
			var b strings.Builder
			res.err = sink.WriteLines(ctx, s, &b, func(in, v int64) string {
				slow()
				return strconv.FormatInt(in, 10) + " " + strconv.FormatInt(v, 10)
			})
			for _, l := range strings.Split(b.String(), "\n") {
				if l == "" {
					continue
				}
				f := strings.Fields(l)
				in, _ := strconv.ParseInt(f[0], 10, 64)
				v, _ := strconv.ParseInt(f[1], 10, 64)
				res.pairs = append(res.pairs, [2]int64{in, v})
			}
			res.delivered = len(res.pairs)
		case "all":
			for r, err := range sink.All(ctx, s) {
				if err != nil {
					res.loopErrs = append(res.loopErrs, err)
					continue
				}
				slow()
				res.pairs = append(res.pairs, [2]int64{r.Input, r.Value})
				res.delivered++
				if res.delivered == c.loopPanic {
					panic(loopPanicValue{res.delivered})
				}
				if res.delivered == c.stopAfter {
					break
				}
			}
		}
	}

	if c.cancel == "before" {
		cancel(errCancel)
	}
	var timer *time.Timer
	if c.cancel == "timer" {
		timer = time.AfterFunc(time.Duration(c.cancelAt)*time.Microsecond, func() { cancel(errCancel) })
	}
	done := make(chan struct{})
	var runPanic any
	go func() {
		defer close(done)
		defer func() { runPanic = recover() }()
		run()
	}()
	select {
	case <-done:
	case <-time.After(runBound):
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("run did not return within %v (deadlock?)\n%s", runBound, buf)
	}
	if timer != nil {
		timer.Stop()
	}
	close(stopFeeder)
	feeder.Wait()
	if runPanic != nil {
		if lp, ok := runPanic.(loopPanicValue); !ok || lp.at != c.loopPanic {
			t.Fatalf("the run panicked: %v", runPanic)
		}
		res.loopPanicked = true
	}
	if h.emitAfterCancel.Load() {
		t.Fatalf("emit returned true after the run was cancelled")
	}
	if err := goleak.Find(ignore); err != nil {
		t.Fatalf("goroutines left behind: %v", err)
	}
	if made, closed := h.values.Load(), h.closed.Load(); made != closed {
		t.Fatalf("MapWith made %d worker values and closed %d", made, closed)
	}
	check(t, c, h, p, res, parent)
	for i, bufch := range bufchs {
		if bufch == nil {
			continue
		}
		xs := c.parts[i].xs
		taken := p.Stages()[i].Counts().Out
		for _, x := range xs[taken:] {
			if v, ok := <-bufch; !ok || v != x {
				t.Fatalf("the run took %d values from channel %d; the next is %d, %v, want %d", taken, i, v, ok, x)
			}
		}
		if _, ok := <-bufch; ok {
			t.Fatalf("the run took %d values from channel %d; more are left", taken, i)
		}
	}
	if board != nil {
		checkBoard(t, c, p, board, res)
	}
}

// checkBoard checks that a progress board observed the run to its end: one
// summary per stage, whose final counts are the stages' meters, and a final
// status that agrees with them.
func checkBoard(t *rapid.T, c *spec, p *pipeline.Pipeline, board *progress.Board, res *result) {
	stages := p.Stages()
	sum := board.Summary()
	if len(sum) != len(stages) {
		t.Fatalf("progress summary has %d stages, the pipeline %d", len(sum), len(stages))
	}
	for i, s := range sum {
		st := stages[i]
		k := st.Counts()
		if s.Name != st.Name() || s.Counts != k {
			t.Fatalf("progress summary of stage %d: %s %+v; meters: %s %+v", i, s.Name, s.Counts, st.Name(), k)
		}
		if want := k.Done(); s.Unit == pipeline.Items && s.Amount() != want || s.Unit != pipeline.Items && s.Amount() != k.Weight {
			t.Fatalf("progress amount of stage %s is %d; meters %+v", s.Name, s.Amount(), k)
		}
		switch {
		case s.Status == progress.Running:
			t.Fatalf("stage %s still running on the board after the run", s.Name)
		case k.Failed > 0 && s.Status != progress.Failed:
			t.Fatalf("stage %s failed %d items but ended %s", s.Name, k.Failed, s.Status)
		case k.Cancelled > 0 && s.Status == progress.Done:
			t.Fatalf("stage %s cancelled %d items but ended done", s.Name, k.Cancelled)
		}
	}
	if res.err == nil && len(res.loopErrs) == 0 && !res.loopPanicked && c.stopAfter < 0 {
		for _, s := range sum {
			if s.Status != progress.Done {
				t.Fatalf("run succeeded but stage %s ended %s: %+v", s.Name, s.Status, s.Counts)
			}
		}
	}
}

// record is one item error a run returned, for one input or, from a map
// over batches, for the inputs of a batch.
type record struct {
	err    error // the *pipeline.ItemError
	inputs []int64
	stage  string
	cause  error
}

// records lists the item errors in err.
func records(err error) []record {
	var out []record
	walkErrs(err, func(e error) {
		switch ie := e.(type) {
		case *pipeline.ItemError[int64]:
			out = append(out, record{ie, []int64{ie.Input}, ie.Stage, ie.Err})
		case *pipeline.ItemError[[]int64]:
			out = append(out, record{ie, ie.Input, ie.Stage, ie.Err})
		}
	})
	return out
}

// itemErrors is pipeline.ItemErrors[int64](err), and what it panicked
// with.
func itemErrors(err error) (ies []*pipeline.ItemError[int64], panicked any) {
	defer func() { panicked = recover() }()
	return pipeline.ItemErrors[int64](err), nil
}

// faultOf is the fault raised by a user function that an item error's
// cause holds.
type faultOf struct {
	pos   int
	v     int64
	panic bool
	stack bool
}

// findFault returns the first injected error or panic in the tree of err.
func findFault(err error) (faultOf, bool) {
	if err == nil {
		return faultOf{}, false
	}
	if inj, ok := err.(*injected); ok {
		return faultOf{pos: inj.pos, v: inj.v}, true
	}
	if pe, ok := err.(*pipeline.PanicError); ok {
		if pv, ok := pe.Value.(panicValue); ok {
			return faultOf{pos: pv.pos, v: pv.v, panic: true, stack: len(pe.Stack) > 0}, true
		}
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if f, ok := findFault(e); ok {
				return f, true
			}
		}
	case interface{ Unwrap() error }:
		return findFault(u.Unwrap())
	}
	return faultOf{}, false
}

// check compares a run with the model and the promises.
func check(t *rapid.T, c *spec, h *harness, p *pipeline.Pipeline, res *result, parent context.Context) {
	m := c.model()
	stages := p.Stages()
	nsrc := len(c.parts)
	base := nsrc // index of the first transform
	if c.source == "merge" {
		base++
	}
	if len(stages) != base+len(c.stages)+1 {
		t.Fatalf("pipeline has %d stages, want %d", len(stages), base+len(c.stages)+1)
	}
	sinkPos := len(c.stages) + 1
	at := func(pos int) *pipeline.Stage { return stages[base+pos-1] }
	posOf := map[string]int{}
	for pos := 1; pos <= sinkPos; pos++ {
		posOf[at(pos).Name()] = pos
	}
	for i, pt := range c.parts {
		if pt.kind == "itemfail" {
			posOf[stages[i].Name()] = 0
		}
	}
	cancelled := parent.Err() != nil
	stopped := (c.stopAfter > 0 && res.delivered == c.stopAfter) || res.loopPanicked

	// Outputs: no invented value, no result delivered twice, the right
	// input. Every success of the model has a value of its own.
	seen := map[int64]bool{}
	seenInput := map[int64]bool{}
	var order []*leaf
	for _, pr := range res.pairs {
		l, ok := m.byValue[pr[1]]
		if !ok {
			t.Fatalf("output value %d is not a success of the model (input %d)", pr[1], pr[0])
		}
		if pr[0] >= 0 && pr[0] != l.input {
			t.Fatalf("output value %d carries input %d, want %d", pr[1], pr[0], l.input)
		}
		if seen[l.value] {
			t.Fatalf("output value %d (input %d) delivered twice", l.value, l.input)
		}
		seen[l.value] = true
		seenInput[l.input] = true
		order = append(order, l)
	}
	// Ordering: a chain of ordered (or single-worker) stages keeps the
	// model's order, the order of each source's own items after a merge.
	chainOrdered := true
	for _, s := range c.stages {
		chainOrdered = chainOrdered && s.ordered()
	}
	if chainOrdered && res.ordered {
		last := map[int]int{} // by source: the place of its last result
		for _, l := range order {
			if prev, ok := last[l.part]; ok && l.seq <= prev {
				t.Fatalf("ordered chain delivered input %d (value %d) after a later item of source %d", l.input, l.value, l.part)
			}
			last[l.part] = l.seq
		}
	}

	// Meters: every stage balances; every stage took in what its upstreams
	// emitted; a stage emits what it handed on, unless it is a flat-map,
	// which emits at least that.
	for i, st := range stages {
		k := st.Counts()
		if !k.Balanced() {
			t.Fatalf("stage %s unbalanced: %+v", st.Name(), k)
		}
		if ups := st.Upstreams(); len(ups) > 0 {
			var emitted int64
			for _, up := range ups {
				emitted += up.Counts().Emitted
			}
			if k.In != emitted {
				t.Fatalf("stage %s In=%d but its upstreams emitted %d", st.Name(), k.In, emitted)
			}
		}
		if i >= base && i < base+len(c.stages) && c.stages[i-base].kind == "flatmap" {
			if k.Emitted < k.Out {
				t.Fatalf("flat-map %s emitted %d outputs for %d items handed on", st.Name(), k.Emitted, k.Out)
			}
		} else if k.Emitted != k.Out {
			t.Fatalf("stage %s emitted %d items but handed on %d: %+v", st.Name(), k.Emitted, k.Out, k)
		}
		if !st.Finished() {
			t.Fatalf("stage %s not finished after the run", st.Name())
		}
		total, final := st.Total()
		switch {
		case i < nsrc && (c.parts[i].kind == "slice" || c.parts[i].kind == "mapsorted"):
			if total != int64(len(c.parts[i].xs)) || !final {
				t.Fatalf("slice source %s Total() = %d, %v; want %d, true", st.Name(), total, final, len(c.parts[i].xs))
			}
		case !final || total != k.In:
			t.Fatalf("stage %s Total() = %d, %v after the run; In = %d", st.Name(), total, final, k.In)
		}
	}
	var srcOut int64
	for i, st := range stages[:nsrc] {
		k := st.Counts()
		if k.Dropped+k.Cancelled != 0 || k.In != k.Out+k.Failed || k.Failed > m.srcFailed[i] {
			t.Fatalf("source %s counts %+v; the model fails %d there", st.Name(), k, m.srcFailed[i])
		}
		if k.Out > int64(len(m.parts[i])) {
			t.Fatalf("source %s emitted %d items, the model %d", st.Name(), k.Out, len(m.parts[i]))
		}
		srcOut += k.Out
	}
	snk := stages[len(stages)-1].Counts()
	// A map keyed by input holds one result per input, whatever a
	// flat-map made of it.
	multi := c.sink == "byinput" && len(m.okOf) < len(m.ok)
	if multi {
		if snk.Out < int64(res.delivered) {
			t.Fatalf("sink Out=%d but %d inputs have results", snk.Out, res.delivered)
		}
	} else if snk.Out != int64(res.delivered) {
		t.Fatalf("sink Out=%d but %d results were delivered", snk.Out, res.delivered)
	}
	if int64(len(res.pairs)) != int64(res.delivered) && !res.counted {
		t.Fatalf("%d pairs for %d deliveries", len(res.pairs), res.delivered)
	}
	// Conservation: everything the sources emitted, and every further
	// output of a flat-map, ends exactly once.
	var ended, expanded int64
	for _, st := range stages[nsrc:] {
		k := st.Counts()
		ended += k.Failed + k.Dropped + k.Cancelled
	}
	for i, s := range c.stages {
		if s.kind == "flatmap" {
			k := at(i + 1).Counts()
			expanded += k.Emitted - k.Out
		}
	}
	if srcOut+expanded != ended+snk.Out {
		t.Fatalf("conservation: the sources emitted %d and flat-maps %d more; the stages ended %d + the sink consumed %d", srcOut, expanded, ended, snk.Out)
	}
	var totalCancelled int64
	for _, st := range stages {
		totalCancelled += st.Counts().Cancelled
	}
	// No stage does more than the model's.
	for pos := 1; pos <= sinkPos; pos++ {
		k, mk := at(pos).Counts(), m.stage[pos]
		if k.In > mk.in || k.Out > mk.out || k.Emitted > mk.emitted || k.Failed > mk.failed || k.Dropped > mk.dropped {
			t.Fatalf("stage %s counts %+v exceed the model's %+v", at(pos).Name(), k, *mk)
		}
	}

	// Errors.
	err := res.err
	if c.sink == "all" {
		if !c.cont && len(res.loopErrs) > 1 {
			t.Fatalf("fail-fast All yielded %d errors", len(res.loopErrs))
		}
		if c.cont {
			for _, e := range res.loopErrs[:max(0, len(res.loopErrs)-1)] {
				if _, ok := e.(*pipeline.ItemError[int64]); !ok {
					t.Fatalf("All yielded a non-item error before the end: %v", e)
				}
			}
		}
		err = errors.Join(res.loopErrs...)
	}
	recs := records(err)
	// ItemErrors lists the same errors, or says that some are for
	// batches.
	batchErrs := slices.ContainsFunc(recs, func(r record) bool { _, ok := r.err.(*pipeline.ItemError[[]int64]); return ok })
	ies, panicked := itemErrors(err)
	switch {
	case panicked != nil || batchErrs:
		if panicked == nil || !batchErrs {
			t.Fatalf("ItemErrors[int64] panicked with %v; the error holds errors of batches: %v", panicked, batchErrs)
		}
	case len(ies) != len(recs):
		t.Fatalf("ItemErrors lists %d errors, the error holds %d", len(ies), len(recs))
	default:
		for i, ie := range ies {
			if error(ie) != recs[i].err {
				t.Fatalf("ItemErrors[%d] is %v, want %v", i, ie, recs[i].err)
			}
		}
	}
	got := map[[3]int64]int64{}
	var failedInputs int64
	for _, r := range recs {
		pos, ok := posOf[r.stage]
		if !ok {
			t.Fatalf("error for inputs %v names stage %q, which is not a transform or the sink", r.inputs, r.stage)
		}
		f, ok := findFault(r.cause)
		if !ok {
			t.Fatalf("error for inputs %v at stage %q is not an injected fault: %v", r.inputs, r.stage, r.cause)
		}
		if f.pos != pos {
			t.Fatalf("error for inputs %v names stage %q but holds the fault of stage %d: %v", r.inputs, r.stage, f.pos, r.cause)
		}
		if f.panic && !f.stack {
			t.Fatalf("inputs %v: panic without a stack", r.inputs)
		}
		for _, in := range r.inputs {
			key := [3]int64{in, int64(pos), f.v}
			want := m.faults[key]
			if want == 0 {
				t.Fatalf("error for input %d at stage %q on value %d, which the model does not fail: %v", in, r.stage, f.v, r.err)
			}
			if l := m.byFault[key]; l.panic != f.panic {
				t.Fatalf("input %d at stage %q: the model panics %v, the error is %v", in, r.stage, l.panic, r.cause)
			}
			if got[key]++; got[key] > want {
				t.Fatalf("error for input %d at stage %q on value %d returned %d times, the model fails it %d times", in, r.stage, f.v, got[key], want)
			}
			if m.leavesOf[in] == 1 && seenInput[in] {
				t.Fatalf("input %d both delivered and failed", in)
			}
			failedInputs++
		}
	}
	// Every error is an item error, the source's error or the cancellation.
	var leftover []error
	walkErrs(err, func(e error) {
		if isItemErr(e) || isSourceErr(e) || errors.Is(e, errCancel) {
			return
		}
		leftover = append(leftover, e)
	})
	if len(leftover) > 0 {
		t.Fatalf("unexpected errors: %v", leftover)
	}
	if isSourceErr(err) && !c.genErr() {
		t.Fatalf("source error without a source fault: %v", err)
	}

	if !c.cont {
		// Fail-fast: at most one error, the first that stopped the run.
		if len(recs) > 1 {
			t.Fatalf("fail-fast returned %d item errors", len(recs))
		}
		if len(recs) == 1 {
			r := recs[0]
			if c.sink != "all" && err != r.err {
				t.Fatalf("fail-fast error is %T %v, want the *ItemError itself", err, err)
			}
			f, _ := findFault(r.cause)
			h.mu.Lock()
			_, raised := h.raised[[2]int64{int64(f.pos), f.v}]
			h.mu.Unlock()
			if !raised {
				t.Fatalf("fail-fast returned the error of inputs %v, whose fault was never raised", r.inputs)
			}
			if ctxp := h.ctx.Load(); ctxp != nil {
				if cause := context.Cause(*ctxp); cause != r.err {
					t.Fatalf("context.Cause of the run is %v, want the returned error %v", cause, r.err)
				}
			}
		}
		if isSourceErr(err) && len(recs) > 0 {
			t.Fatalf("fail-fast returned both a source error and an item error: %v", err)
		}
	}
	if !c.cont && c.sink != "all" && errors.Is(err, errCancel) && err != errCancel {
		t.Fatalf("fail-fast run cancelled by its caller returned %#v, not the cause itself", err)
	}
	if c.cont && !stopped {
		// Continue: every failure is returned, cancelled or not.
		var failed int64
		for _, st := range stages {
			failed += st.Counts().Failed
		}
		if failed != failedInputs {
			t.Fatalf("the stages failed %d items, item errors were returned for %d", failed, failedInputs)
		}
	}
	if errors.Is(err, errCancel) && !cancelled {
		t.Fatalf("the error names the cancellation, but the context was not cancelled: %v", err)
	}

	// A run that nothing interrupted is exactly the model: under fail-fast
	// a nil error says so, under continue an error without the cancellation.
	interrupted := stopped || errors.Is(err, errCancel) || (!c.cont && err != nil)
	if !interrupted {
		if totalCancelled != 0 {
			t.Fatalf("uninterrupted run counted %d items cancelled", totalCancelled)
		}
		if multi {
			if res.delivered != len(m.okOf) || snk.Out != int64(len(m.ok)) {
				t.Fatalf("delivered results for %d inputs of %d, the model %d of %d", res.delivered, snk.Out, len(m.okOf), len(m.ok))
			}
		} else if res.delivered != len(m.ok) {
			t.Fatalf("delivered %d results, the model %d", res.delivered, len(m.ok))
		}
		for i, st := range stages[:nsrc] {
			k := st.Counts()
			if c.srcWeight && k.Weight != m.srcWeight[i] {
				t.Fatalf("source %s weight %d, the model %d", st.Name(), k.Weight, m.srcWeight[i])
			}
			if k.Out != int64(len(m.parts[i])) || k.Failed != m.srcFailed[i] {
				t.Fatalf("source %s emitted %d items and failed %d, the model %d and %d", st.Name(), k.Out, k.Failed, len(m.parts[i]), m.srcFailed[i])
			}
		}
		if c.source == "merge" {
			if k := stages[nsrc].Counts(); k.In != int64(len(m.inputs)) || k.Out != k.In {
				t.Fatalf("merge counts %+v, the model %d items", k, len(m.inputs))
			}
		}
		for pos := 1; pos <= sinkPos; pos++ {
			st := at(pos)
			k, mk := st.Counts(), m.stage[pos]
			if k.In != mk.in || k.Out != mk.out || k.Emitted != mk.emitted || k.Failed != mk.failed || k.Dropped != mk.dropped {
				t.Fatalf("stage %s took in %d, handed on %d, emitted %d, failed %d, dropped %d; the model %d, %d, %d, %d and %d",
					st.Name(), k.In, k.Out, k.Emitted, k.Failed, k.Dropped, mk.in, mk.out, mk.emitted, mk.failed, mk.dropped)
			}
			if pos < sinkPos {
				if s := c.stages[pos-1]; s.weighted && s.kind != "ondone" && k.Weight != mk.weight {
					t.Fatalf("stage %s weight %d, the model %d", st.Name(), k.Weight, mk.weight)
				}
			}
		}
		if failedInputs != m.failures {
			t.Fatalf("item errors were returned for %d items, the model fails %d", failedInputs, m.failures)
		}
		if c.genErr() != isSourceErr(err) {
			t.Fatalf("source fault %v, error %v", c.genErr(), err)
		}
	}
}

// walkErrs calls fn for every leaf of a tree of joined errors.
func walkErrs(err error, fn func(error)) {
	if err == nil {
		return
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			walkErrs(e, fn)
		}
		return
	}
	fn(err)
}
