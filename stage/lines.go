package stage

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
)

// Line is a line of text read by [Lines] or [FileLines]: both the pipeline
// input and the value of its item, so that an error downstream names the
// line it came from.
type Line struct {
	Number int64  // the line's number, from 1
	Text   string // the line without its ending ("\n" or "\r\n")
}

// String returns "line N", which is how item errors name the line.
func (l Line) String() string { return "line " + strconv.FormatInt(l.Number, 10) }

// Lines returns a source that emits the lines of r, in order, read by one
// goroutine of the run. A line ends at "\n" (a "\r" before it is dropped
// too, as bufio.ScanLines does); a last line without one is emitted as
// well. Lines have no length limit: a line longer than the read buffer
// (64 KiB) is put together whole in memory, so a file with no line breaks
// is held whole.
//
// The source's weight is the bytes read, line endings included (unit
// pipeline.Bytes unless WithUnit says otherwise), and its weight total is
// known when r tells how much is left: a regular *os.File (its size less
// the current offset) or a reader with a Len method (strings.Reader,
// bytes.Reader, bytes.Buffer). Progress bars then show a percentage of the
// bytes.
//
// A read error ends the source: the error, naming the last line read, is
// returned by the sink (under fail-fast it stops the run). When the run is
// cancelled, the source stops after the line it is emitting; a Read that
// blocks is interrupted when r is an *os.File on a pipe or a terminal
// (through a read deadline, cleared when the run ends), and otherwise
// delays the end of the run until it returns. r is not closed. Options: WithName, WithUnit. It panics if r is nil.
func Lines(p *pipeline.Pipeline, r io.Reader, opts ...Option) *pipeline.Stream[Line, Line] {
	if r == nil {
		panic("stage: Lines: reader is nil")
	}
	return engine.ItemSource(p, bytesSpec("Lines", opts), func(ctx context.Context, emit func(engine.Item[Line, Line]) bool) error {
		if n, ok := remaining(r); ok {
			engine.SetWeightTotal(ctx, n)
		}
		return readLines(ctx, r, emit)
	})
}

// FileLines is [Lines] over the file at path, which the source opens when
// the run starts and closes when it ends; the file's size is the weight
// total. An error opening it ends the source with that error. Options:
// WithName, WithUnit. It panics if path is empty.
func FileLines(p *pipeline.Pipeline, path string, opts ...Option) *pipeline.Stream[Line, Line] {
	if path == "" {
		panic("stage: FileLines: path is empty")
	}
	return engine.ItemSource(p, bytesSpec("FileLines", opts), func(ctx context.Context, emit func(engine.Item[Line, Line]) bool) error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if n, ok := remaining(f); ok {
			engine.SetWeightTotal(ctx, n)
		}
		return readLines(ctx, f, emit)
	})
}

// bytesSpec is the spec of a source whose weight counts bytes unless
// WithUnit says otherwise.
func bytesSpec(what string, opts []Option) engine.SourceSpec {
	c := newConfig(what, sourceOpts, opts)
	if c.set&optUnit == 0 {
		c.unit = pipeline.Bytes
	}
	return engine.SourceSpec{Name: c.name, Unit: c.unit}
}

// remaining returns how many bytes are left to read in r, when r tells.
func remaining(r io.Reader) (int64, bool) {
	switch x := r.(type) {
	case interface{ Len() int }:
		return int64(x.Len()), true
	case *os.File:
		info, err := x.Stat()
		if err != nil || !info.Mode().IsRegular() {
			return 0, false
		}
		off, err := x.Seek(0, io.SeekCurrent)
		if err != nil {
			return 0, false
		}
		return max(info.Size()-off, 0), true
	}
	return 0, false
}

// lineBuffer is the size of the buffer lines are read through.
const lineBuffer = 64 << 10

func readLines(ctx context.Context, r io.Reader, emit func(engine.Item[Line, Line]) bool) (err error) {
	defer interruptible(ctx, r)()
	defer func() {
		if err != nil && ctx.Err() != nil {
			err = ctx.Err() // a read the cancellation interrupted
		}
	}()
	br := bufio.NewReaderSize(r, lineBuffer)
	var long []byte // a line longer than the buffer, put together
	var n int64
	w := weigher{ctx: ctx}
	defer w.flush()
	for {
		frag, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = append(long, frag...)
			continue
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("read after line %d: %w", n, err) // a partial line is not emitted
		}
		if size := len(long) + len(frag); size > 0 {
			var text string
			if len(long) > 0 {
				long = append(long, frag...)
				text = string(trimEOL(long))
				long = long[:0]
			} else {
				text = string(trimEOL(frag))
			}
			n++
			w.add(int64(size))
			if !emit(engine.Item[Line, Line]{Input: Line{n, text}, Value: Line{n, text}}) {
				return nil
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

// trimEOL drops a trailing "\n" and then a trailing "\r".
func trimEOL(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		b = b[:len(b)-1]
	}
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	return b
}

// weigher adds the bytes a source reads to its weight once per
// weightStep bytes (and when flushed), not once per line: the bar moves as
// smoothly and the hot path saves a context lookup.
type weigher struct {
	ctx     context.Context
	pending int64
}

const weightStep = 16 << 10

func (w *weigher) add(n int64) {
	if w.pending += n; w.pending >= weightStep {
		w.flush()
	}
}

func (w *weigher) flush() {
	if w.pending != 0 {
		engine.AddWeight(w.ctx, w.pending)
		w.pending = 0
	}
}

// interruptible makes a Read of r that blocks (a pipe, a terminal) return
// when ctx is cancelled, when r is an *os.File that supports deadlines, and
// returns the function that puts r back as it was.
func interruptible(ctx context.Context, r io.Reader) (restore func()) {
	f, ok := r.(*os.File)
	if !ok {
		return func() {}
	}
	set := make(chan bool, 1)
	stop := context.AfterFunc(ctx, func() {
		// A regular file has no deadlines: its reads do not block.
		set <- f.SetReadDeadline(time.Now()) == nil
	})
	return func() {
		if !stop() && <-set {
			_ = f.SetReadDeadline(time.Time{})
		}
	}
}
