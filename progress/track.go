package progress

import (
	"fmt"
	"sync"
	"time"

	"github.com/flowbar/flowbar/pipeline"
)

// Status is how a stage's bar ended.
type Status uint8

// The statuses of a stage.
const (
	Running Status = iota // the run goes on
	Done                  // every item expected was handled, none failed
	Failed                // at least one item failed
	Stopped               // items were left unprocessed: an error elsewhere, cancellation, or an early break
)

var statusNames = [...]string{"running", "done", "failed", "stopped"}

// String returns the status's lowercase name.
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "unknown"
}

// totalKind says how much is known of a bar's total.
type totalKind uint8

const (
	totalUnknown totalKind = iota // nothing: show counts and rate only
	totalGrowing                  // what the upstream emitted so far
	totalFinal                    // the total
)

// tracker follows one stage. Its fields are owned by the sampler goroutine;
// the view it publishes is read by the renderer under mu.
type tracker struct {
	st       *pipeline.Stage
	up       *tracker // the tracker of the upstream stage, or nil
	weighted bool
	ref      *tracker // weighted: the nearest upstream stage counting the same unit
	declared int64    // WithTotal, or -1
	// refDeclared is the total declared for ref, or -1
	refDeclared int64

	cur, last  int64
	lastT      time.Time
	started    time.Time
	ended      time.Time // when the stage was first seen finished (zero: not yet)
	finishedAt time.Time
	status     Status
	knownTotal int64 // the last final total seen while running
	// itemTotalShown: the items next to a weight were shown with a total
	// while running (the last frame keeps that form)
	itemTotalShown bool
	lost           bool // final: items were left unprocessed here or upstream
	reported       bool // line mode: its end has been written
	rate           ewmaRate

	// How far the stage is, as a fraction of its work: what the bar and
	// the percentage show and the time left is computed from.
	frac     float64
	fracOK   bool  // frac is known
	fracEst  bool  // frac is an estimate: the total is still growing
	fracPPM  int64 // frac in millionths at the last sample
	fracRate ewmaRate
	eta      time.Duration
	etaOK    bool

	ups   []*pipeline.Stage // the stages feeding this one
	downs []*tracker        // the trackers of the stages this one feeds
	split TimeSplit         // the live split at the last sample
	// sliced: a source whose total was known from the start (a slice),
	// which has no goroutine and whose workers' time is not shown
	sliced bool
	times  []timeSample // the recent samples of the time meters, for the live split

	mu   sync.Mutex
	view view
}

// view is what a bar shows, computed once per sample.
type view struct {
	name    string
	cur     int64
	total   int64
	kind    totalKind
	frac    float64 // how far the stage is, when fracOK
	fracOK  bool
	left    time.Duration // the time left, when leftOK
	leftOK  bool
	counts  string
	short   string // counts without the items next to a weight, for narrow terminals
	percent string
	rate    string
	eta     string
	desc    string
	// insight is what the workers are doing: "4 in, busy 98%"
	insight string
	// insightW is the width the insight column starts at (0: none)
	insightW int
	status   Status
}

// newTracker follows st; trackers holds the trackers of the stages before
// it, in composition order.
func newTracker(st *pipeline.Stage, trackers []*tracker, declared map[string]int64, now time.Time) *tracker {
	t := &tracker{st: st, weighted: st.Unit() != pipeline.Items, declared: -1, refDeclared: -1, lastT: now, started: now,
		ups: st.Upstreams(), times: []timeSample{{at: now}}}
	byStage := func(s *pipeline.Stage) *tracker {
		for _, u := range trackers {
			if u.st == s {
				return u
			}
		}
		return nil
	}
	if u := st.Upstream(); u != nil {
		t.up = byStage(u)
	} else {
		_, t.sliced = st.Total()
	}
	if n, ok := declared[st.Name()]; ok {
		t.declared = n
	}
	if t.weighted {
		for up := st.Upstream(); up != nil; up = up.Upstream() {
			if up.Unit() == st.Unit() {
				t.ref = byStage(up)
				if n, ok := declared[up.Name()]; ok {
					t.refDeclared = n
				}
				break
			}
		}
	}
	t.view = view{name: st.Name()}
	return t
}

// total returns the stage's expected total in its unit, and the tracker
// whose progress bounds a total that is still growing (nil if none).
func (t *tracker) total() (int64, totalKind, *tracker) {
	var n int64
	var final, known bool
	var bound *tracker
	if t.weighted {
		if t.ref != nil {
			n, final, known, bound = t.ref.st.Counts().Weight, t.ref.st.Finished(), true, t.ref
			if !final && t.refDeclared >= 0 {
				n, final = t.refDeclared, true
			}
			if w, ok := t.ref.st.WeightTotal(); ok && !final {
				n, final = w, true // what the stage declared it will weigh
			}
		} else if w, ok := t.st.WeightTotal(); ok {
			n, final, known = w, true, true
		}
	} else {
		n, final = t.st.Total()
		known = final || t.st.Upstream() != nil
		bound = t.up
	}
	switch {
	case final:
		return n, totalFinal, nil
	case t.declared >= 0:
		return t.declared, totalFinal, nil
	case known:
		return n, totalGrowing, bound
	}
	return 0, totalUnknown, nil
}

