// Package progress shows a live progress bar per stage of a flowbar
// pipeline, drawn with github.com/vbauerster/mpb/v8, and plain progress
// lines when the output is not a terminal.
//
//	p := pipeline.New(progress.Bars()) // bars on stderr
//
// draws, while the pipeline runs, a bar for each stage that carries
// information, in composition order:
//
//	hash [==============>-----------------------] 2301/2303 items   10.0 GiB/24.0 GiB  41%   1.7 GiB/s eta 8.4s  …ee/c/big1
//
// # What a bar shows
//
// The stage's name; the bar, filled to how far the stage is; how far that
// is: items done (succeeded, failed or dropped) or, for a stage that
// declares a weight (the Weigh method of its output stream), its weight
// in its unit, bytes shown with binary prefixes, next to its items; the
// expected total; a percentage; the rate, an exponentially weighted moving
// average; the time left; the description of the last item (Describe on
// the stream), read when the bar is drawn. When the stage ends, the rate
// becomes the average over the stage's run and the time left becomes
// "done 4.2s", "failed 1.3s, 2 failed" or "stopped 0.8s".
//
// Columns keep their width from frame to frame (they only widen, when a
// figure outgrows them), so the bar does not jitter as numbers grow. On a
// narrow terminal the description goes first, then the rate; the bar
// shrinks last. The terminal's width is read on every frame, so a resize
// takes effect at once; a terminal that reports no size (0×0, as script
// and docker -t give) gets [FallbackWidth] columns.
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
// the bar, percentage and time left come from the stage's items.
//
// # Cost
//
// Workers never call this package: they add to the stages' atomic meters,
// once per chunk of items, as they do without progress. One sampler
// goroutine per [Board] reads the meters each refresh (default
// [DefaultRefresh]) and hands the figures to mpb, which then draws one
// frame. Descriptions are computed when read, a few times a second, never
// per item. A pipeline without a board pays nothing.
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
//	[   3.0s] hash  2300/2303 items    2.7 GiB/24.0 GiB  11%  970.9 MiB/s  eta 22s  /tmp/tree/b/g839
//	hash: done, 2303 items, 0 failed, 24.0 GiB in 26s (944.1 MiB/s)
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
