package sink

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
)

// WriteLines runs the pipeline and writes one line per result to w:
// format(input, value) followed by "\n", in arrival order (input order
// when every stage is ordered), with one w.Write call per line from the
// calling goroutine, so that w needs no lock and its memory does not grow
// with the number of items. For many small lines, give it a
// bufio.Writer and flush it after WriteLines returns (a write error then
// surfaces at the line whose write filled the buffer, or at the flush).
//
// A write error ends the run under either error policy: it is the failure
// of the item whose line was being written (a *pipeline.ItemError naming
// it, wrapping the writer's error), no further line is written and the
// run is cancelled. Under continue-on-error the failures that arrived
// before it are returned joined with it. A panic in format fails its item
// like any other error. It blocks until every goroutine of the run has
// exited. It panics if w or format is nil.
func WriteLines[S, T any](ctx context.Context, in *pipeline.Stream[S, T], w io.Writer, format func(input S, v T) string, opts ...Option) error {
	if w == nil {
		panic("sink: WriteLines: writer is nil")
	}
	if format == nil {
		panic("sink: WriteLines: format function is nil")
	}
	c := newConfig(opts)
	var line []byte
	writeFailed := false
	var failures []error
	cons := engine.Consumer[S, T]{
		Name: c.name,
		Each: func(it engine.Item[S, T]) error {
			if writeFailed {
				// Not reached (the run stopped at the failure), but if it
				// were, the item fails rather than counting as written.
				return errors.New("sink: WriteLines: not written: an earlier write failed")
			}
			line = append(append(line[:0], format(it.Input, it.Value)...), '\n')
			if _, err := w.Write(line); err != nil {
				writeFailed = true
				return fmt.Errorf("sink: WriteLines: %w", err)
			}
			return nil
		},
	}
	if in != nil && in.Pipeline() != nil && in.Pipeline().ContinueOnError() {
		// Under continue-on-error a failure does not stop the run: stop it
		// here when the failure is the writer's.
		cons.Failed = func(ie *pipeline.ItemError[S]) error {
			failures = append(failures, ie)
			if writeFailed {
				return engine.ErrStop
			}
			return nil
		}
	}
	err := engine.Consume(ctx, in, cons)
	if len(failures) == 0 {
		return err
	}
	return errors.Join(append([]error{err}, failures...)...)
}
