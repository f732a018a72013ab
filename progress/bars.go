package progress

import (
	"context"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-runewidth"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/flowbar/flowbar/pipeline"
)

// finishGrace bounds how long Stop waits for the bars to draw their last
// frame before it shuts the container down.
const finishGrace = 2 * time.Second

// maxBarWidth bounds the bar itself, so that a wide terminal does not push
// the figures far to the right.
const maxBarWidth = 40

// minBarWidth is the least room kept for the bar when a description would
// take it: a description is cut first.
const minBarWidth = 10

// minDescWidth is the least room worth showing a description in.
const minDescWidth = 8

// The columns after the bar, in order.
const (
	colCounts = iota
	colShort  // the counts without the items next to a weight
	colPercent
	colRate
	colStatus  // the time left, or how the stage ended
	colInsight // what the workers are doing: "4 in, busy 98%"
	nCols
)

// layout holds the widths every bar's columns are drawn at. The sampler
// widens them from each sample and never narrows them during a run, so
// the bar and the columns stay put as the figures change; the renderer
// reads them under mu.
type layout struct {
	mu   sync.Mutex
	name int
	cols [nCols]int
}

// widen grows the widths to fit the views of the shown stages. The
// columns whose figures change width as they change start as wide as
// they usually get: "100%", "9999 items/s", "eta 1m05s", "4 in, blocked
// 100%".
func (l *layout) widen(views []view, shown []bool, trackers []*tracker) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, v := range views {
		if !shown[i] {
			continue
		}
		l.name = max(l.name, runewidth.StringWidth(v.name))
		l.cols[colPercent] = max(l.cols[colPercent], len("100%"))
		l.cols[colRate] = max(l.cols[colRate], rateWidth(trackers[i].st.Unit()))
		l.cols[colStatus] = max(l.cols[colStatus], len("eta 1m05s"))
		l.cols[colInsight] = max(l.cols[colInsight], v.insightW)
		for c, s := range [nCols]string{v.counts, v.short, v.percent, v.rate, v.eta, v.insight} {
			if c == colStatus && v.status != Running {
				// "stopped 4.1s, 3 failed" takes the description's room
				// rather than narrowing the bar in the last frame.
				continue
			}
			l.cols[c] = max(l.cols[c], runewidth.StringWidth(s))
		}
	}
}

// rateWidth is the width of a rate in unit u below ten thousand per
// second, the width a rate column starts at. A rate in bytes takes up to
// "1023.9 MiB/s" below 1 GiB/s: a rate passing from KiB/s to MiB/s goes
// through 1000-1023.9 KiB/s, and the bar would shrink by a column then.
func rateWidth(u pipeline.Unit) int {
	if u == pipeline.Bytes {
		return len("1023.9 MiB/s")
	}
	return len(formatRate(9999, u))
}

func (l *layout) snapshot() (name int, cols [nCols]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.name, l.cols
}

// render lays out one bar's line in fewer than width columns:
//
//	name [=====>-----] counts percent rate status insight description
//
// Columns are padded to the layout's widths. When the line does not fit,
// the insight goes first, then the description, then the rate, then the
// bar shrinks and goes; the columns left are cut by mpb as a last resort.
func (l *layout) render(v view, width int) string {
	nameW, cols := l.snapshot()
	room := width - 1 // a line as wide as the terminal wraps on some of them
	shown := [nCols]bool{true, false, cols[colPercent] > 0, true, cols[colStatus] > 0, cols[colInsight] > 0}
	fixed := func() int {
		n := nameW
		for c, w := range cols {
			if shown[c] && w > 0 {
				n += 1 + w
			}
		}
		return n
	}
	// Room for a description is kept whether or not one has been seen
	// yet, so that the bar does not shrink when the first one comes.
	descPart := 1 + minDescWidth
	// The bar with its brackets and the space before it.
	barW := room - fixed() - 3 - descPart
	if barW < minBarWidth && shown[colInsight] {
		shown[colInsight] = false
		barW = room - fixed() - 3 - descPart
	}
	if barW < minBarWidth {
		descPart = 0
		barW = room - fixed() - 3
	}
	if barW < minBarWidth && shown[colRate] {
		shown[colRate] = false
		barW = room - fixed() - 3
	}
	if barW < minBarWidth && cols[colShort] < cols[colCounts] {
		shown[colCounts], shown[colShort] = false, true
		barW = room - fixed() - 3
	}
	barW = min(barW, maxBarWidth)

	line := l.line(v, nameW, cols, shown, barW, room)
	if over := runewidth.StringWidth(line) - room; over > 0 && barW >= 4 {
		// A final status longer than its column ("stopped 952ms, 3
		// failed") on a narrow terminal: the last frame narrows the
		// bar rather than cut the status.
		line = l.line(v, nameW, cols, shown, barW-over, room)
	}
	if runewidth.StringWidth(line) > room {
		line = runewidth.Truncate(line, room, "…")
	}
	return line
}

