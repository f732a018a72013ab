package stage

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
)

// Record is a CSV record read by [CSV], [CSVReader] or [FileCSV]: both the
// pipeline input and the value of its item, so that an error downstream
// names the line it came from. It holds a slice and is not comparable: to
// key results by record, key them by its Line (sink.ByKey).
type Record struct {
	Line   int64    // the line the record starts on, from 1
	Fields []string // the record's fields; for a malformed record, what was read of it (often nothing)
}

// String returns "line N", which is how item errors name the record.
func (r Record) String() string { return "line " + strconv.FormatInt(r.Line, 10) }

// CSV returns a source that emits the records of the CSV data read from r
// by an encoding/csv Reader with its defaults (comma-separated, the first
// record setting the number of fields), in order, from one goroutine of
// the run; use [CSVReader] for other settings. Each record is an item, so
// bars count rows; the source's weight is the bytes read (unit
// pipeline.Bytes unless WithUnit says otherwise), and its weight total is
// known when r tells how much is left (a regular *os.File, a reader with a
// Len method), as for [Lines].
//
// A malformed record (a wrong number of fields, a bad quote) is the
// failure of its item, named by its line, with the *csv.ParseError as its
// cause: under fail-fast it stops the run; under continue-on-error the
// source goes on with the next record and the sink returns the failure
// with the others. A read error that is not a parse error ends the source:
// the sink returns it. When the run is cancelled, the source stops after
// the record it is emitting; a blocking read of an *os.File on a pipe or a
// terminal is interrupted, as for [Lines]. A record that a read error cuts
// short in the middle of a line is not reported as malformed: the read
// error ends the source. r is not closed. Options: WithName, WithUnit.
// It panics if r is nil.
func CSV(p *pipeline.Pipeline, r io.Reader, opts ...Option) *pipeline.Stream[Record, Record] {
	if r == nil {
		panic("stage: CSV: reader is nil")
	}
	return engine.ItemSource(p, bytesSpec("CSV", opts), func(ctx context.Context, emit func(engine.Item[Record, Record]) bool) error {
		if n, ok := remaining(r); ok {
			engine.SetWeightTotal(ctx, n)
		}
		defer interruptible(ctx, r)()
		rr := &readRecorder{r: r}
		return readCSV(ctx, csv.NewReader(rr), rr, emit)
	})
}

// CSVReader is [CSV] with a reader the caller has configured (Comma,
// Comment, FieldsPerRecord, LazyQuotes, TrimLeadingSpace; a header already
// read). ReuseRecord must be false: every record keeps its own fields. The
// weight is the reader's InputOffset, the bytes it has consumed, including
// what it read before (a header), so that a file's size is its total; that
// total is unknown to the source (progress.WithTotal can declare it). Options: WithName, WithUnit. It panics if cr is nil or reuses
// records.
func CSVReader(p *pipeline.Pipeline, cr *csv.Reader, opts ...Option) *pipeline.Stream[Record, Record] {
	if cr == nil {
		panic("stage: CSVReader: reader is nil")
	}
	if cr.ReuseRecord {
		panic("stage: CSVReader: the reader reuses records (ReuseRecord); every record must keep its own fields")
	}
	return engine.ItemSource(p, bytesSpec("CSVReader", opts), func(ctx context.Context, emit func(engine.Item[Record, Record]) bool) error {
		return readCSV(ctx, cr, nil, emit)
	})
}

// FileCSV is [CSV] over the file at path, which the source opens when the
// run starts and closes when it ends; the file's size is the weight total.
// An error opening it ends the source with that error. Options: WithName,
// WithUnit. It panics if path is empty.
func FileCSV(p *pipeline.Pipeline, path string, opts ...Option) *pipeline.Stream[Record, Record] {
	if path == "" {
		panic("stage: FileCSV: path is empty")
	}
	return engine.ItemSource(p, bytesSpec("FileCSV", opts), func(ctx context.Context, emit func(engine.Item[Record, Record]) bool) error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if n, ok := remaining(f); ok {
			engine.SetWeightTotal(ctx, n)
		}
		rr := &readRecorder{r: f}
		return readCSV(ctx, csv.NewReader(rr), rr, emit)
	})
}

// readRecorder remembers the first read error of the reader under a
// csv.Reader and how many bytes came before it.
type readRecorder struct {
	r    io.Reader
	n    int64 // bytes read so far
	err  error // the first error other than io.EOF
	at   int64 // bytes read before err
	last byte  // the last byte read before err
}

func (rr *readRecorder) Read(b []byte) (int, error) {
	n, err := rr.r.Read(b)
	if n > 0 {
		rr.n += int64(n)
		if rr.err == nil {
			rr.last = b[n-1]
		}
	}
	if err != nil && err != io.EOF && rr.err == nil {
		rr.err, rr.at = err, rr.n
	}
	return n, err
}

// cutShort reports whether a parse error at the csv.Reader's offset off
// comes from a record that the read error cut short: the reader consumed
// everything read before the error, and that did not end with a line.
// encoding/csv reports such a record as malformed (a quoted field followed
// by the \r of a CRLF, a quote left open), hiding the read error.
func (rr *readRecorder) cutShort(off int64) bool {
	return rr != nil && rr.err != nil && off >= rr.at && rr.at > 0 && rr.last != '\n'
}

func readCSV(ctx context.Context, cr *csv.Reader, rr *readRecorder, emit func(engine.Item[Record, Record]) bool) (err error) {
	defer func() {
		if err != nil && ctx.Err() != nil {
			err = ctx.Err() // a read the cancellation interrupted
		}
	}()
	var read int64
	w := weigher{ctx: ctx}
	defer w.flush()
	for {
		fields, err := cr.Read()
		if off := cr.InputOffset(); off > read {
			w.add(off - read)
			read = off
		}
		var it engine.Item[Record, Record]
		var pe *csv.ParseError
		switch {
		case err == io.EOF:
			return nil
		case errors.As(err, &pe) && rr.cutShort(cr.InputOffset()):
			return fmt.Errorf("after %d bytes: %w", rr.at, rr.err)
		case errors.As(err, &pe):
			rec := Record{Line: int64(pe.StartLine), Fields: fields}
			it = engine.Item[Record, Record]{Input: rec, Err: err}
		case err != nil: // a read error: the reader returns it as it is
			return fmt.Errorf("after %d bytes: %w", read, err)
		default:
			line, _ := cr.FieldPos(0)
			rec := Record{Line: int64(line), Fields: fields}
			it = engine.Item[Record, Record]{Input: rec, Value: rec}
		}
		if !emit(it) {
			return nil
		}
	}
}
