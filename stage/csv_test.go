package stage_test

import (
	"context"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// A CSV file with malformed records on lines 3, 4, 8 and 9-10.
const messyCSV = "a,b\n1,2\n3\n4,\"x\"y\n5,6\n\"multi\nline\",7\n8,9,10\n11,\"unterminated\n12,13\n"

func sumFields(_ context.Context, r stage.Record) (int, error) {
	n := 0
	for _, f := range r.Fields {
		x, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return 0, err
		}
		n += x
	}
	return n, nil
}

func TestCSVRecords(t *testing.T) {
	data := "x,y\n1,2\n\"3\",\"4\"\n\"multi\nline\",5\n6,7\n"
	for _, workers := range []int{1, 8} {
		p := pipeline.New()
		recs, err := sink.Slice(context.Background(), stage.OrderedMap(stage.CSV(p, strings.NewReader(data)),
			func(_ context.Context, r stage.Record) (stage.Record, error) { return r, nil }, stage.WithWorkers(workers)))
		if err != nil {
			t.Fatal(err)
		}
		wantLines := []int64{1, 2, 3, 4, 6}
		if len(recs) != len(wantLines) {
			t.Fatalf("%d records: %v", len(recs), recs)
		}
		for i, r := range recs {
			if r.Line != wantLines[i] || len(r.Fields) != 2 {
				t.Errorf("record %d: %v %q, want line %d", i, r, r.Fields, wantLines[i])
			}
		}
		if !slices.Equal(recs[3].Fields, []string{"multi\nline", "5"}) {
			t.Errorf("quoted field: %q", recs[3].Fields)
		}
		src := p.Stages()[0]
		if c := src.Counts(); c.Out != 5 || c.Weight != int64(len(data)) {
			t.Errorf("counts %+v: want 5 rows and %d bytes", c, len(data))
		}
		if w, ok := src.WeightTotal(); !ok || w != int64(len(data)) {
			t.Errorf("weight total %d, %v", w, ok)
		}
		balanced(t, p)
	}
}

// Under continue-on-error a malformed record fails alone, named by its
// line, and the source goes on.
func TestCSVMalformedRecordsAreItemErrors(t *testing.T) {
	for _, workers := range []int{1, 4} {
		p := pipeline.New(pipeline.WithContinueOnError())
		sums, err := sink.ByKey(context.Background(), stage.Map(stage.CSV(p, strings.NewReader(messyCSV), stage.WithName("csv")), sumFields, stage.WithWorkers(workers)),
			func(r stage.Record, _ int) int64 { return r.Line })
		ies := pipeline.ItemErrors[stage.Record](err)
		var lines []int64
		for _, ie := range ies {
			var pe *csv.ParseError
			if ie.Stage == "csv" && (!errors.As(ie, &pe) || int64(pe.StartLine) != ie.Input.Line) {
				t.Errorf("failure %v: want a *csv.ParseError of stage csv on its line", ie)
			}
			if !strings.Contains(ie.Error(), "item line "+strconv.FormatInt(ie.Input.Line, 10)) {
				t.Errorf("error %q does not name its line", ie)
			}
			lines = append(lines, ie.Input.Line)
		}
		slices.Sort(lines)
		// Lines 1 and 6 fail in the map (not numbers), the rest at the source.
		if want := []int64{1, 3, 4, 6, 8, 9}; !slices.Equal(lines, want) {
			t.Errorf("workers=%d: failed lines %v, want %v (%v)", workers, lines, want, err)
		}
		if len(sums) != 2 || sums[2] != 3 || sums[5] != 11 {
			t.Errorf("sums %v", sums)
		}
		src := p.Stages()[0]
		if c := src.Counts(); c.Failed != 4 || c.Out != 4 || c.Weight != int64(len(messyCSV)) {
			t.Errorf("source counts %+v", c)
		}
		balanced(t, p)
	}
}

func TestCSVFailFastStopsAtTheFirstMalformedRecord(t *testing.T) {
	p := pipeline.New()
	var seen []int64
	err := sink.ForEach(context.Background(), stage.CSV(p, strings.NewReader(messyCSV)), func(r stage.Record, _ stage.Record) error {
		seen = append(seen, r.Line)
		return nil
	})
	var ie *pipeline.ItemError[stage.Record]
	if !errors.As(err, &ie) || ie.Input.Line != 3 || !errors.Is(err, csv.ErrFieldCount) {
		t.Fatalf("error %v, want line 3's wrong number of fields", err)
	}
	if len(seen) > 2 {
		t.Errorf("records after the failure were handed on: %v", seen)
	}
	balanced(t, p)
}

