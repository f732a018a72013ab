package sink_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

func balanced(t *testing.T, p *pipeline.Pipeline) {
	t.Helper()
	for _, st := range p.Stages() {
		if c := st.Counts(); !c.Balanced() {
			t.Errorf("stage %s: counts do not add up: %+v", st.Name(), c)
		}
	}
}

func double(_ context.Context, x int) (int, error) { return 2 * x, nil }

func TestGroupBy(t *testing.T) {
	for _, workers := range []int{1, 8} {
		p := pipeline.New()
		groups, err := sink.GroupBy(context.Background(), stage.OrderedMap(numbers(p, 1000), double, stage.WithWorkers(workers)),
			func(x, _ int) int { return x % 3 })
		if err != nil {
			t.Fatal(err)
		}
		if len(groups) != 3 {
			t.Fatalf("%d groups", len(groups))
		}
		for k, vs := range groups {
			var want []int
			for x := k; x < 1000; x += 3 {
				want = append(want, 2*x)
			}
			if !slices.Equal(vs, want) {
				t.Errorf("workers=%d: group %d holds %d values, not in input order", workers, k, len(vs))
			}
		}
		balanced(t, p)
	}
}

func TestGroupByAndCountByUnderErrors(t *testing.T) {
	ctx := context.Background()
	p := pipeline.New(pipeline.WithContinueOnError())
	groups, err := sink.GroupBy(ctx, stage.Map(numbers(p, 10), failOdd, stage.WithWorkers(3)), func(_, v int) bool { return v < 5 })
	if len(pipeline.ItemErrors[int](err)) != 5 || len(groups[true]) != 3 || len(groups[false]) != 2 {
		t.Errorf("groups %v, %v", groups, err)
	}
	balanced(t, p)

	p = pipeline.New(pipeline.WithContinueOnError())
	counts, err := sink.CountBy(ctx, stage.Map(numbers(p, 10), failOdd), func(_, v int) string {
		if v == 4 {
			panic("four")
		}
		return strconv.Itoa(v % 4)
	})
	ies := pipeline.ItemErrors[int](err)
	if len(ies) != 6 || !maps.Equal(counts, map[string]int{"0": 2, "2": 2}) {
		t.Errorf("counts %v, %d failures: %v", counts, len(ies), err)
	}
	balanced(t, p)

	p = pipeline.New()
	byValue, err := sink.CountBy(ctx, stage.Map(numbers(p, 1000), failOdd, stage.WithWorkers(1)), func(_, v int) int { return v })
	var ie *pipeline.ItemError[int]
	if !errors.As(err, &ie) || ie.Input != 1 || len(byValue) > 1 {
		t.Errorf("fail-fast: counts %v, %v", byValue, err)
	}
	balanced(t, p)
}

func TestCountBy(t *testing.T) {
	words := strings.Fields("the cat and the hat and the bat")
	for _, workers := range []int{1, 8} {
		p := pipeline.New()
		counts, err := sink.CountBy(context.Background(),
			stage.Map(stage.FromSlice(p, words), func(_ context.Context, w string) (string, error) { return strings.ToUpper(w), nil }, stage.WithWorkers(workers)),
			func(_, w string) string { return w })
		want := map[string]int{"THE": 3, "AND": 2, "CAT": 1, "HAT": 1, "BAT": 1}
		if err != nil || !maps.Equal(counts, want) {
			t.Errorf("workers=%d: %v, %v", workers, counts, err)
		}
	}
}

func TestWriteLines(t *testing.T) {
	for _, workers := range []int{1, 8} {
		p := pipeline.New()
		var b bytes.Buffer
		err := sink.WriteLines(context.Background(), stage.OrderedMap(numbers(p, 500), double, stage.WithWorkers(workers)), &b,
			func(x, v int) string { return fmt.Sprintf("%d=%d", x, v) })
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		if len(lines) != 500 || lines[0] != "0=0" || lines[499] != "499=998" {
			t.Errorf("workers=%d: %d lines, %q ... %q", workers, len(lines), lines[0], lines[len(lines)-1])
		}
		balanced(t, p)
	}
}

// failingWriter fails from its n-th write on.
type failingWriter struct {
	n, writes int
	buf       bytes.Buffer
}

var errDiskFull = errors.New("disk full")

func (w *failingWriter) Write(b []byte) (int, error) {
	if w.writes++; w.writes >= w.n {
		return 0, errDiskFull
	}
	return w.buf.Write(b)
}

