package campaign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"testing"
	"time"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
	"github.com/flowbar/flowbar/progress"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

func ident(_ context.Context, x int) (int, error) { return x, nil }

// TestMisuse checks every build-time panic documented in pipeline, stage,
// sink and progress: each fires, with a message that names its package and the mistake.
func TestMisuse(t *testing.T) {
	ctx := context.Background()
	xs := []int{1, 2, 3}
	tests := []struct {
		name string
		fn   func()
		want string // the whole message
	}{
		// pipeline
		{"pipeline.New nil option", func() { pipeline.New(nil) }, "pipeline: New: nil option"},
		{"pipeline.WithObserver nil", func() { pipeline.WithObserver(nil) }, "pipeline: WithObserver: observer is nil"},
		{"pipeline.WithChunkSize 0", func() { pipeline.WithChunkSize(0) }, "pipeline: WithChunkSize: size 0 is less than 1"},
		{"engine.Attach no worker", func() {
			engine.Attach([]*pipeline.Stream[int, int]{stage.FromSlice(pipeline.New(), xs)},
				engine.Spec[int, int, int, int]{Name: "s"}, engine.OperatorFunc[int, int, int, int](func(*engine.Worker[int, int, int, int]) {}))
		}, `pipeline: stage "s": 0 workers for 1 inputs; each input needs a worker`},
		{"engine.Attach nil operator", func() {
			engine.Attach[int, int, int, int]([]*pipeline.Stream[int, int]{stage.FromSlice(pipeline.New(), xs)},
				engine.Spec[int, int, int, int]{Name: "t", Workers: 1}, nil)
		}, `pipeline: stage "t": function is nil`},
		{"engine.Attach negative window", func() {
			engine.Attach([]*pipeline.Stream[int, int]{stage.FromSlice(pipeline.New(), xs)},
				engine.Spec[int, int, int, int]{Name: "t", Workers: 1, Window: -1}, engine.OperatorFunc[int, int, int, int](func(*engine.Worker[int, int, int, int]) {}))
		}, `pipeline: stage "t": window -1 is negative`},
		{"engine.Attach changes the input type without Failure", func() {
			engine.Attach([]*pipeline.Stream[int, int]{stage.FromSlice(pipeline.New(), xs)},
				engine.Spec[int, int, string, int]{Name: "t", Workers: 1}, engine.OperatorFunc[int, int, string, int](func(*engine.Worker[int, int, string, int]) {}))
		}, `pipeline: stage "t": the pipeline input changes from int to string but Spec.Failure is nil`},
		{"engine.Attach no input", func() {
			engine.Attach(nil, engine.Spec[int, int, int, int]{Name: "t", Workers: 1}, engine.OperatorFunc[int, int, int, int](func(*engine.Worker[int, int, int, int]) {}))
		}, `pipeline: stage "t": no input`},
		{"engine.ChanSource nil channel", func() { engine.ChanSource[int](pipeline.New(), engine.SourceSpec{Name: "c"}, nil) },
			`pipeline: source "c": channel is nil`},
		{"engine.FuncSource nil function", func() { engine.FuncSource[int](pipeline.New(), engine.SourceSpec{Name: "g"}, nil) },
			`pipeline: source "g": function is nil`},
		{"nil pipeline", func() { stage.FromSlice(nil, xs) }, "pipeline: FromSlice: the pipeline is nil; create one with pipeline.New"},
		{"zero pipeline", func() {
			var p pipeline.Pipeline
			stage.Generate(&p, func(context.Context, func(int) bool) error { return nil })
		}, "pipeline: Generate: the pipeline is a zero value; create one with pipeline.New"},
		{"nil stream", func() { stage.Map[int, int, int](nil, ident) }, `pipeline: stage ident: the stream is nil or a zero value; streams come from stage constructors such as stage.FromSlice`},
		{"ItemErrors of the wrong input type", func() {
			p := pipeline.New(pipeline.WithContinueOnError())
			_, err := sink.Count(ctx, stage.Map(stage.FromSlice(p, xs), func(context.Context, int) (int, error) { return 0, errors.New("no") }))
			pipeline.ItemErrors[string](err)
		}, "pipeline: ItemErrors[string]: the error holds item errors for pipeline input type int; use ItemErrors[int]"},
		{"pipeline.Consume nil Each", func() {
			engine.Consume(ctx, stage.FromSlice(pipeline.New(), xs), engine.Consumer[int, int]{})
		}, "pipeline: Consume: Each and Batch are nil"},
		{"stream consumed twice", func() {
			p := pipeline.New()
			src := stage.FromSlice(p, xs, stage.WithName("src"))
			stage.Map(src, ident, stage.WithName("a"))
			stage.Map(src, ident, stage.WithName("b"))
		}, `pipeline: the output of stage "src" is already consumed by stage "a"; a stream has one consumer`},
		{"stream never consumed", func() {
			p := pipeline.New()
			src := stage.FromSlice(p, xs)
			stage.Map(src, ident, stage.WithName("dangling"))
			_, _ = sink.Count(ctx, stage.FromSlice(p, xs))
		}, `pipeline: the output of stage "dangling" is never consumed; connect it to a stage or a sink`},
		{"pipeline run twice", func() {
			p := pipeline.New()
			_, _ = sink.Count(ctx, stage.FromSlice(p, xs))
			_, _ = sink.Count(ctx, stage.FromSlice(p, xs))
		}, "pipeline: adding a source stage: the pipeline has already run; build a new one for each run"},
		{"stage added after the run", func() {
			p := pipeline.New()
			src := stage.FromSlice(p, xs)
			_, _ = sink.Count(ctx, stage.Map(src, ident))
			engine.Attach([]*pipeline.Stream[int, int]{src}, engine.Spec[int, int, int, int]{Name: "late", Workers: 1},
				engine.OperatorFunc[int, int, int, int](func(*engine.Worker[int, int, int, int]) {}))
		}, `pipeline: adding stage "late": the pipeline has already run; build a new one for each run`},
		{"Weigh after the run", func() {
			p := pipeline.New()
			src := stage.FromSlice(p, xs)
			_, _ = sink.Count(ctx, src)
			src.Weigh(pipeline.Bytes, func(int) int64 { return 1 })
		}, "pipeline: Weigh: the pipeline has already run; build a new one for each run"},
		{"run with a nil context", func() {
			//lint:ignore SA1012 the nil context is the misuse under test
			_, _ = sink.Count(nil, stage.FromSlice(pipeline.New(), xs)) //nolint:staticcheck
		}, "pipeline: run with a nil context"},

		// stage
		{"stage nil option", func() { stage.FromSlice(pipeline.New(), xs, nil) }, "stage: FromSlice: nil option"},
		{"stage.WithWorkers 0", func() { stage.WithWorkers(0) }, "stage: WithWorkers: 0 is less than 1"},
		{"stage.WithWorkers -3", func() { stage.WithWorkers(-3) }, "stage: WithWorkers: -3 is less than 1"},
		{"stage.WithWindow 0", func() { stage.WithWindow(0) }, "stage: WithWindow: 0 is less than 1"},
		{"Weigh nil", func() { stage.FromSlice(pipeline.New(), xs, stage.WithName("src")).Weigh(pipeline.Bytes, nil) }, `pipeline: Weigh: stage "src": function is nil`},
		{"Describe nil", func() { stage.FromSlice(pipeline.New(), xs, stage.WithName("src")).Describe(nil) }, `pipeline: Describe: stage "src": function is nil`},
		{"Describe after the stream is consumed", func() {
			src := stage.FromSlice(pipeline.New(), xs, stage.WithName("src"))
			stage.Map(src, ident, stage.WithName("m"))
			src.Describe(func(int, int) string { return "" })
		}, `pipeline: Describe: the output of stage "src" is already consumed by stage "m"; call it before passing the stream on`},
		{"WithWorkers on a source", func() { stage.FromSlice(pipeline.New(), xs, stage.WithWorkers(2)) },
			"stage: FromSlice does not take WithWorkers (it takes WithName, WithUnit)"},
		{"WithWindow on an unordered map", func() { stage.Map(stage.FromSlice(pipeline.New(), xs), ident, stage.WithWindow(2)) },
			"stage: Map does not take WithWindow (it takes WithName, WithWorkers, WithUnit, WithRetry, WithBackoff, WithTimeout, WithRate)"},
		{"WithWorkers on OnDone", func() {
			stage.OnDone(stage.FromSlice(pipeline.New(), xs), func(int, int, error) {}, stage.WithWorkers(8))
		}, "stage: OnDone does not take WithWorkers (it takes WithName)"},
		{"stage.FromChan nil", func() { stage.FromChan[int](pipeline.New(), nil) }, "stage: FromChan: channel is nil"},
		{"stage.FromSeq nil", func() { stage.FromSeq[int](pipeline.New(), nil) }, "stage: FromSeq: sequence is nil"},
		{"stage.FromSeq typed nil", func() { stage.FromSeq(pipeline.New(), iter.Seq[int](nil)) }, "stage: FromSeq: sequence is nil"},
		{"stage.Generate nil", func() { stage.Generate[int](pipeline.New(), nil) }, "stage: Generate: function is nil"},
		{"stage.Map nil", func() { stage.Map[int, int, int](stage.FromSlice(pipeline.New(), xs), nil) }, "stage: Map: function is nil"},
		{"stage.OrderedMap nil", func() { stage.OrderedMap[int, int, int](stage.FromSlice(pipeline.New(), xs), nil) },
			"stage: OrderedMap: function is nil"},
		{"stage.Filter nil", func() { stage.Filter(stage.FromSlice(pipeline.New(), xs), nil) }, "stage: Filter: function is nil"},
		{"stage.OrderedFilter nil", func() { stage.OrderedFilter(stage.FromSlice(pipeline.New(), xs), nil) },
			"stage: OrderedFilter: function is nil"},
		{"stage.OnDone nil", func() { stage.OnDone(stage.FromSlice(pipeline.New(), xs), nil) }, "stage: OnDone: function is nil"},
		{"stage.FlatMap nil", func() { stage.FlatMap[int, int, int](stage.FromSlice(pipeline.New(), xs), nil) }, "stage: FlatMap: function is nil"},
		{"WithWindow on FlatMap", func() {
			stage.FlatMap(stage.FromSlice(pipeline.New(), xs), func(context.Context, int) ([]int, error) { return nil, nil }, stage.WithWindow(2))
		}, "stage: FlatMap does not take WithWindow (it takes WithName, WithWorkers, WithUnit)"},
		{"stage.Batch size 0", func() { stage.Batch(stage.FromSlice(pipeline.New(), xs), 0, 0) }, "stage: Batch: size 0 is less than 1"},
		{"stage.Batch negative wait", func() { stage.Batch(stage.FromSlice(pipeline.New(), xs), 2, -time.Second) },
			"stage: Batch: maxWait -1s is negative"},
		{"WithWorkers on Batch", func() { stage.Batch(stage.FromSlice(pipeline.New(), xs), 2, 0, stage.WithWorkers(2)) },
			"stage: Batch does not take WithWorkers (it takes WithName)"},
		{"WithUnit on Unbatch", func() {
			stage.Unbatch(stage.Batch(stage.FromSlice(pipeline.New(), xs), 2, 0), stage.WithUnit(pipeline.Rows))
		}, "stage: Unbatch does not take WithUnit (it takes WithName, WithWorkers)"},
		{"stage.Merge nothing", func() { stage.Merge[int, int](nil) }, "stage: Merge: no stream to merge"},
		{"WithWorkers on Merge", func() {
			p := pipeline.New()
			stage.Merge([]*pipeline.Stream[int, int]{stage.FromSlice(p, xs), stage.FromSlice(p, xs)}, stage.WithWorkers(4))
		}, "stage: Merge does not take WithWorkers (it takes WithName)"},
		{"stage.Merge nil stream", func() {
			stage.Merge([]*pipeline.Stream[int, int]{stage.FromSlice(pipeline.New(), xs), nil})
		}, "pipeline: stage merge: the stream is nil or a zero value; streams come from stage constructors such as stage.FromSlice"},
		{"stage.Merge of two pipelines", func() {
			stage.Merge([]*pipeline.Stream[int, int]{stage.FromSlice(pipeline.New(), xs), stage.FromSlice(pipeline.New(), xs)})
		}, `pipeline: stage "merge": its inputs belong to different pipelines`},
		{"stage.Merge of a stream twice", func() {
			src := stage.FromSlice(pipeline.New(), xs, stage.WithName("src"))
			stage.Merge([]*pipeline.Stream[int, int]{src, src}, stage.WithName("both"))
		}, `pipeline: the output of stage "src" is already consumed by stage "both"; a stream has one consumer`},

		// sink
		{"sink nil option", func() { _, _ = sink.Count(ctx, stage.FromSlice(pipeline.New(), xs), nil) }, "sink: nil option"},
		{"sink.ByKey nil", func() {
			_, _ = sink.ByKey[int, int, int](ctx, stage.FromSlice(pipeline.New(), xs), nil)
		}, "sink: ByKey: key function is nil"},
		{"sink.ForEach nil", func() { _ = sink.ForEach(ctx, stage.FromSlice(pipeline.New(), xs), nil) }, "sink: ForEach: function is nil"},
		{"sink.Reduce nil", func() {
			_, _ = sink.Reduce[int, int, int](ctx, stage.FromSlice(pipeline.New(), xs), 0, nil)
		}, "sink: Reduce: function is nil"},
		{"sink.All ranged twice", func() {
			seq := sink.All(ctx, stage.FromSlice(pipeline.New(), xs))
			for range seq {
			}
			for range seq {
			}
		}, "sink: All: the iterator was ranged over twice; a pipeline runs once"},

		// progress
		{"progress nil option", func() { progress.New(nil) }, "progress: nil option"},
		{"progress.WithOutput nil", func() { progress.WithOutput(nil) }, "progress: WithOutput: writer is nil"},
		{"progress.WithRefresh 0", func() { progress.WithRefresh(0) }, "progress: WithRefresh: 0s is not positive"},
		{"progress.WithLineInterval -1s", func() { progress.WithLineInterval(-time.Second) }, "progress: WithLineInterval: -1s is not positive"},
		{"progress.WithWidth 39", func() { progress.WithWidth(39) }, "progress: WithWidth: 39 is less than 40"},
		{"progress.WithDescriptionWidth -1", func() { progress.WithDescriptionWidth(-1) }, "progress: WithDescriptionWidth: -1 is negative"},
		{"progress.WithTicks nil", func() { progress.WithTicks(nil) }, "progress: WithTicks: channel is nil"},
		{"progress.WithStages nil", func() { progress.WithStages(nil) }, "progress: WithStages: function is nil"},
		{"progress.WithTotal negative", func() { progress.WithTotal("s", -1) }, `progress: WithTotal: stage "s": -1 is negative`},
		{"progress.Reader nil", func() { progress.Reader(ctx, nil) }, "progress: Reader: reader is nil"},
		{"progress board observing two runs", func() {
			b := progress.New(progress.WithOutput(io.Discard))
			b.Start(nil)
			defer b.Stop(nil)
			b.Start(nil)
		}, "progress: Board.Start: the board is already observing a run; use one board per concurrent run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := catch(tt.fn)
			if got == "" {
				t.Fatalf("no panic, want %q", tt.want)
			}
			if got != tt.want {
				t.Errorf("panic %q\n                want %q", got, tt.want)
			}
			if pkg, _, _ := strings.Cut(tt.want, ":"); !strings.HasPrefix(got, pkg+": ") {
				t.Errorf("panic %q lacks the %q prefix", got, pkg)
			}
		})
	}
}

// catch runs fn and returns what it panicked with, formatted, or "".
func catch(fn func()) (msg string) {
	defer func() {
		if v := recover(); v != nil {
			msg = fmt.Sprint(v)
		}
	}()
	fn()
	return ""
}
