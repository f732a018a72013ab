package progress

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"golang.org/x/term"

	"github.com/flowbar/flowbar/pipeline"
)

// Bars returns a pipeline option that shows progress bars for the
// pipeline's runs on a new [Board] built with opts:
//
//	p := pipeline.New(progress.Bars())
//
// Use [New] and [pipeline.WithObserver] instead to keep the board, for its
// [Board.Summary] or its [Board.Writer]. It panics if an option is invalid.
func Bars(opts ...Option) pipeline.Option {
	return pipeline.WithObserver(New(opts...))
}

// Board draws one progress bar per stage of a pipeline run, in composition
// order. It implements [pipeline.Observer]: pass it to
// [pipeline.WithObserver]. Workers never call it: one sampler goroutine,
// started by Start and ended by Stop, reads the stages' meters every
// refresh and redraws.
//
// A Board observes one run at a time; it may observe several runs one
// after the other. Its methods are safe for concurrent use.
type Board struct {
	cfg config

	mu      sync.Mutex // guards the fields below and writes to cfg.out
	run     *boardRun
	summary []StageSummary
	partial []byte // Writer's incomplete last line
}

// boardRun is the state of one observed run.
type boardRun struct {
	trackers  []*tracker
	bars      []*mpb.Bar // parallel to trackers; nil when not shown or in line mode
	shown     []bool
	mp        *mpb.Progress // nil in line mode
	cancel    context.CancelFunc
	redraw    chan any
	stop      chan struct{}
	done      chan struct{}
	start     time.Time
	lastLine  time.Time
	nameWidth int // widest name of a shown stage, for aligned lines
}

// New returns a board configured by opts. It panics if an option is
// invalid.
func New(opts ...Option) *Board {
	return &Board{cfg: newConfig(opts)}
}

// bars reports whether the board draws live bars (rather than lines).
func (b *Board) bars() bool {
	switch b.cfg.terminal {
	case 1:
		return true
	case 2:
		return false
	}
	f, ok := b.cfg.out.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Start sets up a bar for each stage and starts the sampler. The pipeline
// calls it before any item moves. It panics if the board is already
// observing a run.
func (b *Board) Start(stages []*pipeline.Stage) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.run != nil {
		panic("progress: Board.Start: the board is already observing a run; use one board per concurrent run")
	}
	now := time.Now()
	r := &boardRun{stop: make(chan struct{}), done: make(chan struct{}), start: now, lastLine: now}
	for _, st := range stages {
		r.trackers = append(r.trackers, newTracker(st, b.cfg.totals, now))
		r.shown = append(r.shown, b.cfg.keep == nil || b.cfg.keep(st))
		if r.shown[len(r.shown)-1] {
			r.nameWidth = max(r.nameWidth, len(st.Name()))
		}
	}
	r.bars = make([]*mpb.Bar, len(stages))
	if b.bars() {
		b.startBars(r)
	}
	b.run = r
	b.summary = nil
	go b.sampler(r)
}

// sampler samples the meters on every tick until Stop.
func (b *Board) sampler(r *boardRun) {
	defer close(r.done)
	ticks := b.cfg.ticks
	if ticks == nil {
		tk := time.NewTicker(min(b.cfg.refresh, b.cfg.lines))
		defer tk.Stop()
		ticks = tk.C
	}
	for {
		select {
		case now := <-ticks:
			b.sample(r, now, false, nil)
		case <-r.stop:
			return
		}
	}
}

