package progress

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-runewidth"
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
	writers []*lineWriter // every writer handed out, whose partial lines Stop flushes
	log     *lineWriter   // Writer's
	stdout  *lineWriter   // Stdout's
}

// boardRun is the state of one observed run.
type boardRun struct {
	trackers  []*tracker
	bars      []*mpb.Bar // parallel to trackers; nil when not shown or in line mode
	shown     []bool     // decided at the first sample (see chooseShown)
	chosen    bool
	mp        *mpb.Progress // nil in line mode
	console   *console
	layout    layout
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
// observing a run, or if [WithTotal] names a stage the pipeline does not
// have (the message lists the stages' names).
func (b *Board) Start(stages []*pipeline.Stage) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.run != nil {
		panic("progress: Board.Start: the board is already observing a run; use one board per concurrent run")
	}
	checkTotals(b.cfg.totals, stages)
	now := time.Now()
	r := &boardRun{stop: make(chan struct{}), done: make(chan struct{}), start: now, lastLine: now}
	for _, st := range stages {
		r.trackers = append(r.trackers, newTracker(st, r.trackers, b.cfg.totals, now))
	}
	for _, t := range r.trackers {
		for _, up := range t.ups {
			for _, u := range r.trackers {
				if u.st == up {
					u.downs = append(u.downs, t)
				}
			}
		}
	}
	r.shown = make([]bool, len(stages))
	r.bars = make([]*mpb.Bar, len(stages))
	if b.bars() {
		b.startBars(r)
	}
	b.run = r
	b.summary = nil
	go b.sampler(r)
}