func TestWriteLinesWriteErrorEndsTheRun(t *testing.T) {
	for _, cont := range []bool{false, true} {
		for _, workers := range []int{1, 4} {
			var opts []pipeline.Option
			if cont {
				opts = append(opts, pipeline.WithContinueOnError())
			}
			p := pipeline.New(opts...)
			w := &failingWriter{n: 5}
			var calls atomic.Int64
			fn := func(_ context.Context, x int) (int, error) {
				calls.Add(1)
				if cont {
					return failOdd(context.Background(), x)
				}
				return x, nil
			}
			err := sink.WriteLines(context.Background(), stage.OrderedMap(numbers(p, 100_000), fn, stage.WithWorkers(workers)), w,
				func(x, _ int) string { return strconv.Itoa(x) })
			var writeErr *pipeline.ItemError[int]
			for _, ie := range pipeline.ItemErrors[int](err) {
				if errors.Is(ie, errDiskFull) {
					writeErr = ie
				}
			}
			wantItem, wantOut := 8, "0\n2\n4\n6\n"
			if !cont {
				wantItem, wantOut = 4, "0\n1\n2\n3\n"
			}
			if writeErr == nil || writeErr.Input != wantItem || !strings.Contains(writeErr.Error(), "disk full") {
				t.Fatalf("continue=%v: %v; want the write error of item %d", cont, err, wantItem)
			}
			if got := w.buf.String(); got != wantOut {
				t.Errorf("written %q, want %q", got, wantOut)
			}
			if cont && len(pipeline.ItemErrors[int](err)) != 5 {
				t.Errorf("want the four failures before the write error and it: %v", err)
			}
			if calls.Load() == 100_000 {
				t.Errorf("continue=%v: the run went on to the end after the write error", cont)
			}
			if c := p.Stages()[2].Counts(); c.Failed != 1 || c.Out != 4 {
				t.Errorf("sink counts %+v", c)
			}
			balanced(t, p)
		}
	}
}

func TestFirst(t *testing.T) {
	for _, workers := range []int{1, 8} {
		// An endless source: First must stop it.
		p := pipeline.New()
		src := stage.Generate(p, func(ctx context.Context, emit func(int) bool) error {
			for i := 0; emit(i); i++ {
			}
			return nil
		})
		got, err := sink.First(context.Background(), stage.OrderedMap(src, double, stage.WithWorkers(workers)), 7)
		if err != nil {
			t.Fatal(err)
		}
		var want []sink.Result[int, int]
		for i := range 7 {
			want = append(want, sink.Result[int, int]{Input: i, Value: 2 * i})
		}
		if !slices.Equal(got, want) {
			t.Errorf("workers=%d: %v", workers, got)
		}
		balanced(t, p)

		p = pipeline.New()
		all, err := sink.First(context.Background(), stage.Map(numbers(p, 3), double, stage.WithWorkers(workers)), 10)
		if err != nil || len(all) != 3 {
			t.Errorf("fewer results than n: %v, %v", all, err)
		}
	}
}

func TestFirstErrors(t *testing.T) {
	p := pipeline.New(pipeline.WithContinueOnError())
	got, err := sink.First(context.Background(), stage.OrderedMap(numbers(p, 1000), failOdd, stage.WithWorkers(1)), 3)
	ies := pipeline.ItemErrors[int](err)
	if len(got) != 3 || got[2].Input != 4 || len(ies) < 2 {
		t.Errorf("%v, %v: want 0, 2, 4 and the failures of 1 and 3", got, err)
	}
	balanced(t, p)

	p = pipeline.New()
	got, err = sink.First(context.Background(), stage.OrderedMap(numbers(p, 1000), failOdd, stage.WithWorkers(1)), 3)
	var ie *pipeline.ItemError[int]
	if !errors.As(err, &ie) || ie.Input != 1 || len(got) > 1 {
		t.Errorf("fail-fast: %v, %v", got, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p = pipeline.New()
	_, err = sink.First(ctx, numbers(p, 10), 3)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestNewSinksMisuse(t *testing.T) {
	cases := []struct {
		want  string
		build func()
	}{
		{"sink: GroupBy: key function is nil", func() { sink.GroupBy[int, int, int](context.Background(), numbers(pipeline.New(), 1), nil) }},
		{"sink: CountBy: key function is nil", func() { sink.CountBy[int, int, int](context.Background(), numbers(pipeline.New(), 1), nil) }},
		{"sink: WriteLines: writer is nil", func() {
			sink.WriteLines(context.Background(), numbers(pipeline.New(), 1), nil, func(int, int) string { return "" })
		}},
		{"sink: WriteLines: format function is nil", func() { sink.WriteLines(context.Background(), numbers(pipeline.New(), 1), &bytes.Buffer{}, nil) }},
		{"sink: First: n is 0; it must be at least 1", func() { sink.First(context.Background(), numbers(pipeline.New(), 1), 0) }},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			defer func() {
				if v, _ := recover().(string); v != c.want {
					t.Errorf("panic %q, want %q", v, c.want)
				}
			}()
			c.build()
		})
	}
}
