package stage_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// balanced fails the test unless every stage's meters add up.
func balanced(t *testing.T, p *pipeline.Pipeline) {
	t.Helper()
	for _, st := range p.Stages() {
		if c := st.Counts(); !c.Balanced() {
			t.Errorf("stage %s: counts do not add up: %+v", st.Name(), c)
		}
	}
}

func upper(_ context.Context, l stage.Line) (string, error) { return strings.ToUpper(l.Text), nil }

func TestLinesSplitsAndWeighs(t *testing.T) {
	long := strings.Repeat("x", 200_000) // longer than the read buffer
	cases := []struct {
		name, in string
		want     []string
	}{
		{"empty", "", nil},
		{"one without newline", "a", []string{"a"}},
		{"trailing newline", "a\nb\n", []string{"a", "b"}},
		{"crlf", "a\r\nb\r\n\r\nc", []string{"a", "b", "", "c"}},
		{"empty lines", "\n\n", []string{"", ""}},
		{"long line", "a\n" + long + "\nb", []string{"a", long, "b"}},
	}
	for _, c := range cases {
		for _, workers := range []int{1, 8} {
			t.Run(c.name, func(t *testing.T) {
				p := pipeline.New()
				lines := stage.Lines(p, strings.NewReader(c.in), stage.WithName("lines"))
				got, err := sink.ByInput(context.Background(), stage.Map(lines, upper, stage.WithWorkers(workers)))
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(c.want) {
					t.Fatalf("%d lines, want %d", len(got), len(c.want))
				}
				for i, w := range c.want {
					l := stage.Line{Number: int64(i + 1), Text: w}
					if got[l] != strings.ToUpper(w) {
						t.Errorf("line %d: %.20q, want %.20q", i+1, got[l], strings.ToUpper(w))
					}
				}
				src := p.Stages()[0]
				if w := src.Counts().Weight; w != int64(len(c.in)) {
					t.Errorf("weight %d, want the %d bytes read", w, len(c.in))
				}
				if n, ok := src.WeightTotal(); !ok || n != int64(len(c.in)) {
					t.Errorf("weight total %d, %v; want %d, true", n, ok, len(c.in))
				}
				if src.Unit() != pipeline.Bytes {
					t.Errorf("unit %q, want bytes", src.Unit())
				}
				balanced(t, p)
			})
		}
	}
}

func TestLinesInOrder(t *testing.T) {
	var b strings.Builder
	for i := range 5000 {
		b.WriteString(strings.Repeat("y", i%50))
		b.WriteByte('\n')
	}
	p := pipeline.New()
	got, err := sink.Slice(context.Background(), stage.Lines(p, strings.NewReader(b.String())))
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range got {
		if l.Number != int64(i+1) || len(l.Text) != i%50 {
			t.Fatalf("item %d is %v %q", i, l, l.Text)
		}
	}
	if len(got) != 5000 {
		t.Fatalf("%d lines", len(got))
	}
}

// errReader returns its data, then err.
type errReader struct {
	data string
	err  error
}

