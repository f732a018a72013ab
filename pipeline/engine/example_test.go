package engine_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// words is an operator that splits each line into its words: one item in,
// zero or more out, each output keeping the line it came from.
type words[S any] struct{}

func (words[S]) Work(w *engine.Worker[S, string, S, string]) {
	for it, ok := w.Next(); ok; it, ok = w.Next() {
		fs := strings.Fields(it.Value)
		if len(fs) == 0 {
			w.Drop(w.Units(it)) // an empty line ends here
			continue
		}
		for i, f := range fs {
			done := int64(0)
			if i == 0 {
				done = w.Units(it) // the line is handed on with its first word
			}
			w.Emit(engine.Item[S, string]{Input: it.Input, Value: f}, done)
		}
	}
}

// A stage of one's own: an operator attached with Attach, between stages
// of package stage and a sink of package sink.
func ExampleAttach() {
	p := pipeline.New()
	lines := stage.FromSlice(p, []string{"to be", "", "or not to be"})
	split := engine.Attach([]*pipeline.Stream[string, string]{lines},
		engine.Spec[string, string, string, string]{Name: "words", Kind: engine.KindFlatMap, Shape: engine.Many, Workers: 1},
		words[string]{})
	n, err := sink.Count(context.Background(), split)
	fmt.Println(n, err)
	c := p.Stages()[1].Counts()
	fmt.Printf("in %d, out %d, dropped %d, emitted %d\n", c.In, c.Out, c.Dropped, c.Emitted)
	// Output:
	// 6 <nil>
	// in 3, out 2, dropped 1, emitted 6
}

// OperatorFunc turns a function into an operator.
func ExampleOperatorFunc() {
	p := pipeline.New()
	nums := stage.FromSlice(p, []int{1, 2, 3})
	neg := engine.Attach([]*pipeline.Stream[int, int]{nums},
		engine.Spec[int, int, int, int]{Name: "negate", Kind: engine.KindMap, Workers: 2},
		engine.OperatorFunc[int, int, int, int](func(w *engine.Worker[int, int, int, int]) {
			for it, ok := w.Next(); ok; it, ok = w.Next() {
				w.Emit(engine.Item[int, int]{Input: it.Input, Value: -it.Value}, w.Units(it))
			}
		}))
	m, _ := sink.ByInput(context.Background(), neg)
	fmt.Println(m)
	// Output:
	// map[1:-1 2:-2 3:-3]
}
