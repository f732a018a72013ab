package progress

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-runewidth"
	"github.com/vbauerster/mpb/v8/decor"

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
	weighted bool
	ref      *pipeline.Stage // weighted: the nearest upstream stage counting the same unit
	declared int64           // WithTotal, or -1
	// refDeclared is the total declared for ref, or -1
	refDeclared int64

	cur, last  int64
	lastT      time.Time
	started    time.Time
	finishedAt time.Time
	status     Status
	lost       bool // final: items were left unprocessed here or upstream
	reported   bool // line mode: its end has been written
	rate       ewmaRate

	mu   sync.Mutex
	view view
}

// view is what a bar shows, computed once per sample.
type view struct {
	name    string
	cur     int64
	total   int64
	kind    totalKind
	counts  string
	percent string
	rate    string
	eta     string
	desc    string
	status  Status
}

func newTracker(st *pipeline.Stage, declared map[string]int64, now time.Time) *tracker {
	t := &tracker{st: st, weighted: st.Unit() != pipeline.Items, declared: -1, refDeclared: -1, lastT: now, started: now}
	if n, ok := declared[st.Name()]; ok {
		t.declared = n
	}
	if t.weighted {
		for up := st.Upstream(); up != nil; up = up.Upstream() {
			if up.Unit() == st.Unit() {
				t.ref = up
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

// total returns the stage's expected total in its unit.
func (t *tracker) total() (int64, totalKind) {
	var n int64
	var final, known bool
	if t.weighted {
		if t.ref != nil {
			n, final, known = t.ref.Counts().Weight, t.ref.Finished(), true
			if !final && t.refDeclared >= 0 {
				n, final = t.refDeclared, true
			}
		}
	} else {
		n, final = t.st.Total()
		known = final || t.st.Upstream() != nil
	}
	switch {
	case final:
		return n, totalFinal
	case t.declared >= 0:
		return t.declared, totalFinal
	case known:
		return n, totalGrowing
	}
	return 0, totalUnknown
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
	t.rate.update(t.cur-t.last, now.Sub(t.lastT))
	t.last, t.lastT = t.cur, now
	total, kind := t.total()
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
		}
	}
	if t.status == Done {
		total, kind = t.cur, totalFinal
	}
	if kind != totalUnknown && total < t.cur {
		total = t.cur
	}
	v := view{name: t.st.Name(), cur: t.cur, total: total, kind: kind, status: t.status}
	v.counts = t.formatCounts(c, total, kind)
	if kind != totalUnknown && total > 0 {
		v.percent = fmt.Sprintf("%3d%%", t.cur*100/total)
	}
	unit := t.st.Unit()
	switch t.status {
	case Running:
		v.rate = formatRate(t.rate.perSecond(), unit)
		if kind == totalFinal {
			if d, ok := t.rate.eta(total - t.cur); ok {
				v.eta = "eta " + formatDuration(d)
			}
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

func (t *tracker) formatCounts(c pipeline.Counts, total int64, kind totalKind) string {
	u := t.st.Unit()
	var s string
	if kind == totalUnknown {
		s = formatAmount(t.cur, u)
	} else {
		s = formatAmount(t.cur, u) + "/" + formatAmount(total, u)
	}
	if u == pipeline.Items {
		s += " items"
	} else if u != pipeline.Bytes {
		s += " " + string(u)
	}
	if kind == totalGrowing {
		s += "+" // more may come
	}
	if u == pipeline.Bytes {
		// Bytes alone hide how many items they are: show both.
		items := fmt.Sprint(c.Done())
		if n, final := t.st.Total(); final || t.st.Upstream() != nil {
			items += "/" + fmt.Sprint(max(n, c.Done()))
		}
		s = items + " items  " + s
	}
	return s
}

func formatAmount(n int64, u pipeline.Unit) string {
	if u == pipeline.Bytes {
		if n < 1024 {
			return fmt.Sprintf("%d B", n)
		}
		return fmt.Sprintf("% .1f", decor.SizeB1024(n))
	}
	return fmt.Sprint(n)
}

func formatRate(r float64, u pipeline.Unit) string {
	if math.IsNaN(r) || math.IsInf(r, 0) || r < 0 {
		r = 0
	}
	if u == pipeline.Bytes {
		if r < 1024 {
			return fmt.Sprintf("%.0f B/s", r)
		}
		return fmt.Sprintf("% .1f", decor.FmtAsSpeed(decor.SizeB1024(math.Round(r))))
	}
	name := string(u)
	if u == pipeline.Items {
		name = "items"
	}
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2fM %s/s", r/1e6, name)
	case r >= 1e4:
		return fmt.Sprintf("%.1fk %s/s", r/1e3, name)
	case r >= 100:
		return fmt.Sprintf("%.0f %s/s", r, name)
	}
	return fmt.Sprintf("%.1f %s/s", r, name)
}

// formatDuration prints d rounded to a readable precision: 850ms, 4.2s,
// 1m05s, 2h03m.
func formatDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Round(time.Second).Seconds()))
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// cutLeft keeps the last columns of s that fit in w, marking the cut with
// "…". Control characters become spaces so a description cannot break the
// layout.
func cutLeft(s string, w int) string {
	if strings.ContainsAny(s, "\n\r\t\x1b") {
		s = strings.Map(func(r rune) rune {
			if r < ' ' || r == 0x7f {
				return ' '
			}
			return r
		}, s)
	}
	if runewidth.StringWidth(s) <= w {
		return s
	}
	rs := []rune(s)
	width := 1 // the ellipsis
	i := len(rs)
	for i > 0 {
		rw := runewidth.RuneWidth(rs[i-1])
		if width+rw > w {
			break
		}
		width += rw
		i--
	}
	return "…" + string(rs[i:])
}

// ewmaRate is the rate of progress as tqdm smooths it: exponentially
// weighted moving averages of the progress made per sample and of the time
// between samples, divided. Averaging the two separately keeps one slow
// sample (a tick in which a single small item finished) from swamping the
// rate, and ticks without progress still count their time, so slow items
// (one per several ticks) give a true rate.
type ewmaRate struct {
	dn, dt  float64 // smoothed units and nanoseconds per sample
	seen    bool    // some progress has been made
	waiting time.Duration
}

const ewmaAlpha = 0.1

func (e *ewmaRate) update(n int64, dt time.Duration) {
	if dt < 0 {
		dt = 0
	}
	if !e.seen {
		// The first sample with progress covers the time since the start.
		e.waiting += dt
		if n > 0 {
			e.dn, e.dt, e.seen = float64(n), float64(e.waiting), true
		}
		return
	}
	e.dn += ewmaAlpha * (float64(n) - e.dn)
	e.dt += ewmaAlpha * (float64(dt) - e.dt)
}

func (e *ewmaRate) perSecond() float64 {
	if !e.seen || e.dt <= 0 {
		return 0
	}
	return e.dn / e.dt * 1e9
}

func (e *ewmaRate) eta(left int64) (time.Duration, bool) {
	r := e.perSecond()
	if r <= 0 || left < 0 {
		return 0, false
	}
	return time.Duration(float64(left) / r * 1e9), true
}
