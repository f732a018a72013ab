package meterstest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/flowbar/flowbar/internal/meterstest"
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// printer is a testing.TB that prints what Check reports, for the
// example; a test passes its own *testing.T.
type printer struct{ testing.TB }

func (printer) Helper() {}
func (printer) Errorf(format string, a ...any) {
	fmt.Printf(format+"\n", a...)
}

// Check, called after a run, reports nothing when every stage's meters add
// up, and each stage that does not, here a pipeline that never ran.
func ExampleCheck() {
	p := pipeline.New()
	odd := stage.Filter(stage.FromSlice(p, []int{1, 2, 3, 4, 5}), func(x int) bool { return x%2 == 1 })
	n, _ := sink.Count(context.Background(), odd)
	fmt.Println(n, "results")
	meterstest.Check(printer{}, p)

	q := pipeline.New()
	stage.FromSlice(q, []int{1})
	meterstest.Check(printer{}, q)
	// Output:
	// 3 results
	// stage source0: not finished after the run
}
