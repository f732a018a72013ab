package flowbar_test

// The Go code blocks of README.md that are not whole programs, each
// between "README:begin" and "README:end", indented by one tab in its
// function. TestReadmeCode checks that README.md holds each of them as it
// is here; the compiler checks that they compile.

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
	"github.com/flowbar/flowbar/progress"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

type Row struct{ Line string }

type Record struct{ ok bool }

func (r Record) Valid() bool { return r.ok }

func chain(ctx context.Context, readRows func(context.Context, func(Row) bool) error, parse func(context.Context, Row) (Record, error)) {
	// README:begin
	p := pipeline.New(pipeline.WithContinueOnError(), progress.Bars())
	rows := stage.Generate(p, readRows, stage.WithName("read"))                     // Stream[Row, Row]
	parsed := stage.Map(rows, parse, stage.WithWorkers(4), stage.WithName("parse")) // Stream[Row, Record]
	valid := stage.Filter(parsed, Record.Valid)                                     // Stream[Row, Record]
	n, err := sink.Count(ctx, valid)
	for _, f := range pipeline.ItemErrors[Row](err) {
		log.Printf("row %v failed in %s: %v", f.Input, f.Stage, f.Err)
	}
	// README:end
	_ = n
}

func printing(ctx context.Context, paths []string, hashFile func(context.Context, string) (string, error)) {
	// README:begin
	board := progress.New()
	out := board.Stdout() // results land above the bars
	p := pipeline.New(pipeline.WithObserver(board))
	sums := stage.Map(stage.FromSlice(p, paths), hashFile, stage.WithWorkers(8))
	for r, err := range sink.All(ctx, sums) {
		if err != nil {
			fmt.Fprintln(board.Writer(), err) // and so do messages
			continue
		}
		fmt.Fprintf(out, "%s  %s\n", r.Value, r.Input)
	}
	// README:end
}

func ctrlC(squares *pipeline.Stream[int, int], inputs []int) {
	// README:begin
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	context.AfterFunc(ctx, stop) // a second Ctrl-C kills at once
	results, err := sink.ByInput(ctx, squares)
	if ctx.Err() != nil {
		fmt.Fprintf(os.Stderr, "interrupted: %d of %d done\n", len(results), len(inputs))
		os.Exit(130)
	}
	// README:end
	_ = err
}

func summaries() {
	// README:begin
	board := progress.New()
	p := pipeline.New(pipeline.WithObserver(board))
	// ... build and run ...
	for _, s := range board.Summary() {
		if s.Status != progress.Done {
			log.Printf("%s %s after %v: %d of %d items", s.Name, s.Status, s.Elapsed, s.Counts.Done(), s.Counts.In)
		}
	}
	// README:end
	_ = p
}

// The functions above are compiled, not run.
var _ = []any{chain, printing, ctrlC, summaries, shapes, severalSinks, resilient, files}

type User struct{ ID int }

func shapes(ctx context.Context, p *pipeline.Pipeline, ids []int, insertMany func(context.Context, []User) ([]int64, error)) {
	// README:begin
	a := stage.FromSlice(p, ids[:len(ids)/2])
	b := stage.FromSlice(p, ids[len(ids)/2:])
	all := stage.Merge([]*pipeline.Stream[int, int]{a, b}) // fan-in, as items arrive
	users := stage.FlatMap(all, func(ctx context.Context, id int) ([]User, error) {
		return []User{{ID: id}}, nil // zero or more outputs, each keeps its input
	})
	rows := stage.MapBatch(users, 100, 50*time.Millisecond, insertMany) // one call per 100 users (or 50ms)
	byID, err := sink.ByInput(ctx, rows)                                // still keyed by input: map[int]int64
	// README:end
	_, _ = byID, err
}

func severalSinks(ctx context.Context, p *pipeline.Pipeline, files *pipeline.Stream[stage.File, stage.File], hash func(context.Context, stage.File) (string, error)) {
	// README:begin
	b := stage.Tee(files, 2) // every file to both branches
	sums := sink.Later(stage.Map(b[0], hash), sink.ByInput)
	bytes := sink.LaterFunc(b[1], func(ctx context.Context, s *pipeline.Stream[stage.File, stage.File]) (int64, error) {
		return sink.Reduce(ctx, s, 0, func(n int64, f stage.File) int64 { return n + f.Size })
	})
	err := sink.Run(ctx, p) // one run, both sinks; returns when every goroutine has exited
	fmt.Println(len(sums.Value()), bytes.Value(), err)
	// README:end
}

func resilient(ctx context.Context, p *pipeline.Pipeline, urls []string, fetch func(context.Context, string) ([]byte, error)) {
	// README:begin
	bodies := stage.Map(stage.FromSlice(p, urls), fetch,
		stage.WithWorkers(16),
		stage.WithRate(50, 10),                                 // 50 calls a second, bursts of 10, all workers together
		stage.WithTimeout(2*time.Second),                       // each attempt's context has a deadline
		stage.WithRetry(4, nil),                                // up to 4 attempts; the bar shows "N retried"
		stage.WithBackoff(100*time.Millisecond, 5*time.Second)) // exponential, with jitter
	got, err := sink.ByInput(ctx, bodies)
	// README:end
	_, _ = got, err
}

func files(ctx context.Context, p *pipeline.Pipeline, hash func(context.Context, stage.File) (string, error)) {
	// README:begin
	files := stage.Walk(p, "data", stage.WithCountFirst()) // files weighed by size; exact totals before hashing starts
	sums := stage.Map(files, hash, stage.WithWorkers(4))   // e.g. sha256 of each file
	bySum, err := sink.GroupBy(ctx, sums, func(f stage.File, sum string) string { return sum })
	// README:end
	_, _ = bySum, err
}

// README:begin
// upper is a stage of one's own: an operator, run by each worker.
type upper[S any] struct{}

func (upper[S]) Work(w *engine.Worker[S, string, S, string]) {
	for it, ok := w.Next(); ok; it, ok = w.Next() {
		out := engine.Item[S, string]{Input: it.Input, Value: strings.ToUpper(it.Value)}
		w.Emit(out, w.Units(it)) // one output that completes the item
	}
}

// Upper attaches it: any stream in, its output out, bars and sinks as usual.
func Upper[S any](in *pipeline.Stream[S, string]) *pipeline.Stream[S, string] {
	return engine.Attach([]*pipeline.Stream[S, string]{in},
		engine.Spec[S, string, S, string]{Name: "upper", Kind: engine.KindMap, Workers: 4}, upper[S]{})
}

// README:end
