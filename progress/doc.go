// Package progress shows a live progress bar per stage of a flowbar
// pipeline, drawn with github.com/vbauerster/mpb/v8, and plain progress
// lines when the output is not a terminal.
//
//	p := pipeline.New(progress.Bars()) // bars on stderr
//
// draws, while the pipeline runs, a bar for each stage that carries
// information, in composition order:
//
//	hash [========>-------------] 2301/2303 items   10.0 GiB/24.0 GiB  41%   1.7 GiB/s eta 8.4s    4 in, busy 98% …ee/c/big1
//
// # What a bar shows
//
// The stage's name; the bar, filled to how far the stage is; how far that
// is: items done (succeeded, failed or dropped) or, for a stage that
// declares a weight (the Weigh method of its output stream), its weight
// in its unit, bytes shown with binary prefixes, next to its items; the
// expected total; a percentage; the rate, an exponentially weighted moving
// average; the time left; what the stage's workers are doing (see below);
// the description of the last item (Describe on the stream), read when the
// bar is drawn. When the stage ends, the rate becomes the average over the
// stage's run and the time left becomes "done 4.2s", "failed 1.3s, 2
// failed" or "stopped 0.8s".
//
// Columns keep their width from frame to frame (they only widen, when a
// figure outgrows them), so the bar does not jitter as numbers grow. On a
// narrow terminal what the workers are doing goes first, then the
// description, then the rate; the bar shrinks last. The terminal's width
// is read on every frame, so a resize takes effect at once; a terminal
// that reports no size (0×0, as script and docker -t give) gets
// [FallbackWidth] columns.
//
// # What the workers are doing
//
// After the time left, a bar shows how the stage's workers spent the last
// second or so: "4 in, busy 98%" is 4 items in flight (taken and not yet
// finished; not shown for a source or a sink), then the state that took
// most of the workers' time and its share of it:
//
//   - busy: running the stage's function (for a sink, consuming);
//   - idle: waiting for input;
//   - blocked: waiting for the next stage to take their results.
//
// The bottleneck is the stage that reads busy while the stages before it
// read blocked and those after it idle: give it more workers, or make its
// items cheaper. Here (examples/hashfiles on 120 columns, two cores) the
// walk through the tree is held back by the hashing:
//
//	walk [                ]                 12430 items    5.0 GiB        4.0 GiB/s                  blocked 92% …l2/t17581
//	hash [                ] 11425/12430+ items    3.9 GiB/5.0 GiB+        1.2 GiB/s               4 in, busy 95% …l2/t17580
//
// The shares come from the differences between samples of the stages'
// time meters (Busy, Idle and Blocked in [pipeline.Counts]), divided by
// workers × elapsed. Workers add to those meters when a chunk of items, a
// wait for input or a blocked hand-off ends; the time of those still
// under way is counted in the state the workers are in now, as the items
// in flight and the items waiting between stages show it, so that a stage
// whose items take longer than the interval still reads busy. When the
// stage ends, the column shows its largest share over the whole run. The
// column starts as wide as "4 in, blocked 100%" and keeps its width.
//
// Each stage's summary ([StageSummary.String], the summary lines without a
// terminal, [Board.Summary]) gives the whole split over the run
// ([StageSummary.TimeSplit]) and the slowest items with their inputs and
// durations ([StageSummary.Slowest]), each input as fmt's %v prints it
// (here a struct of a path and a size):
//
//	walk: done, 23003 items, 0 failed, 5.0 GiB in 5.3s (966.7 MiB/s); busy 31%, idle 0%, blocked 69%
//	hash: done, 23003 items, 0 failed, 5.0 GiB in 5.3s (966.7 MiB/s); busy 94%, idle 1%, blocked 5%; slowest: {/tmp/tree/big2 1782579200} 5.1s, {/tmp/tree/big3 1887436800} 5.0s, {/tmp/tree/big1 1677721600} 4.7s
//
// Only items slow enough to travel alone between stages (tens of
// microseconds or more) are timed one by one; a stage of fast items lists
// no slowest.
//
// # Which stages get a bar
//
// By default, as tqdm shows one bar for one loop, only the stages that
// carry information: every map, filter and callback stage; a source unless
// its total was known from the start (a slice, done at once) or it has
// handed out everything by the first refresh; the sink only when the stage
// before it has no bar. [WithAllStages] shows every stage, [WithStages]
// chooses. [Board.Summary] reports every stage either way.
//
// # Totals
//
// A slice source knows its length, and so do the one-to-one stages after
// it. Otherwise a stage's total is what its upstream has handed on so far,
// shown with a "+", and becomes final when the upstream finishes; a filter
// shrinks the totals downstream of it. While a total grows, the bar and
// percentage do not claim the end is near: they are the stage's share of
// what it has received, times how far its upstream is, marked "~" as an
// estimate (none when the upstream's own progress is unknown), and the
// time left is at least the upstream's. A source of unknown length shows
// its count and rate over an empty track, unless [WithTotal] declares what
// to expect (tqdm's total=). A weighted stage's total is the weight of the
// nearest upstream stage that counts the same unit: give the source the
// same weight (a file's size) to get a percentage of bytes; without one,
// the bar, percentage and time left come from the stage's items. A source
// that declares its totals while it runs (pipeline.SetTotal and
// pipeline.SetWeightTotal: the lines of a file of known size, a directory
// walk once it has counted the files) gives final totals to itself and to
// the stages after it before it has emitted everything.
//
// # Cost
//
// Workers never call this package: they add to the stages' atomic meters,
// once per chunk of items, as they do without progress. One sampler
// goroutine per [Board] reads the meters each refresh (default
// [DefaultRefresh]) and hands the figures to mpb, which then draws one
// frame. Descriptions are computed when read, a few times a second, never
// per item; so is what the workers are doing, from the same meters. The
// slowest items are read once, at the end. A pipeline without a board
// pays nothing.
//
// # Completion, errors and cleanup
//
// A bar completes as soon as its stage has finished all the items it was
// expected to handle, with none failed. When the run ends, every other bar
// is aborted and marked failed (some item of the stage failed) or stopped
// (items were left: an error elsewhere, a cancelled context, a consumer
// that stopped early). [Board.Stop] returns once the last frame is drawn
// and every goroutine the board started has exited; if mpb does not finish
// within two seconds its container is cancelled, so a run never hangs on
// its bars. [Board.Summary] then gives each stage's figures.
//
// # Output that is not a terminal
//
// mpb draws nothing when its output is not a terminal. Then the board
// writes plain lines without escape codes, one per stage every line
// interval (default [DefaultLineInterval]), and a summary line per stage at
// the end:
//
//	[   3.0s] walk  12545 items    5.0 GiB  4.5 GiB/s  blocked 65%  /tmp/tree/small2/t17664
//	[   3.0s] hash  11517/12545+ items    3.4 GiB/5.0 GiB+  1.1 GiB/s  4 in, busy 94%  /tmp/tree/small2/t17663
//	walk: done, 23003 items, 0 failed, 5.0 GiB in 5.3s (966.7 MiB/s); busy 31%, idle 0%, blocked 69%
//	hash: done, 23003 items, 0 failed, 5.0 GiB in 5.3s (966.7 MiB/s); busy 94%, idle 1%, blocked 5%; slowest: {/tmp/tree/big2 1782579200} 5.1s, ...
//
// # Printing while bars are drawn
//
// Anything else written to the terminal while bars are drawn breaks them:
// a line printed to stdout lands in the middle of a frame, and the next
// frame overwrites it. Print results with [Board.Stdout] (or
// [Board.Through] for another writer) and log lines with [Board.Writer]
// or [Board.Handler]: while bars are drawn on the same terminal, each
// complete line is printed once, above the bars; otherwise it is written
// straight through, so results redirected to a file are not touched.
//
//	board := progress.New()
//	out := board.Stdout()
//	... fmt.Fprintf(out, "%s  %s\n", sum, path) ...
//
// # Ctrl-C
//
// Run the pipeline with a context from signal.NotifyContext: on Ctrl-C the
// run stops promptly (the functions in flight receive the cancelled
// context; [Reader] returns its cause), the bars end "stopped", and the
// sink returns what it collected with the context's cause. Every frame
// starts at the first column, so the "^C" the terminal echoes does not
// shift the last one.
//
// # Live progress inside one item
//
// [Reader] wraps an io.Reader so that the bytes a stage's function reads
// move its bar as they are read: hashing a large file advances the bar
// instead of jumping at the end.
package progress