// itemTotal returns the number of items the stage expects, for a weighted
// stage whose weight total is unknown.
func (t *tracker) itemTotal() (int64, totalKind) {
	n, final := t.st.Total()
	switch {
	case final:
		return n, totalFinal
	case t.st.Upstream() != nil:
		return n, totalGrowing
	}
	return 0, totalUnknown
}

// fraction returns how far cur is through total. A growing total (what
// the upstream handed on so far) gives an estimate, scaled by how far the
// upstream itself is, so that a stage keeping up with a slow upstream does
// not read as nearly done; without that it gives nothing.
func fraction(cur, total int64, kind totalKind, bound *tracker) (f float64, est, ok bool) {
	switch kind {
	case totalFinal:
		if total <= 0 {
			return 0, false, false
		}
		return min(float64(cur)/float64(total), 1), false, true
	case totalGrowing:
		if bound == nil || !bound.fracOK || total <= 0 {
			return 0, false, false
		}
		f = float64(cur) / float64(total) * bound.frac
		if bound.status == Running || bound.fracEst {
			f = min(f, 0.99) // not done before the total is final
		}
		return f, true, true
	}
	return 0, false, false
}

// poll records when the stage is first seen finished. The sampler calls it
// often, so that the times in summaries are measured, not rounded to the
// refresh.
func (t *tracker) poll(now time.Time) bool {
	if !t.ended.IsZero() {
		return true
	}
	if t.st.Finished() {
		t.ended = now
	} else if total, kind, _ := t.total(); kind == totalFinal && !t.weighted && t.st.Upstream() == nil && t.st.Counts().Done() >= total {
		t.ended = now // a source that has handed out its whole known total
	}
	return !t.ended.IsZero()
}

// sample reads the stage's meters at now and updates the view. With final
// set (the run has ended) it decides the stage's status; err is the run's
// error and upstream the status of the stage feeding this one.
func (t *tracker) sample(now time.Time, final bool, err error, upstream Status, descWidth int) view {
	c := t.st.Counts()
	if t.weighted {
		t.cur = c.Weight
	} else {
		t.cur = c.Done()
	}
	dt := now.Sub(t.lastT)
	t.rate.update(t.cur-t.last, dt)
	t.last, t.lastT = t.cur, now
	total, kind, bound := t.total()
	if t.status == Running {
		finished := t.st.Finished()
		if !finished && !t.weighted && t.st.Upstream() == nil && kind == totalFinal && t.cur >= total {
			// A source that has handed out all of its known total is done,
			// even though its goroutine-less feed ends with its consumer.
			finished = true
		}
		clean := finished && c.Failed == 0 && c.Cancelled == 0 && (kind != totalFinal || t.cur >= total || t.weighted)
		switch {
		case final:
			short := kind == totalFinal && !t.weighted && t.cur < total
			t.status = finalStatus(c, clean, err, upstream, short)
			// A failed stage that also left items unprocessed (fail-fast)
			// has stopped the stages after it.
			t.lost = upstream == Stopped || c.Cancelled > 0 || short
		case clean && (upstream == Done || t.st.Upstream() == nil):
			t.status = Done
		}
		if t.status != Running {
			t.finishedAt = now
			if !t.ended.IsZero() && t.ended.Before(now) {
				t.finishedAt = t.ended
			}
		}
	}
	switch {
	case t.status == Done && kind != totalUnknown:
		total, kind = t.cur, totalFinal
	case t.status == Running && kind == totalFinal:
		t.knownTotal = total
	case t.status != Running && t.knownTotal > total:
		// A stopped run hands on fewer items than were expected: show
		// how far it got of the whole.
		total, kind = t.knownTotal, totalFinal
	}
	if kind != totalUnknown && total < t.cur {
		total = t.cur
	}

	// How far the stage is: from its own total, or, for a weighted stage
	// whose weight total is unknown, from its items.
	byItems := false
	var f float64
	var est, ok bool
	if t.status == Done {
		f, ok = 1, true
	} else {
		f, est, ok = fraction(t.cur, total, kind, bound)
		if !ok && t.weighted && kind == totalUnknown {
			n, k := t.itemTotal()
			byItems = k != totalUnknown
			f, est, ok = fraction(c.Done(), max(n, c.Done()), k, t.up)
		}
		if t.status != Running && t.fracEst {
			// Stopped while the total still grew: what it received is
			// not the whole, so keep the last estimate of how far it got.
			f, est, ok = t.frac, true, true
			if kind == totalFinal && !byItems {
				kind = totalGrowing
			}
		}
	}
	t.frac, t.fracEst, t.fracOK = f, est, ok
	ppm := int64(f * 1e6)
	if ok {
		t.fracRate.update(ppm-t.fracPPM, dt)
		t.fracPPM = ppm
	}
	t.etaOK = false
	if t.status == Running && ok {
		if d, ok := t.fracRate.eta(1e6 - ppm); ok {
			t.eta, t.etaOK = d, true
		}
		if u := bound; est && u != nil && u.status == Running {
			// A stage cannot end before the stage that feeds it.
			if !u.etaOK {
				t.etaOK = false
			} else if u.eta > t.eta {
				t.eta = u.eta
			}
		}
	}

	v := view{name: t.st.Name(), cur: t.cur, total: total, kind: kind, frac: f, fracOK: ok, left: t.eta, leftOK: t.etaOK, status: t.status}
	v.counts, v.short = t.formatCounts(c, total, kind, byItems)
	if ok {
		pct := int64(f * 100)
		if t.status == Running {
			pct = min(pct, 99) // 100% only once the stage has ended
		}
		if est {
			v.percent = fmt.Sprintf("~%d%%", pct)
		} else {
			v.percent = fmt.Sprintf("%d%%", pct)
		}
	}
	unit := t.st.Unit()
	switch t.status {
	case Running:
		v.rate = formatRate(t.rate.perSecond(), unit)
		if t.etaOK {
			v.eta = "eta " + formatDuration(t.eta)
		}
	default:
		el := t.finishedAt.Sub(t.started)
		if el > 0 {
			v.rate = formatRate(float64(t.cur)/el.Seconds(), unit)
		}
		v.eta = t.status.String() + " " + formatDuration(el)
		if c.Failed > 0 {
			v.eta += fmt.Sprintf(", %d failed", c.Failed)
		}
	}
	if c.Retries > 0 {
		if v.eta != "" {
			v.eta += ", "
		}
		v.eta += fmt.Sprintf("%d retried", c.Retries)
	}
	if t.hasInsight() {
		var split TimeSplit
		if t.status == Running {
			split = t.liveSplit(c, now)
			t.split = split
		} else {
			split = runSplit(c, t.st.Workers(), t.finishedAt.Sub(t.started), len(t.ups) == 0)
		}
		v.insight = t.formatInsight(c, split)
		v.insightW = t.insightWidth(c)
	}
	if descWidth > 0 {
		v.desc = cutLeft(t.st.Description(), descWidth)
	}
	t.mu.Lock()
	t.view = v
	t.mu.Unlock()
	return v
}

