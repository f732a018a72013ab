package engine

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Kind names what a stage does ("map", "filter", ...). Renderers use it for
// labels and default names; an operator may use any short lowercase word.
type Kind string

// The kinds of the stages flowbar provides.
const (
	KindSource   Kind = "source"   // emits the pipeline's items
	KindMap      Kind = "map"      // transforms each item
	KindFilter   Kind = "filter"   // keeps or drops each item
	KindCallback Kind = "callback" // calls a function for each outcome, serially
	KindFlatMap  Kind = "flatmap"  // turns each item into zero or more
	KindBatch    Kind = "batch"    // groups items
	KindMerge    Kind = "merge"    // joins several streams
	KindSink     Kind = "sink"     // consumes the items at the end of the pipeline
)

// String returns the kind's name.
func (k Kind) String() string { return string(k) }

// Shape says how many outputs a stage emits per item it takes in, which is
// how a downstream stage knows its total before its upstream ends.
type Shape uint8

// The shapes of stages.
const (
	// OneToOne: every item that enters the stage leaves it as one output,
	// unless it fails or is cancelled (a map, a callback).
	OneToOne Shape = iota
	// AtMostOne: as OneToOne, but the stage may drop items (a filter).
	AtMostOne
	// Many: the number of outputs is not tied to the number of inputs (a
	// flat-map, a batch, a merge).
	Many
)

// Unit names what a stage's weight counts. The zero value means the stage
// declares no weight and progress counts items.
type Unit string

// Common units. Any other non-empty string works as a unit name ("rows",
// "pages"); [Bytes] is shown with binary prefixes by renderers.
const (
	Items Unit = ""
	Bytes Unit = "bytes"
	Rows  Unit = "rows"
)

// Counts is a snapshot of one stage's meters. Items are counted in
// pipeline items: a batch of ten counts as ten.
//
// For every stage, once the run has ended,
//
//	In == Out + Failed + Dropped + Cancelled
//
// and every stage took in what its upstreams emitted. Items that failed in
// an earlier stage and only pass through (under continue-on-error) are
// counted where they failed, not again downstream.
type Counts struct {
	// In is the number of items that entered the stage. For a source it is
	// the number of items the source produced.
	In int64
	// Out is the number of items the stage handed on, alone or as part of
	// an output (for a sink: the number it consumed).
	Out int64
	// Emitted is the number of items the stage's outputs hold, which is
	// what the next stage takes in: Out for a one-to-one stage, more for a
	// flat-map that expands items.
	Emitted int64
	// Failed is the number of items whose function returned an error or
	// panicked.
	Failed int64
	// Dropped is the number of items a filter removed, or a flat-map
	// turned into nothing.
	Dropped int64
	// Cancelled is the number of items that entered the stage but did not
	// leave it because the run was cancelled or stopped early.
	Cancelled int64
	// Weight is the sum of the weights of the items done, in [Stage.Unit]
	// units, plus what user functions added with [AddWeight].
	Weight int64
	// Busy is the time the stage's workers spent processing items, summed
	// over workers.
	Busy time.Duration
	// Idle is the time the stage's workers spent waiting for input, summed
	// over workers: a stage whose workers are mostly idle is fed too
	// slowly.
	Idle time.Duration
	// Blocked is the time the stage's workers spent waiting for the next
	// stage to take their results, summed over workers: a stage whose
	// workers are mostly blocked is held back by the stage after it.
	Blocked time.Duration
	// InFlight is the number of items the stage's workers have taken and
	// not yet finished with (counted by the chunk).
	InFlight int64
	// Retries is the number of extra attempts the stage made at its items
	// (a retried call, a redelivered message), added with [AddRetries]. It
	// is not part of the conservation law: an item tried three times still
	// ends once.
	Retries int64
}

// Done is the number of items the stage has finished with, successfully or
// not: Out + Failed + Dropped.
func (c Counts) Done() int64 { return c.Out + c.Failed + c.Dropped }

// Balanced reports whether In == Out + Failed + Dropped + Cancelled, which
// holds for every stage once its run has ended.
func (c Counts) Balanced() bool { return c.In == c.Out+c.Failed+c.Dropped+c.Cancelled }

// meter holds a stage's counters. Workers add to it once per chunk, never per
// item, so the hot path stays free of shared writes.
type meter struct {
	_                                                    pad
	in, out, emitted, failed, dropped, cancelled, weight atomic.Int64
	busy, idle, blocked, retries                         atomic.Int64
	// cost is the stage's recent processing time per item, in nanoseconds;
	// 0 until measured. Producers upstream size their chunks with it.
	cost atomic.Int64
	_    pad
}

