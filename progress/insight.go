package progress

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/flowbar/flowbar/pipeline"
)

// TimeSplit is how a stage's workers shared their time: the fractions of
// it they spent busy (running the stage's function; for a sink, consuming),
// idle (waiting for input) and blocked (waiting for the next stage to take
// their results). The three add up to 1, or are all 0 when the stage
// measured nothing: a slice or channel source has no goroutine of its own.
//
// A stage mostly busy whose upstream stages are mostly blocked and whose
// downstream stages are mostly idle is the pipeline's bottleneck: more
// workers there (or faster items) speed the whole run up.
type TimeSplit struct {
	// Busy is the share of the time spent running the stage's function.
	Busy float64
	// Idle is the share of the time spent waiting for input.
	Idle float64
	// Blocked is the share of the time spent waiting for the next stage.
	Blocked float64
}

// Known reports whether the split was measured.
func (s TimeSplit) Known() bool { return s.Busy+s.Idle+s.Blocked > 0 }

// Percent returns the busy, idle and blocked shares in whole percent,
// rounded so that they add up to 100 (all 0 when the split is not known).
func (s TimeSplit) Percent() (busy, idle, blocked int) {
	p := s.percent()
	return p[0], p[1], p[2]
}

// percent rounds the three shares to whole percent by largest remainder.
func (s TimeSplit) percent() [3]int {
	var p [3]int
	sum := s.Busy + s.Idle + s.Blocked
	if !(sum > 0) || math.IsInf(sum, 0) {
		return p
	}
	shares := [3]float64{s.Busy / sum * 100, s.Idle / sum * 100, s.Blocked / sum * 100}
	left := 100
	for i, f := range shares {
		p[i] = int(math.Floor(f))
		left -= p[i]
	}
	for ; left > 0; left-- {
		best := 0
		for i := range shares {
			if shares[i]-float64(p[i]) > shares[best]-float64(p[best]) {
				best = i
			}
		}
		p[best]++
		shares[best] = float64(p[best]) // taken: its remainder is now 0
	}
	return p
}

var splitNames = [3]string{"busy", "idle", "blocked"}

// String returns the split as "busy 92%, idle 3%, blocked 5%", or "" when
// it is not known.
func (s TimeSplit) String() string {
	if !s.Known() {
		return ""
	}
	p := s.percent()
	return fmt.Sprintf("busy %d%%, idle %d%%, blocked %d%%", p[0], p[1], p[2])
}

// dominant returns the state that took most of the time, with its share:
// "busy 92%", "idle 85%", "blocked 97%"; "" when the split is not known.
func (s TimeSplit) dominant() string {
	if !s.Known() {
		return ""
	}
	p := s.percent()
	best := 0
	for i := range p {
		if p[i] > p[best] {
			best = i
		}
	}
	return fmt.Sprintf("%s %d%%", splitNames[best], p[best])
}

// runSplit is the split of a whole run: the time the workers recorded,
// and, for the rest of workers × elapsed (the last wait for input, which
// no chunk follows; a sink's waits, which it does not record), idle time,
// or busy time for a source. A source that recorded nothing has no split.
func runSplit(c pipeline.Counts, workers int, el time.Duration, source bool) TimeSplit {
	busy, idle, blocked := float64(max(c.Busy, 0)), float64(max(c.Idle, 0)), float64(max(c.Blocked, 0))
	sum := busy + idle + blocked
	if sum <= 0 && source {
		return TimeSplit{} // no goroutine of its own, or nothing measured
	}
	if rest := float64(workers)*float64(el) - sum; rest > 0 {
		if source {
			busy += rest
		} else {
			idle += rest
		}
		sum += rest
	}
	if sum <= 0 {
		return TimeSplit{}
	}
	return TimeSplit{busy / sum, idle / sum, blocked / sum}
}

// insightWindow is the recent interval the live split covers: long enough
// that items recorded by the chunk average out, short enough to follow a
// change of pace.
const insightWindow = time.Second

// maxTimeSamples bounds the samples kept for the window (a short refresh
// then gets a shorter window).
const maxTimeSamples = 32

// timeSample is a stage's time meters at one sample, and what it had
// emitted.
type timeSample struct {
	at                  time.Time
	busy, idle, blocked time.Duration
	emitted             int64
}

// liveSplit estimates how the stage's workers spent the recent interval:
// the deltas of their time meters since the newest sample at least
// insightWindow old, divided by workers × elapsed.
//
// Workers add to the meters when a chunk, a wait for input or a blocked
// hand-off ends, so the time of those still under way is not in the
// deltas yet. It is counted in the state the workers are in now, as the
// stage's other meters show it: as many workers as there are items in
// flight are busy; the others are blocked if input is waiting for them
// (a worker that cannot hand on its results takes no more), else idle. A
// source (whose own time is recorded only at its end) is blocked if it
// emitted nothing during the interval while the items it emitted wait to
// be taken, else busy; a sink is busy while input waits for it, else
// idle. When the deltas exceed the interval (a chunk that began before
// it), they are scaled down to it.
func (t *tracker) liveSplit(c pipeline.Counts, now time.Time) TimeSplit {
	s := timeSample{at: now, busy: c.Busy, idle: c.Idle, blocked: c.Blocked, emitted: c.Emitted}
	t.times = append(t.times, s)
	for len(t.times) > 2 && (now.Sub(t.times[1].at) >= insightWindow || len(t.times) > maxTimeSamples) {
		t.times = t.times[1:]
	}
	base := t.times[0]
	dt := now.Sub(base.at)
	if dt <= 0 {
		return TimeSplit{}
	}
	if len(t.ups) == 0 && c.Busy+c.Blocked == 0 {
		return t.untimedSource(c, base)
	}
	workers := max(t.st.Workers(), 1)
	busy := float64(max(s.busy-base.busy, 0))
	idle := float64(max(s.idle-base.idle, 0))
	blocked := float64(max(s.blocked-base.blocked, 0))
	if rest := float64(workers)*float64(dt) - (busy + idle + blocked); rest > 0 {
		fb, fi, fk := t.stateNow(c, workers, c.Emitted > base.emitted)
		busy += rest * fb
		idle += rest * fi
		blocked += rest * fk
	}
	sum := busy + idle + blocked
	if sum <= 0 {
		return TimeSplit{}
	}
	return TimeSplit{busy / sum, idle / sum, blocked / sum}
}