// line builds a bar's line with the bar barW columns wide (none if fewer
// than 4) and the columns that are shown, and a description in what is
// left of room.
func (l *layout) line(v view, nameW int, cols [nCols]int, shown [nCols]bool, barW, room int) string {
	var b strings.Builder
	b.WriteString(v.name)
	b.WriteString(strings.Repeat(" ", nameW-runewidth.StringWidth(v.name)))
	if barW >= 4 {
		b.WriteByte(' ')
		drawBar(&b, v, barW)
	}
	fields := [nCols]string{v.counts, v.short, v.percent, v.rate, v.eta, v.insight}
	for c, s := range fields {
		if !shown[c] || cols[c] == 0 {
			continue
		}
		b.WriteByte(' ')
		pad := strings.Repeat(" ", max(cols[c]-runewidth.StringWidth(s), 0))
		if c == colStatus {
			b.WriteString(s + pad)
		} else {
			b.WriteString(pad + s) // numbers are right-aligned
		}
	}
	if left := room - runewidth.StringWidth(b.String()) - 1; v.desc != "" && left >= minDescWidth {
		b.WriteByte(' ')
		b.WriteString(cutLeft(v.desc, left))
	}
	return strings.TrimRight(b.String(), " ")
}

// drawBar draws the bar, w columns wide with its brackets: filled to the
// stage's fraction, or an empty track when that is unknown.
func drawBar(b *strings.Builder, v view, w int) {
	inner := w - 2
	b.WriteByte('[')
	switch {
	case !v.fracOK:
		b.WriteString(strings.Repeat(" ", inner))
	case v.frac >= 1:
		b.WriteString(strings.Repeat("=", inner))
	default:
		n := int(v.frac * float64(inner))
		if n > 0 {
			b.WriteString(strings.Repeat("=", n-1))
			b.WriteByte('>')
		}
		b.WriteString(strings.Repeat("-", inner-n))
	}
	b.WriteByte(']')
}

// startBars creates the mpb container. The container redraws only when
// the sampler asks (manual refresh), so every frame shows one consistent
// sample; the bars themselves are added by addBars once the board knows
// which stages carry information.
func (b *Board) startBars(r *boardRun) {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.redraw = make(chan any)
	width := b.cfg.width
	if width == 0 {
		width = FallbackWidth
		if b.cfg.terminal == 1 {
			width = DefaultWidth
		}
	}
	r.console = newConsole(b.cfg.out, width)
	r.mp = mpb.NewWithContext(ctx,
		mpb.WithConsoleWriter(r.console),
		mpb.WithManualRefresh(r.redraw),
		mpb.WithQueueLen(len(r.trackers)),
	)
}

// addBars adds one mpb bar per shown stage, each drawing its whole line.
func (b *Board) addBars(r *boardRun) {
	for i, t := range r.trackers {
		if !r.shown[i] {
			continue
		}
		r.bars[i] = r.mp.New(0, lineFiller{t, &r.layout}, mpb.BarFillerTrim())
	}
}

// lineFiller draws a bar's whole line from its tracker's last view; it
// reads stored strings, so that nothing is formatted per item.
type lineFiller struct {
	t *tracker
	l *layout
}

func (f lineFiller) Build() mpb.BarFiller { return f }

func (f lineFiller) Fill(w io.Writer, stat decor.Statistics) error {
	_, err := io.WriteString(w, f.l.render(f.t.current(), stat.AvailableWidth))
	return err
}

// feedBars ends the bars of the stages that ended: a bar whose stage is
// done is completed; at the end of the run the others abort.
func (b *Board) feedBars(r *boardRun, views []view) {
	for i, v := range views {
		bar := r.bars[i]
		if bar == nil {
			continue
		}
		switch v.status {
		case Running:
		case Done:
			bar.SetTotal(-1, true)
		default:
			bar.Abort(false)
		}
	}
}

// finishBars ends every bar, lets mpb draw the last frame and waits for
// its goroutines; if that takes longer than finishGrace it cancels the
// container, so Stop never hangs. Lines written above the bars after the
// last frame are written out then.
func (b *Board) finishBars(r *boardRun) {
	for _, bar := range r.bars {
		if bar != nil && !bar.Completed() {
			bar.Abort(false) // the final sample ended every stage; this is a guard
		}
	}
	waited := make(chan struct{})
	go func() {
		r.mp.Wait()
		close(waited)
	}()
	timer := time.NewTimer(finishGrace)
	defer timer.Stop()
	select {
	case <-waited:
	case <-timer.C:
	}
	r.cancel()
	<-waited
	if r.console.Len() > 0 {
		_, _ = r.console.WriteTo(b.cfg.out)
	}
}
