package progress

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// finishGrace bounds how long Stop waits for the bars to draw their last
// frame before it shuts the container down.
const finishGrace = 2 * time.Second

// maxBarWidth bounds the bar itself, so that a wide terminal does not push
// the figures far to the right.
const maxBarWidth = 40

// minBarWidth is the room kept for the bar when a description would take
// it: a description is cut first.
const minBarWidth = 12

// startBars creates the mpb container and one bar per shown stage. The
// container redraws only when the sampler asks (manual refresh), so every
// frame shows one consistent sample.
func (b *Board) startBars(r *boardRun) {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.redraw = make(chan any)
	opts := []mpb.ContainerOption{
		mpb.WithOutput(b.cfg.out),
		mpb.WithManualRefresh(r.redraw),
		mpb.WithWidth(cmpOr(b.cfg.width, DefaultWidth)),
		mpb.WithQueueLen(len(r.trackers)),
	}
	if b.cfg.terminal == 1 {
		opts = append(opts, mpb.ForceTTY())
	}
	r.mp = mpb.NewWithContext(ctx, opts...)
	for i, t := range r.trackers {
		if !r.shown[i] {
			continue
		}
		r.bars[i] = r.mp.New(0, mpb.BarStyle(),
			mpb.BarFillerMiddleware(func(f mpb.BarFiller) mpb.BarFiller { return filler{f, t} }),
			mpb.PrependDecorators(
				column(t, func(v view) string { return v.name }, decor.WCSyncWidthR),
			),
			mpb.AppendDecorators(
				column(t, func(v view) string { return v.counts }, decor.WCSyncSpace),
				column(t, func(v view) string { return v.percent }, decor.WCSyncSpace),
				column(t, func(v view) string { return v.rate }, decor.WCSyncSpace),
				column(t, func(v view) string { return pad(v.eta) }, decor.WCSyncWidthR),
				decor.Any(func(stat decor.Statistics) string {
					// The columns before are synchronised, so every bar sees
					// the same room here: keep minBarWidth for the bar.
					room := stat.AvailableWidth - minBarWidth - 3
					if room < 4 {
						return ""
					}
					return pad(cutLeft(t.current().desc, room))
				}, decor.WCSyncWidthR),
			),
		)
	}
}

// pad puts a space before a non-empty field.
func pad(s string) string {
	if s == "" {
		return s
	}
	return " " + s
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// column is a decorator showing one field of the tracker's last view. It
// reads a stored string: nothing is formatted at render time.
func column(t *tracker, field func(view) string, wc decor.WC) decor.Decorator {
	return decor.Any(func(decor.Statistics) string { return field(t.current()) }, wc)
}

// filler draws the bar itself: mpb's bar, bounded in width, or an empty
// track when the total is unknown.
type filler struct {
	mpb.BarFiller
	t *tracker
}

func (f filler) Fill(w io.Writer, stat decor.Statistics) error {
	if stat.RequestedWidth == 0 || stat.RequestedWidth > maxBarWidth {
		stat.RequestedWidth = maxBarWidth
	}
	if f.t.current().kind == totalUnknown {
		n := min(stat.RequestedWidth, stat.AvailableWidth)
		if n < 2 {
			return nil
		}
		_, err := io.WriteString(w, "["+strings.Repeat(" ", n-2)+"]")
		return err
	}
	return f.BarFiller.Fill(w, stat)
}

// feedBars hands the sample to mpb: totals and positions. A bar whose
// stage is done is completed; at the end of the run the others abort.
func (b *Board) feedBars(r *boardRun, views []view) {
	for i, v := range views {
		bar := r.bars[i]
		if bar == nil {
			continue
		}
		switch v.status {
		case Running:
			total := v.total
			if v.kind == totalUnknown {
				total = 0
			}
			bar.SetTotal(total, false)
			bar.SetCurrent(v.cur)
		case Done:
			bar.SetCurrent(v.cur)
			bar.SetTotal(-1, true)
		default:
			bar.SetCurrent(v.cur)
			bar.Abort(false)
		}
	}
}

// finishBars ends every bar, lets mpb draw the last frame and waits for
// its goroutines; if that takes longer than finishGrace it cancels the
// container, so Stop never hangs.
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
}