// untimedSource is the live split of a source that has recorded no time
// yet: a generator records its blocked hand-offs as they end and the rest
// when it finishes; a channel source (its values are received by the next
// stage's workers) records none. It is blocked if it emitted nothing
// since base while the items it emitted wait to be taken; busy (its
// values are what the pipeline waits for) if the stages it feeds are
// mostly idle; else not known.
func (t *tracker) untimedSource(c pipeline.Counts, base timeSample) TimeSplit {
	if c.Emitted == base.emitted && t.outputWaiting(c) {
		return TimeSplit{Blocked: 1}
	}
	for _, d := range t.downs {
		if d.split.Idle <= 0.5 {
			return TimeSplit{}
		}
	}
	if len(t.downs) == 0 {
		return TimeSplit{}
	}
	return TimeSplit{Busy: 1}
}

// stateNow returns the fractions of the stage's workers that are busy,
// idle and blocked now, as far as its meters and its neighbours' show;
// emitting says that the stage emitted items during the interval.
func (t *tracker) stateNow(c pipeline.Counts, workers int, emitting bool) (busy, idle, blocked float64) {
	switch {
	case len(t.ups) == 0:
		if !emitting && t.outputWaiting(c) {
			return 0, 0, 1
		}
		return 1, 0, 0
	case t.st.Kind() == pipeline.KindSink:
		if t.inputWaiting(c) {
			return 1, 0, 0
		}
		return 0, 1, 0
	}
	busy = float64(min(c.InFlight, int64(workers))) / float64(workers)
	if t.inputWaiting(c) {
		return busy, 0, 1 - busy
	}
	return busy, 1 - busy, 0
}

// inputWaiting reports whether items handed to the stage wait to be taken:
// its upstreams emitted more than it took in (a slice source hands on all
// of its items at once).
func (t *tracker) inputWaiting(c pipeline.Counts) bool {
	var handed int64
	for _, up := range t.ups {
		if up.Kind() == pipeline.KindSource {
			n, _ := up.Total()
			handed += n
		} else {
			handed += up.Counts().Emitted
		}
	}
	return handed > c.In
}

// outputWaiting reports whether items the stage emitted (a generator's:
// queued) wait to be taken by the stages it feeds.
func (t *tracker) outputWaiting(c pipeline.Counts) bool {
	var taken int64
	for _, d := range t.downs {
		taken += d.st.Counts().In
	}
	emitted := c.Emitted
	if len(t.ups) == 0 {
		// A generator counts its items in as it queues them and out as
		// the next stage takes them.
		emitted = max(emitted, c.In-c.Failed-c.Dropped-c.Cancelled)
	}
	return len(t.downs) > 0 && emitted > taken
}

// hasInsight reports whether the stage's workers' time can be shown: not
// for a slice source, which has no goroutine and is done at once.
func (t *tracker) hasInsight() bool { return !t.sliced }

// inFlightShown reports whether the live column shows items in flight:
// for the stages between the source and the sink.
func (t *tracker) inFlightShown() bool {
	return len(t.ups) > 0 && t.st.Kind() != pipeline.KindSink
}

// formatInsight returns the live column: "4 in, busy 98%" (items in
// flight, then the state that took most of the workers' recent time and
// its share), "blocked 97%" for a source or a sink; "" when unknown.
func (t *tracker) formatInsight(c pipeline.Counts, split TimeSplit) string {
	d := split.dominant()
	if d == "" {
		return ""
	}
	if t.status == Running && t.inFlightShown() {
		return fmt.Sprintf("%d in, %s", c.InFlight, d)
	}
	return d
}

// insightWidth is the width the live column starts at for the stage: what
// it takes at its widest with the items in flight it has now.
func (t *tracker) insightWidth(c pipeline.Counts) int {
	if !t.hasInsight() {
		return 0
	}
	w := len("blocked 100%")
	if t.inFlightShown() {
		w += len(fmt.Sprintf("%d in, ", c.InFlight))
	}
	return w
}

// slowInputWidth bounds an input in a summary's list of slowest items; a
// longer one is cut at its start, keeping its end.
const slowInputWidth = 40

// formatSlowest returns "big3 1.2s, big1 1.1s".
func formatSlowest(items []pipeline.SlowItem) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = cutLeft(it.Input, slowInputWidth) + " " + formatDuration(it.Took)
	}
	return strings.Join(parts, ", ")
}