func (r *errReader) Read(b []byte) (int, error) {
	if r.data == "" {
		return 0, r.err
	}
	n := copy(b, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestLinesReadErrorEndsTheSource(t *testing.T) {
	boom := errors.New("disk on fire")
	for _, cont := range []bool{false, true} {
		var opts []pipeline.Option
		if cont {
			opts = append(opts, pipeline.WithContinueOnError())
		}
		p := pipeline.New(opts...)
		var got []string
		err := sink.ForEach(context.Background(), stage.Lines(p, &errReader{"one\ntwo\nthr", boom}),
			func(_ stage.Line, l stage.Line) error { got = append(got, l.Text); return nil })
		if !errors.Is(err, boom) || !strings.Contains(err.Error(), "read after line 2") {
			t.Errorf("continue=%v: error %v, want %v after line 2", cont, err, boom)
		}
		// Under fail-fast the error cancels the run: lines still on their
		// way are cancelled. The partial line is never emitted.
		if want := []string{"one", "two"}; cont && !slices.Equal(got, want) || !slices.Equal(got, want[:len(got)]) {
			t.Errorf("continue=%v: lines %q, want %q", cont, got, want)
		}
		balanced(t, p)
	}
}

func TestFileLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.txt")
	body := "alpha\nbeta\ngamma\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	p := pipeline.New()
	n, err := sink.Count(context.Background(), stage.FileLines(p, path))
	if err != nil || n != 3 {
		t.Fatalf("%d lines, %v", n, err)
	}
	if w, ok := p.Stages()[0].WeightTotal(); !ok || w != int64(len(body)) {
		t.Errorf("weight total %d, %v: want the file's size %d", w, ok, len(body))
	}

	// An *os.File already partly read: its total is what is left.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(6, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	p = pipeline.New()
	lines, err := sink.Slice(context.Background(), stage.Lines(p, f))
	if err != nil || len(lines) != 2 || lines[0].Text != "beta" {
		t.Fatalf("%v, %v", lines, err)
	}
	if w, ok := p.Stages()[0].WeightTotal(); !ok || w != int64(len(body)-6) {
		t.Errorf("weight total %d, %v: want %d", w, ok, len(body)-6)
	}

	p = pipeline.New()
	_, err = sink.Count(context.Background(), stage.FileLines(p, filepath.Join(t.TempDir(), "missing")))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// endless is a reader of lines that never ends.
type endless struct{}

func (endless) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = "ab\n"[i%3]
	}
	return len(b), nil
}

func TestLinesStopPromptly(t *testing.T) {
	for _, workers := range []int{1, 4} {
		p := pipeline.New()
		first, err := sink.First(context.Background(), stage.Map(stage.Lines(p, endless{}), upper, stage.WithWorkers(workers)), 10)
		if err != nil || len(first) != 10 {
			t.Fatalf("workers=%d: %d lines, %v", workers, len(first), err)
		}
		balanced(t, p)

		ctx, cancel := context.WithCancel(context.Background())
		p = pipeline.New()
		seen := 0
		err = sink.ForEach(ctx, stage.Lines(p, endless{}), func(stage.Line, stage.Line) error {
			if seen++; seen == 100 {
				cancel()
			}
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("workers=%d: cancelled run returned %v", workers, err)
		}
		balanced(t, p)
	}
}

func TestLineString(t *testing.T) {
	if s := (stage.Line{Number: 12, Text: "x"}).String(); s != "line 12" {
		t.Errorf("%q", s)
	}
}

// A source reading a pipe that stays open stops when the run does: the
// Read it is blocked in is interrupted, and the pipe works again after.
func TestLinesInterruptsABlockedRead(t *testing.T) {
	for _, csvSource := range []bool{false, true} {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pw.WriteString("1,a\n2,b\n3,c\n"); err != nil {
			t.Fatal(err)
		}
		p := pipeline.New()
		var n int
		if csvSource {
			var got []sink.Result[stage.Record, stage.Record]
			got, err = sink.First(context.Background(), stage.CSV(p, pr), 3)
			n = len(got)
		} else {
			var got []sink.Result[stage.Line, stage.Line]
			got, err = sink.First(context.Background(), stage.Lines(p, pr), 3)
			n = len(got)
		}
		if err != nil || n != 3 {
			t.Fatalf("csv=%v: %d, %v", csvSource, n, err)
		}
		// The deadline was cleared: the pipe reads again.
		if _, err := pw.WriteString("x\n"); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 2)
		if _, err := io.ReadFull(pr, buf); err != nil || string(buf) != "x\n" {
			t.Errorf("csv=%v: reading the pipe after the run: %q, %v", csvSource, buf, err)
		}
		balanced(t, p)
		pr.Close()
		pw.Close()
	}
}
