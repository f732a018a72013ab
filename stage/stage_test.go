package stage_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

func id(_ context.Context, x int) (int, error) { return x, nil }

func TestMisusePanicsAtBuildTime(t *testing.T) {
	cases := []struct {
		name, want string
		build      func()
	}{
		{"nil map function", "stage: Map: function is nil", func() {
			stage.Map[int, int, int](stage.FromSlice(pipeline.New(), []int{1}), nil)
		}},
		{"nil filter function", "stage: Filter: function is nil", func() {
			stage.Filter(stage.FromSlice(pipeline.New(), []int{1}), nil)
		}},
		{"nil callback", "stage: OnDone: function is nil", func() {
			stage.OnDone[int, int](stage.FromSlice(pipeline.New(), []int{1}), nil)
		}},
		{"nil generator", "stage: Generate: function is nil", func() { stage.Generate[int](pipeline.New(), nil) }},
		{"nil sequence", "stage: FromSeq: sequence is nil", func() { stage.FromSeq[int](pipeline.New(), nil) }},
		{"nil channel", "stage: FromChan: channel is nil", func() { stage.FromChan[int](pipeline.New(), nil) }},
		{"zero workers", "stage: WithWorkers: 0 is less than 1", func() { stage.WithWorkers(0) }},
		{"zero window", "stage: WithWindow: 0 is less than 1", func() { stage.WithWindow(0) }},
		{"nil option", "stage: FromSlice: nil option", func() { stage.FromSlice(pipeline.New(), []int{1}, nil) }},
		{"window on an unordered filter", "stage: Filter does not take WithWindow (it takes WithName, WithWorkers, WithUnit)", func() {
			stage.Filter(stage.FromSlice(pipeline.New(), []int{1}), func(int) bool { return true }, stage.WithWindow(3))
		}},
		{"stream consumed twice", `pipeline: the output of stage "source0" is already consumed by stage "id"`, func() {
			src := stage.FromSlice(pipeline.New(), []int{1})
			stage.Map(src, id)
			stage.Map(src, id)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				v := recover()
				msg, _ := v.(string)
				if !strings.HasPrefix(msg, c.want) {
					t.Errorf("panic %q, want it to start with %q", v, c.want)
				}
			}()
			c.build()
		})
	}
}

// Every transform with one worker and many, over a chain.
func TestChainWorkerCounts(t *testing.T) {
	for _, w := range []int{1, 3, 16} {
		for _, ordered := range []bool{false, true} {
			t.Run(fmt.Sprintf("workers=%d/ordered=%v", w, ordered), func(t *testing.T) {
				const n = 10000
				xs := make([]int, n)
				for i := range xs {
					xs[i] = i
				}
				mapf, filterf := stage.Map[int, int, int], stage.Filter[int, int]
				if ordered {
					mapf, filterf = stage.OrderedMap[int, int, int], stage.OrderedFilter[int, int]
				}
				p := pipeline.New()
				s := mapf(stage.FromSlice(p, xs), func(_ context.Context, x int) (int, error) { return x + 1, nil }, stage.WithWorkers(w))
				s = filterf(s, func(x int) bool { return x%2 == 0 }, stage.WithWorkers(w))
				s = mapf(s, func(_ context.Context, x int) (int, error) { return x * 3, nil }, stage.WithWorkers(w))
				got, err := sink.Slice(context.Background(), s)
				if err != nil {
					t.Fatal(err)
				}
				var want []int
				for _, x := range xs {
					if (x+1)%2 == 0 {
						want = append(want, (x+1)*3)
					}
				}
				if !ordered {
					slices.Sort(got)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("got %d results, want %d (first difference matters)", len(got), len(want))
				}
				for _, st := range p.Stages() {
					if !st.Counts().Balanced() {
						t.Errorf("%s: %+v", st.Name(), st.Counts())
					}
				}
			})
		}
	}
}

func TestUnitWithoutWeightFunction(t *testing.T) {
	p := pipeline.New()
	s := stage.Map(stage.FromSlice(p, []int{1, 2, 3}), func(ctx context.Context, x int) (int, error) {
		pipeline.AddWeight(ctx, int64(10*x))
		return x, nil
	}, stage.WithUnit(pipeline.Rows))
	if _, err := sink.Count(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	st := p.Stages()[1]
	if st.Unit() != pipeline.Rows || st.Counts().Weight != 60 {
		t.Errorf("unit %q weight %d, want rows and 60", st.Unit(), st.Counts().Weight)
	}
}

func TestStageNames(t *testing.T) {
	p := pipeline.New()
	s := stage.Map(stage.FromSlice(p, []int{1}, stage.WithName("numbers")), id, stage.WithName("work"))
	s = stage.Map(s, id, stage.WithName("work"))
	if _, err := sink.Count(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, st := range p.Stages() {
		names = append(names, st.Name())
	}
	if want := []string{"numbers", "work", "work#2", "sink3"}; !slices.Equal(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
}

func TestSourceWeightAndDescription(t *testing.T) {
	p := pipeline.New()
	files := []string{"a.txt", "bb.txt"}
	src := stage.FromSlice(p, files).
		Weigh(pipeline.Bytes, func(f string) int64 { return int64(len(f)) }).
		Describe(func(f, _ string) string { return "found " + f })
	if _, err := sink.Count(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	st := p.Stages()[0]
	if st.Counts().Weight != 11 || st.Description() != "found bb.txt" {
		t.Errorf("weight %d, description %q", st.Counts().Weight, st.Description())
	}

	p = pipeline.New()
	gen := stage.Generate(p, func(_ context.Context, emit func(string) bool) error {
		for _, f := range files {
			emit(f)
		}
		return nil
	}).
		Weigh(pipeline.Bytes, func(f string) int64 { return int64(len(f)) }).
		Describe(func(f, _ string) string { return "found " + f })
	if _, err := sink.Count(context.Background(), gen); err != nil {
		t.Fatal(err)
	}
	st = p.Stages()[0]
	if st.Counts().Weight != 11 || st.Description() != "found bb.txt" {
		t.Errorf("generator: weight %d, description %q", st.Counts().Weight, st.Description())
	}
}
