package progress

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/flowbar/flowbar/pipeline"
)

// Option configures a [Board].
type Option func(*config)

// Defaults of the options.
const (
	// DefaultRefresh is how often a board samples and redraws ([WithRefresh]).
	DefaultRefresh = 150 * time.Millisecond
	// DefaultLineInterval is how often plain lines are written without a
	// terminal ([WithLineInterval]).
	DefaultLineInterval = 3 * time.Second
	// DefaultWidth is the width of forced bars on an output that is not a
	// terminal ([WithWidth]).
	DefaultWidth = 100
	// DefaultDescriptionWidth bounds a description ([WithDescriptionWidth]).
	DefaultDescriptionWidth = 32
)

type config struct {
	out       io.Writer
	terminal  int // 0 detect, 1 bars, 2 lines
	refresh   time.Duration
	lines     time.Duration
	width     int
	descWidth int
	ticks     <-chan time.Time
	keep      func(*pipeline.Stage) bool
	all       bool
	totals    map[string]int64
}

func newConfig(opts []Option) config {
	c := config{out: os.Stderr, refresh: DefaultRefresh, lines: DefaultLineInterval, descWidth: DefaultDescriptionWidth}
	for _, o := range opts {
		if o == nil {
			panic("progress: nil option")
		}
		o(&c)
	}
	return c
}

// WithOutput sets where the board writes (default os.Stderr). Live bars
// are drawn only when w is an *os.File on a terminal (see [WithTerminal]);
// anything else gets plain progress lines. It panics if w is nil.
func WithOutput(w io.Writer) Option {
	if w == nil {
		panic("progress: WithOutput: writer is nil")
	}
	return func(c *config) { c.out = w }
}

// WithTerminal overrides terminal detection: true draws live bars (with
// cursor-movement escape codes) whatever the output is, false writes plain
// lines even on a terminal. By default bars are drawn when the output is a
// terminal, as reported by golang.org/x/term.
func WithTerminal(on bool) Option {
	return func(c *config) {
		c.terminal = 2
		if on {
			c.terminal = 1
		}
	}
}

// WithRefresh sets how often the board samples the stages' meters and
// redraws the bars (default [DefaultRefresh]). It panics if d is not
// positive.
func WithRefresh(d time.Duration) Option {
	if d <= 0 {
		panic(fmt.Sprintf("progress: WithRefresh: %v is not positive", d))
	}
	return func(c *config) { c.refresh = d }
}

// WithLineInterval sets how often plain progress lines are written when
// the output is not a terminal (default [DefaultLineInterval]). It panics
// if d is not positive.
func WithLineInterval(d time.Duration) Option {
	if d <= 0 {
		panic(fmt.Sprintf("progress: WithLineInterval: %v is not positive", d))
	}
	return func(c *config) { c.lines = d }
}

// WithWidth sets the width of the bars in columns where no terminal
// gives one: on an output that is not a terminal when bars are forced
// with [WithTerminal] (default [DefaultWidth]), and on a terminal that
// reports a size of 0×0 (default [FallbackWidth]). On a terminal that has
// a size, that size is used, read again on every frame. It panics if n is
// less than 40.
func WithWidth(n int) Option {
	if n < 40 {
		panic(fmt.Sprintf("progress: WithWidth: %d is less than 40", n))
	}
	return func(c *config) { c.width = n }
}

// WithDescriptionWidth bounds the columns a stage's description takes
// (default [DefaultDescriptionWidth]); a longer one is cut at its start,
// keeping its end ("…dir/file.txt"). 0 hides descriptions. It panics if n
// is negative.
func WithDescriptionWidth(n int) Option {
	if n < 0 {
		panic(fmt.Sprintf("progress: WithDescriptionWidth: %d is negative", n))
	}
	return func(c *config) { c.descWidth = n }
}

// WithTicks replaces the board's timer: the board samples the meters and
// redraws (or, without a terminal, considers writing lines) each time a
// value arrives on ch, taking that value as the current time. Tests use it
// for deterministic frames. The final sample is taken by Stop either way.
// It panics if ch is nil.
func WithTicks(ch <-chan time.Time) Option {
	if ch == nil {
		panic("progress: WithTicks: channel is nil")
	}
	return func(c *config) { c.ticks = ch }
}

// WithStages chooses the stages that get a bar (or plain lines): those for
// which keep returns true. By default only the stages that carry
// information get one, as tqdm shows one bar for one loop: every map,
// filter and callback stage; a source unless its total is known from the
// start (a slice) or it has handed out all its items by the first refresh;
// the sink only when the stage before it has no bar (the sink does the
// work, as sink.ForEach over a slice). [WithAllStages] shows every stage.
// [Board.Summary] lists every stage either way. It panics if keep is nil.
func WithStages(keep func(*pipeline.Stage) bool) Option {
	if keep == nil {
		panic("progress: WithStages: function is nil")
	}
	return func(c *config) { c.keep = keep; c.all = false }
}

// WithAllStages gives every stage a bar, the source and the sink included
// (see [WithStages] for the default).
func WithAllStages() Option {
	return func(c *config) { c.all = true; c.keep = nil }
}

// WithTotal declares the expected total, in the stage's unit, of the stage
// named stage, for when the pipeline cannot know it: a channel or generator
// source (tqdm's total=), or a weighted stage with no upstream stage
// counting the same unit. A total the pipeline knows for certain takes
// precedence. It panics if n is negative; a run whose pipeline has no
// stage of that name panics when it starts, with the names it has.
func WithTotal(stage string, n int64) Option {
	if n < 0 {
		panic(fmt.Sprintf("progress: WithTotal: stage %q: %d is negative", stage, n))
	}
	return func(c *config) {
		if c.totals == nil {
			c.totals = map[string]int64{}
		}
		c.totals[stage] = n
	}
}