// setCost publishes a new cost per item, c, unless it is within an eighth of
// the one published: a store is a locked instruction on a line every worker
// of the stage writes, and chunks are sized from costs to within a factor
// of two anyway.
func (m *meter) setCost(c int64) {
	if old := m.cost.Load(); c > old+old/8 || c < old-old/8 {
		m.cost.Store(c)
	}
}

// add adds n to counter c unless n is zero: an add is a locked instruction
// on a line the stage's workers share, and most counts of a chunk (failed,
// dropped, time blocked) are zero.
func add(c *atomic.Int64, n int64) {
	if n != 0 {
		c.Add(n)
	}
}

// Stage is the runtime record of one stage of a pipeline: its name, its
// place, its meters. Operators create it with [Attach] and sinks with
// [Consume]; an [Observer] receives the list when a run starts. All methods
// are safe for concurrent use while the run goes on.
type Stage struct {
	name      string
	index     int
	kind      Kind
	shape     Shape
	workers   int
	unit      Unit
	total     int64 // known number of items, or -1
	upstreams []*Stage
	m         meter
	finished  atomic.Bool // set by the lifecycle only (lifecycle.go)
	// mirror says that the stage hands on every item as it counts it in
	// (a source read directly by its consumers): its meters count In
	// alone, and Out and Emitted are In (see out, emitted).
	mirror bool
	desc   func() string
	slow   slowest
	decl   declaredTotals // totals declared while running (totals.go)
}

// Name returns the stage's name, unique within its pipeline.
func (s *Stage) Name() string { return s.name }

// Index returns the stage's position in composition order, from 0.
func (s *Stage) Index() int { return s.index }

// Kind returns what the stage does.
func (s *Stage) Kind() Kind { return s.kind }

// Workers returns the number of goroutines that run the stage's function.
func (s *Stage) Workers() int { return s.workers }

// Unit returns what the stage's weight counts, or [Items] when it declares
// no weight.
func (s *Stage) Unit() Unit { return s.unit }

// Upstream returns the first stage that feeds this one, or nil for a
// source.
func (s *Stage) Upstream() *Stage {
	if len(s.upstreams) == 0 {
		return nil
	}
	return s.upstreams[0]
}

// Upstreams returns the stages that feed this one: none for a source, one
// for most stages, several for a merge.
func (s *Stage) Upstreams() []*Stage { return slices.Clone(s.upstreams) }

// Counts returns a snapshot of the stage's meters. While the run goes on the
// fields are read one by one and may be a few items apart.
func (s *Stage) Counts() Counts {
	c := Counts{
		In:        s.m.in.Load(),
		Out:       s.out(),
		Emitted:   s.emitted(),
		Failed:    s.m.failed.Load(),
		Dropped:   s.m.dropped.Load(),
		Cancelled: s.m.cancelled.Load(),
		Weight:    s.m.weight.Load(),
		Busy:      time.Duration(s.m.busy.Load()),
		Idle:      time.Duration(s.m.idle.Load()),
		Blocked:   time.Duration(s.m.blocked.Load()),
		Retries:   s.m.retries.Load(),
	}
	if !s.finished.Load() && len(s.upstreams) > 0 && s.kind != KindSink {
		c.InFlight = max(c.In-c.Out-c.Failed-c.Dropped-c.Cancelled, 0)
	}
	return c
}

// Total returns the number of items the stage is expected to take in and
// whether that number is final. A slice source knows its length from the
// start; any other stage expects what its upstreams have emitted so far,
// which becomes final when they have finished, or earlier when a one-to-one
// upstream's own total is final.
func (s *Stage) Total() (int64, bool) {
	if s.total >= 0 {
		return s.total, true
	}
	if len(s.upstreams) == 0 {
		// A source of unknown length: what it produced so far, or what
		// it declared it will produce (SetTotal).
		if n, ok := declared(&s.decl.items); ok && !s.finished.Load() {
			return n, true
		}
		return s.m.in.Load(), s.finished.Load()
	}
	var sum int64
	final := true
	for _, up := range s.upstreams {
		n, f := up.expected()
		sum += n
		final = final && f
	}
	return sum, final
}