// checkTotals panics if totals names a stage that is not in stages.
func checkTotals(totals map[string]int64, stages []*pipeline.Stage) {
	var unknown, names []string
	for _, st := range stages {
		names = append(names, strconv.Quote(st.Name()))
	}
	for name := range totals {
		if !slices.ContainsFunc(stages, func(st *pipeline.Stage) bool { return st.Name() == name }) {
			unknown = append(unknown, strconv.Quote(name))
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		panic(fmt.Sprintf("progress: WithTotal: no stage named %s; the stages are %s",
			strings.Join(unknown, ", "), strings.Join(names, ", ")))
	}
}

// chooseShown decides, at the first sample, which stages get a bar (or
// lines): those WithStages keeps, every stage with WithAllStages, and by
// default the stages that carry information. A source whose total was
// known from the start (a slice) or that has already handed out all its
// items shows nothing the stage after it does not; nor does a sink that
// only counts what the stage before it handed on. A sink whose upstream
// is not shown does the work itself (sink.ForEach over a slice) and is
// shown.
func (b *Board) chooseShown(r *boardRun) {
	r.chosen = true
	for i, t := range r.trackers {
		st := t.st
		switch {
		case b.cfg.keep != nil:
			r.shown[i] = b.cfg.keep(st)
		case b.cfg.all:
			r.shown[i] = true
		case st.Kind() == pipeline.KindSource:
			_, final := st.Total()
			r.shown[i] = !final && t.ended.IsZero() && !st.Finished()
		case st.Kind() == pipeline.KindSink:
			r.shown[i] = t.up == nil || !r.shown[slices.Index(r.trackers, t.up)]
		default:
			r.shown[i] = true
		}
		if r.shown[i] {
			r.nameWidth = max(r.nameWidth, runewidth.StringWidth(st.Name()))
		}
	}
	if r.mp != nil {
		b.addBars(r)
	}
}

// sampler samples the meters on every tick until Stop. In between it
// checks, often at first and then less and less, whether stages have
// finished, so that their times are measured to about a hundredth.
func (b *Board) sampler(r *boardRun) {
	defer close(r.done)
	ticks := b.cfg.ticks
	if ticks == nil {
		tk := time.NewTicker(min(b.cfg.refresh, b.cfg.lines))
		defer tk.Stop()
		ticks = tk.C
	}
	poll := time.NewTimer(minPoll)
	defer poll.Stop()
	for {
		select {
		case now := <-ticks:
			b.pollEnds(r, now)
			b.sample(r, now, false, nil)
		case now := <-poll.C:
			if !b.pollEnds(r, now) {
				poll.Reset(min(max(now.Sub(r.start)/100, minPoll), b.cfg.refresh))
			}
		case <-r.stop:
			return
		}
	}
}

// minPoll is the shortest time between two checks for finished stages.
const minPoll = time.Millisecond

// pollEnds records the stages that have finished; it reports whether all
// have.
func (b *Board) pollEnds(r *boardRun, now time.Time) bool {
	all := true
	for _, t := range r.trackers {
		all = t.poll(now) && all
	}
	return all
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
	if !r.chosen {
		b.chooseShown(r)
	}
	if r.mp != nil {
		r.layout.widen(views, r.shown, r.trackers)
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
		b.flushPartials()
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
	now := time.Now()
	b.pollEnds(r, now)
	b.sample(r, now, true, err)
	if r.mp != nil {
		// One more frame, even if every bar had already finished: lines
		// written through the board since the last one are printed
		// above it.
		r.redraw <- now
		b.finishBars(r)
	}
	sum := make([]StageSummary, len(r.trackers))
	for i, t := range r.trackers {
		sum[i] = t.summary()
	}
	b.mu.Lock()
	b.run = nil
	b.flushPartials()
	if r.mp == nil {
		for i, s := range sum {
			if r.shown[i] {
				_, _ = io.WriteString(b.cfg.out, s.String()+"\n")
			}
		}
	}
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
// use it with fmt.Fprintln. Every call returns the same writer.
func (b *Board) Writer() io.Writer {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.log == nil {
		b.log = b.newWriter(nil)
	}
	return b.log
}

// Stdout returns a writer to the process's standard output for a program's
// results that keeps the bars intact: while bars are drawn on the terminal
// that standard output also is (the usual case: both stdout and stderr on
// one terminal), each complete line is printed above the bars, once;
// otherwise (stdout redirected to a file or a pipe, or no bars) it writes
// straight to os.Stdout. Print results with fmt.Fprintln(board.Stdout(),
// ...) rather than fmt.Println while a run is observed. It is
// [Board.Through] of os.Stdout, safe for concurrent use, and every call
// returns the same writer.
func (b *Board) Stdout() io.Writer {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stdout == nil {
		b.stdout = b.newWriter(os.Stdout)
	}
	return b.stdout
}

// Through returns a writer to w that keeps the bars intact: while bars are
// drawn and w is where they are drawn (the same terminal, or the same
// writer), each complete line is printed above the bars and an
// incomplete last line is held until its newline arrives or the run
// ends; otherwise writes go straight to w. It is safe for concurrent use.
// Each call returns a new writer: call it once per destination. It panics
// if w is nil.
func (b *Board) Through(w io.Writer) io.Writer {
	if w == nil {
		panic("progress: Board.Through: writer is nil")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.newWriter(w)
}

// newWriter returns a writer to dst (nil: the board's output); b.mu is
// held.
func (b *Board) newWriter(dst io.Writer) *lineWriter {
	w := &lineWriter{b: b, dst: dst}
	b.writers = append(b.writers, w)
	return w
}

// lineWriter is a writer that prints above the bars while they are drawn
// where it writes.
type lineWriter struct {
	b   *Board
	dst io.Writer // nil: the board's output

	mu      sync.Mutex // guards partial and the order of writes
	partial []byte     // an incomplete last line, held while bars are drawn
	same    int8       // 0: not known yet; 1: dst is the board's output; 2: it is not
}

// sameAsOutput reports whether w writes where the bars are drawn; w.mu is
// held.
func (w *lineWriter) sameAsOutput() bool {
	if w.dst == nil {
		return true
	}
	if w.same == 0 {
		w.same = 2
		if sameWriter(w.dst, w.b.cfg.out) {
			w.same = 1
		}
	}
	return w.same == 1
}

// sameWriter reports whether a and b write to the same place: the same
// writer, or files (a terminal, say) that are the same.
func sameWriter(a, b io.Writer) bool {
	fa, okA := a.(*os.File)
	fb, okB := b.(*os.File)
	if okA && okB {
		if fa == fb || fa.Fd() == fb.Fd() {
			return true
		}
		ia, errA := fa.Stat()
		ib, errB := fb.Stat()
		return errA == nil && errB == nil && os.SameFile(ia, ib)
	}
	ta, tb := reflect.TypeOf(a), reflect.TypeOf(b)
	return ta == tb && ta.Comparable() && a == b
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.b
	b.mu.Lock()
	running := b.run != nil
	var mp *mpb.Progress
	if running {
		mp = b.run.mp
	}
	b.mu.Unlock()
	if !running || !w.sameAsOutput() {
		if err := w.flushLocked(); err != nil {
			return 0, err
		}
		return w.direct(p)
	}
	// Whole lines only, so that the board's own lines or frames never
	// land in the middle of one.
	w.partial = append(w.partial, p...)
	i := bytes.LastIndexByte(w.partial, '\n')
	if i < 0 {
		return len(p), nil
	}
	lines := append([]byte(nil), w.partial[:i+1]...)
	w.partial = append(w.partial[:0], w.partial[i+1:]...)
	if mp != nil {
		if _, err := mp.Write(lines); err == nil {
			return len(p), nil
		}
		// The bars are gone: write directly.
	}
	if _, err := w.direct(lines); err != nil {
		return 0, err
	}
	return len(p), nil
}

// direct writes p to the destination; writes to the board's output are
// serialised with the board's own lines.
func (w *lineWriter) direct(p []byte) (int, error) {
	if w.dst != nil {
		return w.dst.Write(p)
	}
	w.b.mu.Lock()
	defer w.b.mu.Unlock()
	return w.b.cfg.out.Write(p)
}

// flushLocked writes out a held incomplete line, with a newline so that
// what follows starts on its own line; w.mu is held.
func (w *lineWriter) flushLocked() error {
	if len(w.partial) == 0 {
		return nil
	}
	line := append(w.partial, '\n')
	w.partial = w.partial[:0]
	_, err := w.direct(line)
	return err
}

// flushPartials writes out the incomplete lines the writers hold; b.mu is
// held, and is released while writing.
func (b *Board) flushPartials() {
	ws := slices.Clone(b.writers)
	b.mu.Unlock()
	defer b.mu.Lock()
	for _, w := range ws {
		w.mu.Lock()
		_ = w.flushLocked()
		w.mu.Unlock()
	}
}