// sample reads every stage and redraws (bars) or writes lines when due.
func (b *Board) sample(r *boardRun, now time.Time, final bool, err error) {
	views := make([]view, len(r.trackers))
	up := map[*pipeline.Stage]Status{}
	for i, t := range r.trackers {
		us := Done
		if u := t.st.Upstream(); u != nil {
			us = up[u]
		}
		views[i] = t.sample(now, final, err, us, b.cfg.descWidth)
		up[t.st] = views[i].status
		if t.lost {
			up[t.st] = Stopped
		}
	}
	if r.mp != nil {
		b.feedBars(r, views)
		if !final {
			select {
			case r.redraw <- now:
			case <-r.stop:
			}
		}
		return
	}
	if !final && now.Sub(r.lastLine) >= b.cfg.lines {
		r.lastLine = r.lastLine.Add(now.Sub(r.lastLine) / b.cfg.lines * b.cfg.lines)
		b.mu.Lock()
		b.flushPartial()
		for i, v := range views {
			// A stage that has ended is reported once, then only in the
			// summary.
			if t := r.trackers[i]; r.shown[i] && !t.reported {
				writeLine(b.cfg.out, now.Sub(r.start), v, r.nameWidth)
				t.reported = v.status != Running
			}
		}
		b.mu.Unlock()
	}
}

// Stop takes a last sample, completes the bars of the stages that
// finished their work and aborts the others (marked failed or stopped),
// and returns once everything the board started has ended. The pipeline
// calls it after the run; err is the run's error. Without a terminal it
// writes a summary line per stage. It does nothing if no run is observed.
func (b *Board) Stop(err error) {
	b.mu.Lock()
	r := b.run
	b.mu.Unlock()
	if r == nil {
		return
	}
	close(r.stop)
	<-r.done
	b.sample(r, time.Now(), true, err)
	if r.mp != nil {
		b.finishBars(r)
	}
	sum := make([]StageSummary, len(r.trackers))
	for i, t := range r.trackers {
		sum[i] = t.summary()
	}
	b.mu.Lock()
	b.flushPartial()
	if r.mp == nil {
		for i, s := range sum {
			if r.shown[i] {
				_, _ = io.WriteString(b.cfg.out, s.String()+"\n")
			}
		}
	}
	b.run = nil
	b.summary = sum
	b.mu.Unlock()
}

// Handler returns a slog handler that writes text records through
// [Board.Writer], so that log records land above the bars. opts may be nil.
func (b *Board) Handler(opts *slog.HandlerOptions) slog.Handler {
	return slog.NewTextHandler(b.Writer(), opts)
}

// Summary returns the figures of each stage of the last run that ended,
// in composition order, or nil if no run has ended yet.
func (b *Board) Summary() []StageSummary {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]StageSummary(nil), b.summary...)
}

// Writer returns a writer for log lines that must not corrupt the bars:
// while bars are drawn, each complete line is printed above them; otherwise
// it goes straight to the board's output. An incomplete last line is held
// until its newline arrives or the run ends. It is safe for concurrent
// use; give it to log.New, slog.NewTextHandler (see [Board.Handler]), or
// use it with fmt.Fprintln.
func (b *Board) Writer() io.Writer { return boardWriter{b} }

type boardWriter struct{ b *Board }

func (w boardWriter) Write(p []byte) (int, error) {
	b := w.b
	b.mu.Lock()
	b.partial = append(b.partial, p...)
	i := lastNewline(b.partial)
	if i < 0 {
		b.mu.Unlock()
		return len(p), nil
	}
	lines := append([]byte(nil), b.partial[:i+1]...)
	b.partial = append(b.partial[:0], b.partial[i+1:]...)
	var mp *mpb.Progress
	if b.run != nil {
		mp = b.run.mp
	}
	if mp == nil {
		_, err := b.cfg.out.Write(lines)
		b.mu.Unlock()
		if err != nil {
			return 0, err
		}
		return len(p), nil
	}
	b.mu.Unlock()
	if _, err := mp.Write(lines); err != nil {
		// The bars are gone: write directly.
		b.mu.Lock()
		_, err = b.cfg.out.Write(lines)
		b.mu.Unlock()
		if err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// flushPartial writes an incomplete line held by Writer; b.mu is held.
func (b *Board) flushPartial() {
	if len(b.partial) > 0 {
		b.partial = append(b.partial, '\n')
		_, _ = b.cfg.out.Write(b.partial)
		b.partial = b.partial[:0]
	}
}

func lastNewline(p []byte) int {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '\n' {
			return i
		}
	}
	return -1
}
