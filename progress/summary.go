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

// String returns the summary as one plain line:
//
//	hash: done, 120 items, 0 failed, 1.2 GiB in 4.1s (301.5 MiB/s)
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
	if s.Unit != pipeline.Items {
		amount := formatAmount(s.Counts.Weight, s.Unit)
		if s.Unit != pipeline.Bytes {
			amount += " " + string(s.Unit)
		}
		fmt.Fprintf(&b, ", %s", amount)
	}
	fmt.Fprintf(&b, " in %s (%s)", formatDuration(s.Elapsed), formatRate(s.Rate(), s.Unit))
	return b.String()
}

func (t *tracker) summary() StageSummary {
	el := t.finishedAt.Sub(t.started)
	return StageSummary{Name: t.st.Name(), Kind: t.st.Kind(), Unit: t.st.Unit(), Counts: t.st.Counts(), Elapsed: el, Status: t.status}
}

// writeLine writes one plain progress line for a stage:
//
//	[   3.0s] hash  41.0 MiB/120.0 MiB  34%  13.7 MiB/s  eta 5.8s  dir/file
func writeLine(w io.Writer, at time.Duration, v view, nameWidth int) {
	var b strings.Builder
	fmt.Fprintf(&b, "[%7s] %-*s", formatDuration(at), nameWidth, v.name)
	for _, f := range []string{v.counts, strings.TrimSpace(v.percent), v.rate, v.eta, v.desc} {
		if f != "" {
			b.WriteString("  ")
			b.WriteString(f)
		}
	}
	b.WriteByte('\n')
	_, _ = io.WriteString(w, b.String())
}
