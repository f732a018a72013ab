package progress

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/flowbar/flowbar/pipeline"
)

// StageSummary is what one stage did during a run, as [Board.Summary]
// reports it after the run.
type StageSummary struct {
	// Name is the stage's name.
	Name string
	// Kind is what the stage does.
	Kind pipeline.Kind
	// Unit is what Counts.Weight counts ([pipeline.Items]: no weight).
	Unit pipeline.Unit
	// Counts are the stage's final meters.
	Counts pipeline.Counts
	// Elapsed is the time from the start of the run to when the stage
	// finished, measured to about a hundredth of it (the board checks
	// for finished stages every millisecond at first, then less often),
	// or to the end of the run for a stage that did not finish.
	Elapsed time.Duration
	// Status says how the stage ended.
	Status Status
	// Workers is the number of goroutines that ran the stage's function
	// (1 for a source or a sink).
	Workers int
	// Slowest are the stage's slowest items with their inputs and how
	// long each took, the slowest first (see [pipeline.Stage.Slowest]):
	// only items slow enough to travel alone are timed one by one, so a
	// stage of fast items has none.
	Slowest []pipeline.SlowItem
}

// Amount returns the stage's progress in its unit: its weight when it
// declares one, else the items it finished (Counts.Done).
func (s StageSummary) Amount() int64 {
	if s.Unit != pipeline.Items {
		return s.Counts.Weight
	}
	return s.Counts.Done()
}

// Rate returns Amount per second of Elapsed, or 0.
func (s StageSummary) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Amount()) / s.Elapsed.Seconds()
}

// TimeSplit returns how the stage's workers shared their time over the
// run: busy, idle (waiting for input) or blocked (waiting for the next
// stage to take their results), as fractions of the time they recorded
// and of workers × Elapsed, the time not recorded (the last wait for
// input; a sink's waits) counting as idle. It is not known (all zero) for
// a stage that recorded no time: a slice or channel source, which has no
// goroutine of its own.
func (s StageSummary) TimeSplit() TimeSplit {
	return runSplit(s.Counts, max(s.Workers, 1), s.Elapsed, s.Kind == pipeline.KindSource)
}

// String returns the summary as one plain line: what the stage did, how
// its workers shared their time (when known) and its slowest items (when
// any was timed), inputs longer than 40 columns cut at their start:
//
//	hash: done, 120 items, 0 failed, 1.2 GiB in 4.1s (301.5 MiB/s); busy 92%, idle 3%, blocked 5%; slowest: big3 1.2s, big1 1.1s
func (s StageSummary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s, %d items", s.Name, s.Status, s.Counts.Done())
	fmt.Fprintf(&b, ", %d failed", s.Counts.Failed)
	if s.Counts.Dropped > 0 {
		fmt.Fprintf(&b, ", %d dropped", s.Counts.Dropped)
	}
	if s.Counts.Cancelled > 0 {
		fmt.Fprintf(&b, ", %d cancelled", s.Counts.Cancelled)
	}
	if s.Counts.Retries > 0 {
		fmt.Fprintf(&b, ", %d retried", s.Counts.Retries)
	}
	if s.Unit != pipeline.Items {
		amount := formatAmount(s.Counts.Weight, s.Unit)
		if s.Unit != pipeline.Bytes {
			amount += " " + string(s.Unit)
		}
		fmt.Fprintf(&b, ", %s", amount)
	}
	fmt.Fprintf(&b, " in %s (%s)", formatDuration(s.Elapsed), formatRate(s.Rate(), s.Unit))
	if split := s.TimeSplit(); split.Known() {
		b.WriteString("; ")
		b.WriteString(split.String())
	}
	if len(s.Slowest) > 0 {
		b.WriteString("; slowest: ")
		b.WriteString(formatSlowest(s.Slowest))
	}
	return b.String()
}

func (t *tracker) summary() StageSummary {
	el := t.finishedAt.Sub(t.started)
	return StageSummary{Name: t.st.Name(), Kind: t.st.Kind(), Unit: t.st.Unit(), Counts: t.st.Counts(), Elapsed: el, Status: t.status,
		Workers: t.st.Workers(), Slowest: t.st.Slowest()}
}

// writeLine writes one plain progress line for a stage:
//
//	[   3.0s] hash  41.0 MiB/120.0 MiB  34%  13.7 MiB/s  eta 5.8s  4 in, busy 98%  dir/file
func writeLine(w io.Writer, at time.Duration, v view, nameWidth int) {
	var b strings.Builder
	fmt.Fprintf(&b, "[%7s] %-*s", formatDuration(at), nameWidth, v.name)
	for _, f := range []string{v.counts, strings.TrimSpace(v.percent), v.rate, v.eta, v.insight, v.desc} {
		if f != "" {
			b.WriteString("  ")
			b.WriteString(f)
		}
	}
	b.WriteByte('\n')
	_, _ = io.WriteString(w, b.String())
}
