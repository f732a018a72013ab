package progress

import (
	"context"
	"io"

	"github.com/flowbar/flowbar/pipeline"
)

// Reader wraps r so that every byte read from it is added, as it is read,
// to the weight of the stage whose function received ctx (see
// [pipeline.AddWeight]): a bar weighted in bytes then moves while a large
// file is being read, instead of jumping when the item is done. Declare the
// stage's unit with stage.WithUnit(pipeline.Bytes) rather than a weight
// function, or the bytes would count twice.
//
// Once ctx is cancelled (the run stops: an error under fail-fast, Ctrl-C
// through signal.NotifyContext, an early break), Read returns the cause of
// the cancellation, so that a function copying a large file stops
// promptly. Each Read costs one atomic add and a check of ctx. With a ctx
// that does not come from a stage the reader only passes reads through. If r is an io.Closer, so is
// the result. It panics if r is nil.
func Reader(ctx context.Context, r io.Reader) io.Reader {
	if r == nil {
		panic("progress: Reader: reader is nil")
	}
	cr := countingReader{r: r, st: pipeline.StageOf(ctx), ctx: ctx}
	if c, ok := r.(io.Closer); ok {
		return countingReadCloser{cr, c}
	}
	return cr
}

type countingReader struct {
	r   io.Reader
	st  *pipeline.Stage
	ctx context.Context
}

func (c countingReader) Read(p []byte) (int, error) {
	if c.st != nil && c.ctx.Err() != nil {
		return 0, context.Cause(c.ctx)
	}
	n, err := c.r.Read(p)
	if n > 0 && c.st != nil {
		pipeline.AddWeight(c.ctx, int64(n))
	}
	return n, err
}

type countingReadCloser struct {
	countingReader
	io.Closer
}