// expected is what s will emit, and whether that is final.
func (s *Stage) expected() (int64, bool) {
	if s.finished.Load() {
		return s.emitted(), true
	}
	n, final := s.Total()
	if !final || s.shape != OneToOne {
		return s.emitted(), false
	}
	// A one-to-one stage with a known total hands on all of it but what it
	// fails or loses to cancellation.
	return n - s.m.failed.Load() - s.m.dropped.Load() - s.m.cancelled.Load(), true
}

// out is the stage's Out: what its meters count, or, for a stage that
// mirrors, In. (Counting Out and Emitted apart costs two atomic adds per
// hand-off on a line every worker writes, and items that travel one at a
// time are handed on once each.)
func (s *Stage) out() int64 {
	if s.mirror {
		return s.m.in.Load()
	}
	return s.m.out.Load()
}

// emitted is the stage's Emitted: for a stage that mirrors, In; for a
// sink, which emits what it consumed, Out; else what its meters count.
func (s *Stage) emitted() int64 {
	switch {
	case s.mirror:
		return s.m.in.Load()
	case s.kind == KindSink:
		return s.m.out.Load()
	}
	return s.m.emitted.Load()
}

// Finished reports whether every goroutine of the stage has exited.
func (s *Stage) Finished() bool { return s.finished.Load() }

// Description returns the description of the last item the stage finished,
// as given by the describe function of its output stream, or "" when it has
// none. It is computed when called, not per item, so a renderer that calls it
// a few times a second costs nothing per item.
func (s *Stage) Description() string {
	if s.desc == nil {
		return ""
	}
	return s.desc()
}

// SlowItem is one of the slowest items of a stage: its pipeline input, as
// formatted by fmt's %v, and how long the stage's function
// took on it.
type SlowItem struct {
	Input string
	Took  time.Duration
}

// Slowest returns the slowest items the stage's workers have finished, the
// slowest first, at most [SlowestKept]. Items are timed one by one only
// when they are slow enough to travel alone (tens of microseconds or more);
// faster items are timed by the chunk and do not appear.
func (s *Stage) Slowest() []SlowItem {
	s.slow.mu.Lock()
	defer s.slow.mu.Unlock()
	return slices.Clone(s.slow.items)
}

// SlowestKept is the number of slowest items a stage keeps for
// [Stage.Slowest].
const SlowestKept = 3

// slowest keeps a stage's slowest items. floor is the duration an item must
// beat to enter the list once it is full: one atomic load per timed item.
type slowest struct {
	floor atomic.Int64
	mu    sync.Mutex
	items []SlowItem
}

// record notes an item that took ns, whose input formats as input; callers
// check the floor first, so that an input is formatted only when it may
// enter the list.
func (w *slowest) record(ns int64, input string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ns <= w.floor.Load() {
		return
	}
	w.items = append(w.items, SlowItem{Input: input, Took: time.Duration(ns)})
	slices.SortFunc(w.items, func(a, b SlowItem) int { return cmp.Compare(b.Took, a.Took) })
	if len(w.items) > SlowestKept {
		w.items = w.items[:SlowestKept]
	}
	if len(w.items) == SlowestKept {
		w.floor.Store(int64(w.items[SlowestKept-1].Took))
	}
}

type stageKey struct{}

// AddWeight adds n to the weight of the stage whose function received ctx.
// It lets a function report progress inside one large item (bytes read so
// far, rows parsed so far) instead of all at once when the item is done. It
// is one atomic add, safe from many goroutines; with a ctx that does not
// come from a stage it does nothing.
func AddWeight(ctx context.Context, n int64) {
	if s, ok := ctx.Value(stageKey{}).(*Stage); ok {
		s.m.weight.Add(n)
	}
}

// AddRetries adds n to the retry count ([Counts.Retries]) of the stage whose
// function received ctx: an operator that tries an item again (a retry with
// backoff, a redelivered message) calls it so that meters and bars show it.
// Like [AddWeight] it is one atomic add and does nothing with a ctx that
// does not come from a stage.
func AddRetries(ctx context.Context, n int64) {
	if s, ok := ctx.Value(stageKey{}).(*Stage); ok {
		s.m.retries.Add(n)
	}
}

// StageOf returns the stage whose function received ctx, or nil.
func StageOf(ctx context.Context) *Stage {
	s, _ := ctx.Value(stageKey{}).(*Stage)
	return s
}

// pad starts and ends a struct written once per item or chunk by one
// goroutine (a worker's counts, an emitter's buffer, a stage's meters): the
// heap may place other objects on the same cache lines, and a write per item
// would take those lines away from the cores reading them.
type pad [64]byte
