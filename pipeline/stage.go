package pipeline

import (
	"context"
	"sync/atomic"
	"time"
)

// Kind says what a stage does. Renderers use it to choose labels.
type Kind uint8

// The kinds of stage.
const (
	KindSource   Kind = iota // emits the pipeline's items
	KindMap                  // transforms each item
	KindFilter               // keeps or drops each item
	KindCallback             // calls a function for each outcome, serially
	KindSink                 // consumes the items at the end of the pipeline
)

var kindNames = [...]string{"source", "map", "filter", "callback", "sink"}

// String returns the kind's lowercase name.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

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

// Counts is a snapshot of one stage's meters.
//
// For every stage, once the run has ended,
//
//	In == Out + Failed + Dropped + Cancelled
//
// Items that failed in an earlier stage and only pass through (under
// [WithContinueOnError]) are counted where they failed, not again downstream.
type Counts struct {
	// In is the number of items that entered the stage. For a source it is
	// the number of items the source produced.
	In int64
	// Out is the number of items the stage handed to the next one (for a
	// sink: the number it consumed).
	Out int64
	// Failed is the number of items whose function returned an error or
	// panicked.
	Failed int64
	// Dropped is the number of items a filter removed.
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
	in, out, failed, dropped, cancelled, weight, busy atomic.Int64
	// cost is the stage's recent processing time per item, in nanoseconds;
	// 0 until measured. Producers upstream size their chunks with it.
	cost atomic.Int64
	_    [64]byte // keep the next stage's meters off this cache line
}

// Stage is the runtime record of one stage of a pipeline: its name, its
// place, its meters. It is created by the stage and sink constructors; an
// [Observer] receives the list when a run starts. All methods are safe for
// concurrent use while the run goes on.
type Stage struct {
	p        *Pipeline
	name     string
	index    int
	kind     Kind
	workers  int
	unit     Unit
	total    int64 // known number of items, or -1
	upstream *Stage
	m        meter
	finished atomic.Bool
	desc     func() string
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

// Upstream returns the stage that feeds this one, or nil for a source.
func (s *Stage) Upstream() *Stage { return s.upstream }

// Counts returns a snapshot of the stage's meters. While the run goes on the
// fields are read one by one and may be a few items apart.
func (s *Stage) Counts() Counts {
	return Counts{
		In:        s.m.in.Load(),
		Out:       s.m.out.Load(),
		Failed:    s.m.failed.Load(),
		Dropped:   s.m.dropped.Load(),
		Cancelled: s.m.cancelled.Load(),
		Weight:    s.m.weight.Load(),
		Busy:      time.Duration(s.m.busy.Load()),
	}
}

// Total returns the number of items the stage is expected to handle and
// whether that number is final. A slice source knows its length from the
// start; any other stage expects what its upstream has handed on so far,
// which becomes final when the upstream has finished.
func (s *Stage) Total() (int64, bool) {
	if s.total >= 0 {
		return s.total, true
	}
	if s.upstream == nil {
		// A source of unknown length: what it produced so far.
		return s.m.in.Load(), s.finished.Load()
	}
	up := s.upstream
	if up.finished.Load() {
		return up.m.out.Load(), true
	}
	n, final := up.Total()
	if !final || up.kind == KindFilter {
		return up.m.out.Load(), false
	}
	// A one-to-one upstream with a known total hands on all of it but
	// what it failed or lost to cancellation.
	return n - up.m.failed.Load() - up.m.dropped.Load() - up.m.cancelled.Load(), true
}

// Finished reports whether every goroutine of the stage has exited.
func (s *Stage) Finished() bool { return s.finished.Load() }

// Description returns the description of the last item the stage finished,
// as given by the stage's describe function, or "" when it has none. It is
// computed when called, not per item, so a renderer that calls it a few
// times a second costs nothing per item.
func (s *Stage) Description() string {
	if s.desc == nil {
		return ""
	}
	return s.desc()
}

// SetDescriber installs the function that [Stage.Description] calls. Stage
// constructors call it at build time; it panics once the run has started.
func (s *Stage) SetDescriber(f func() string) {
	s.p.mustBuild("SetDescriber")
	s.desc = f
}

type stageKey struct{}

// AddWeight adds n to the weight of the stage whose user function received
// ctx. It lets a function report progress inside one large item (bytes read
// so far, rows parsed so far) instead of all at once when the item is done.
// It is one atomic add, safe from many goroutines; with a ctx that does not
// come from a stage it does nothing.
func AddWeight(ctx context.Context, n int64) {
	if s, ok := ctx.Value(stageKey{}).(*Stage); ok {
		s.m.weight.Add(n)
	}
}

// StageOf returns the stage whose user function received ctx, or nil.
func StageOf(ctx context.Context) *Stage {
	s, _ := ctx.Value(stageKey{}).(*Stage)
	return s
}
