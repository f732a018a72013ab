// Package progress shows a live progress bar per stage of a flowbar
// pipeline, drawn with github.com/vbauerster/mpb/v8, and plain progress
// lines when the output is not a terminal.
//
//	p := pipeline.New(progress.Bars()) // bars on stderr
//
// draws, while the pipeline runs, one bar per stage in composition order
// (the source first, the sink last):
//
//	walk  [==============================]  302/302 items  747.7 MiB/747.7 MiB 100% 4.9 GiB/s done 150ms
//	hash  [===========>------------------]  118/302 items  291.0 MiB/747.7 MiB  38% 1.2 GiB/s eta 380ms  c/big1
//	print [==========>-------------------]       117/302 items  38% 514 items/s eta 360ms
//
// # What a bar shows
//
// The stage's name; how far it is: items done (succeeded, failed or
// dropped) or, for a stage that declares a weight (the Weigh method of its output stream), its
// weight in its unit, bytes shown with binary prefixes; the expected
// total; a percentage; the rate, an exponentially weighted moving average;
// the time left; the description of the last item (Describe on the stream), read
// when the bar is drawn. When the stage ends, the rate becomes the average
// over the stage's run and the time left becomes "done 4.2s", "failed 1.3s,
// 2 failed" or "stopped 0.8s".
//
// # Totals
//
// A slice source knows its length, and so do the one-to-one stages after
// it. Otherwise a stage's total is what its upstream has handed on so far,
// shown with a "+", and becomes final when the upstream finishes; a filter
// shrinks the totals downstream of it. A source of unknown length shows its
// count and rate over an empty track, unless [WithTotal] declares what to
// expect (tqdm's total=). A weighted stage's total is the weight of the
// nearest upstream stage that counts the same unit: give the source the
// same weight (a file's size) to get a percentage of bytes.
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
//	[   3.0s] hash   41/302 items  102.1 MiB/747.7 MiB  13%  34.0 MiB/s  eta 19s  a/f17
//	hash: done, 302 items, 0 failed, 747.7 MiB in 22s (34.0 MiB/s)
//
// # Logging
//
// Anything else written to the board's output while bars are drawn corrupts
// them. Write log lines through [Board.Writer] or [Board.Handler]: they are
// printed above the bars.
//
// # Live progress inside one item
//
// [Reader] wraps an io.Reader so that the bytes a stage's function reads
// move its bar as they are read: hashing a large file advances the bar
// instead of jumping at the end.
package progress