func finalStatus(c pipeline.Counts, clean bool, err error, upstream Status, short bool) Status {
	switch {
	case c.Failed > 0:
		return Failed
	case !clean || short || upstream == Stopped:
		return Stopped
	case err != nil && upstream == Done:
		// The run failed although nothing was lost here or upstream:
		// the error came from outside the stages' items.
		return Stopped
	}
	return Done
}

// current returns the last published view.
func (t *tracker) current() view {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.view
}

// formatCounts shows how much is done, of what total: "7/10 items",
// "12/40 items+" (the total may grow), "3/8 items  1.2 MiB/4.0 MiB". The
// count is padded to the width of the total, so that the column does not
// move as it grows. byItems says that a weighted stage's fraction comes
// from its items. short is the same without the items next to a weight.
func (t *tracker) formatCounts(c pipeline.Counts, total int64, kind totalKind, byItems bool) (full, short string) {
	u := t.st.Unit()
	width := 0
	if u == pipeline.Bytes {
		width = len("999.9 MiB") // a size's width changes with its prefix
	}
	var s string
	if kind == totalUnknown {
		s = padLeft(formatAmount(t.cur, u), width)
	} else {
		tot := formatAmount(total, u)
		s = padLeft(formatAmount(t.cur, u), max(len(tot), width)) + "/" + tot
	}
	if u == pipeline.Items {
		s += " items"
	} else if u != pipeline.Bytes {
		s += " " + string(u)
	}
	if kind == totalGrowing {
		s += "+" // more may come
	}
	if byItems && u != pipeline.Bytes && c.Weight == c.Done() {
		// One unit per item (rows of a file): the items are the units.
		if n, final := t.st.Total(); final || t.st.Upstream() != nil {
			tot := fmt.Sprint(max(n, c.Done()))
			s = padLeft(fmt.Sprint(c.Done()), len(tot)) + "/" + tot + " " + string(u)
			if !final && t.status == Running {
				s += "+"
			}
		}
		return s, s
	}
	if u == pipeline.Bytes || byItems {
		// A weight alone hides how many items it is: show both.
		done := c.Done()
		items := fmt.Sprint(done)
		n, final := t.st.Total()
		if t.status == Running {
			t.itemTotalShown = final || t.st.Upstream() != nil
		}
		if t.itemTotalShown {
			tot := fmt.Sprint(max(n, done))
			items = padLeft(items, len(tot)) + "/" + tot
			if !final && t.status == Running {
				items += "+"
			}
		}
		return items + " items  " + s, s
	}
	return s, s
}
