package stage_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

func strlen(_ context.Context, s string) (int, error) { return len(s), nil }

func TestFromSeq2KeysResultsByKey(t *testing.T) {
	m := map[int]string{1: "a", 2: "bb", 3: "ccc", 40: strings.Repeat("d", 40)}
	for _, workers := range []int{1, 8} {
		p := pipeline.New()
		got, err := sink.ByInput(context.Background(), stage.Map(stage.FromSeq2(p, maps.All(m)), strlen, stage.WithWorkers(workers)))
		if err != nil {
			t.Fatal(err)
		}
		if want := map[int]int{1: 1, 2: 2, 3: 3, 40: 40}; !maps.Equal(got, want) {
			t.Errorf("workers=%d: %v, want %v", workers, got, want)
		}
		balanced(t, p)
	}
}

func TestFromSeq2KeepsOrderAndDuplicates(t *testing.T) {
	seq := func(yield func(string, int) bool) {
		for i, k := range []string{"x", "y", "x", "z"} {
			if !yield(k, i) {
				return
			}
		}
	}
	p := pipeline.New()
	got, err := sink.First(context.Background(), stage.FromSeq2(p, seq), 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []sink.Result[string, int]{{Input: "x", Value: 0}, {Input: "y", Value: 1}, {Input: "x", Value: 2}, {Input: "z", Value: 3}}
	if !slices.Equal(got, want) {
		t.Errorf("%v, want %v", got, want)
	}
}

func TestFromSeq2StopsTheIteration(t *testing.T) {
	yielded, stopped := 0, false
	endless := func(yield func(int, int) bool) {
		for i := 0; ; i++ {
			yielded++
			if !yield(i, i*i) {
				stopped = true
				return
			}
		}
	}
	p := pipeline.New()
	got, err := sink.First(context.Background(), stage.FromSeq2(p, endless), 5)
	if err != nil || len(got) != 5 || got[4] != (sink.Result[int, int]{Input: 4, Value: 16}) {
		t.Fatalf("%v, %v", got, err)
	}
	if !stopped {
		t.Errorf("the iteration was not told to stop (yield never returned false) after %d values", yielded)
	}
	balanced(t, p)
}

func TestFromMap(t *testing.T) {
	m := map[string]int{}
	for i := range 1000 {
		m[strings.Repeat("k", i%10)+string(rune('a'+i%26))+string(rune('a'+i/26))] = i
	}
	for _, workers := range []int{1, 8} {
		p := pipeline.New()
		src := stage.FromMap(p, m)
		if n, final := p.Stages()[0].Total(); n != int64(len(m)) || !final {
			t.Errorf("total %d, %v; want %d known from the start", n, final, len(m))
		}
		got, err := sink.ByInput(context.Background(), stage.Map(src, func(_ context.Context, v int) (int, error) { return 2 * v, nil }, stage.WithWorkers(workers)))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range m {
			if got[k] != 2*v {
				t.Fatalf("%s: %d, want %d", k, got[k], 2*v)
			}
		}
		if len(got) != len(m) {
			t.Errorf("%d results, want %d", len(got), len(m))
		}
		balanced(t, p)
	}
}

func TestFromMapSortedIsInKeyOrder(t *testing.T) {
	m := map[int]string{5: "e", 1: "a", 3: "c", 2: "b", 4: "d"}
	for _, workers := range []int{1, 4} {
		p := pipeline.New()
		got, err := sink.Slice(context.Background(), stage.OrderedMap(stage.FromMapSorted(p, m),
			func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil }, stage.WithWorkers(workers)))
		if err != nil || !slices.Equal(got, []string{"A", "B", "C", "D", "E"}) {
			t.Errorf("workers=%d: %v, %v", workers, got, err)
		}
	}
	p := pipeline.New()
	n, err := sink.Count(context.Background(), stage.FromMap(p, map[int]int{}))
	if n != 0 || err != nil {
		t.Errorf("empty map: %d, %v", n, err)
	}
}

func TestPairSourcesWeighAndDescribe(t *testing.T) {
	p := pipeline.New()
	src := stage.FromMapSorted(p, map[string]int{"a": 3, "b": 4}).
		Weigh(pipeline.Rows, func(v int) int64 { return int64(v) }).
		Describe(func(k string, v int) string { return k + "!" })
	if _, err := sink.Count(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	st := p.Stages()[0]
	if st.Counts().Weight != 7 || st.Unit() != pipeline.Rows || st.Description() != "b!" {
		t.Errorf("weight %d unit %q description %q", st.Counts().Weight, st.Unit(), st.Description())
	}

	p = pipeline.New()
	seq := stage.FromSeq2(p, maps.All(map[string]int{"z": 5})).
		Weigh(pipeline.Rows, func(v int) int64 { return int64(v) }).
		Describe(func(k string, v int) string { return k + "?" })
	if _, err := sink.Count(context.Background(), seq); err != nil {
		t.Fatal(err)
	}
	st = p.Stages()[0]
	if st.Counts().Weight != 5 || st.Description() != "z?" {
		t.Errorf("weight %d description %q", st.Counts().Weight, st.Description())
	}
}

func TestIOSourcesMisuse(t *testing.T) {
	cases := []struct {
		want  string
		build func()
	}{
		{"stage: FromSeq2: sequence is nil", func() { stage.FromSeq2[int, int](pipeline.New(), nil) }},
		{"stage: Lines: reader is nil", func() { stage.Lines(pipeline.New(), nil) }},
		{"stage: FileLines: path is empty", func() { stage.FileLines(pipeline.New(), "") }},
		{"stage: CSV: reader is nil", func() { stage.CSV(pipeline.New(), nil) }},
		{"stage: CSVReader: reader is nil", func() { stage.CSVReader(pipeline.New(), nil) }},
		{"stage: FileCSV: path is empty", func() { stage.FileCSV(pipeline.New(), "") }},
		{"stage: Walk: root is empty", func() { stage.Walk(pipeline.New(), "") }},
		{"stage: Walk does not take WithWorkers (it takes WithName, WithCountFirst)", func() { stage.Walk(pipeline.New(), ".", stage.WithWorkers(2)) }},
		{"stage: FromMap does not take WithWorkers", func() { stage.FromMap(pipeline.New(), map[int]int{}, stage.WithWorkers(2)) }},
		{"pipeline: ItemSource: the pipeline is nil", func() { stage.FromSeq2[int, int](nil, func(func(int, int) bool) {}) }},
		{"pipeline: PairSource: the pipeline is nil", func() { stage.FromMap[int, int](nil, nil) }},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			defer func() {
				if v, _ := recover().(string); !strings.HasPrefix(v, c.want) {
					t.Errorf("panic %q, want %q", v, c.want)
				}
			}()
			c.build()
		})
	}
}