func TestCSVReaderAndFileCSV(t *testing.T) {
	cr := csv.NewReader(strings.NewReader("h1;h2\n1;2\n3;4\n"))
	cr.Comma = ';'
	if _, err := cr.Read(); err != nil { // the header
		t.Fatal(err)
	}
	p := pipeline.New()
	recs, err := sink.Slice(context.Background(), stage.CSVReader(p, cr))
	if err != nil || len(recs) != 2 || recs[0].Line != 2 || recs[1].Fields[1] != "4" {
		t.Fatalf("%v, %v", recs, err)
	}
	if w := p.Stages()[0].Counts().Weight; w != int64(len("h1;h2\n1;2\n3;4\n")) {
		t.Errorf("weight %d: the reader's whole input offset", w)
	}

	path := filepath.Join(t.TempDir(), "f.csv")
	if err := os.WriteFile(path, []byte("1,2\n3,4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p = pipeline.New()
	n, err := sink.Count(context.Background(), stage.FileCSV(p, path))
	if err != nil || n != 2 {
		t.Fatalf("%d, %v", n, err)
	}
	if w, ok := p.Stages()[0].WeightTotal(); !ok || w != 8 {
		t.Errorf("weight total %d, %v", w, ok)
	}

	reuse := csv.NewReader(strings.NewReader(""))
	reuse.ReuseRecord = true
	defer func() {
		if v, _ := recover().(string); !strings.HasPrefix(v, "stage: CSVReader: the reader reuses records") {
			t.Errorf("panic %q", v)
		}
	}()
	stage.CSVReader(pipeline.New(), reuse)
}

func TestCSVReadErrorEndsTheSource(t *testing.T) {
	boom := errors.New("cable cut")
	p := pipeline.New(pipeline.WithContinueOnError())
	n, err := sink.Count(context.Background(), stage.CSV(p, &errReader{"1,2\n3,4\n", boom}))
	if !errors.Is(err, boom) || len(pipeline.ItemErrors[stage.Record](err)) != 0 {
		t.Fatalf("error %v, want the read error and no item error", err)
	}
	if n != 2 {
		t.Errorf("%d records before the error, want 2", n)
	}
	balanced(t, p)
}

// A read error that cuts a record short in the middle of a line (between
// the \r and the \n of a CRLF after a quoted field, or inside a quoted
// field) ends the source with the read error; encoding/csv alone reports
// the record as malformed, which hid the read error under fail-fast. A
// malformed record that was read whole is still its item's failure.
func TestCSVReadErrorInsideARecord(t *testing.T) {
	boom := errors.New("cable cut")
	for _, tc := range []struct {
		data    string
		records int // well-formed records before the error
		bad     int // malformed records before the error
	}{
		{"\"a\"\r", 0, 0},
		{"x,y\r\n\"a\",\"b\"\r", 1, 0},
		{"x,y\n\"a\nb", 1, 0},
		{"x,y\n1,2,3\n", 1, 1}, // the malformed record is whole: its own failure
	} {
		for _, cont := range []bool{false, true} {
			var opts []pipeline.Option
			if cont {
				opts = append(opts, pipeline.WithContinueOnError())
			}
			p := pipeline.New(opts...)
			n, err := sink.Count(context.Background(), stage.CSV(p, &errReader{tc.data, boom}))
			ies := pipeline.ItemErrors[stage.Record](err)
			switch {
			case !cont && tc.bad > 0:
				if len(ies) != 1 {
					t.Errorf("%q, fail-fast: error %v, want the malformed record's", tc.data, err)
				}
			case !errors.Is(err, boom) || len(ies) != tc.bad:
				t.Errorf("%q, continue-on-error %v: error %v, want the read error and %d item errors", tc.data, cont, err, tc.bad)
			case cont && n != tc.records: // under fail-fast the source's error cancels records in flight
				t.Errorf("%q: %d records, want %d", tc.data, n, tc.records)
			}
			balanced(t, p)
		}
	}
}
