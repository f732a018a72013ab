package meterstest_test

import (
	"context"
	"fmt"
	"testing"

	"go.uber.org/goleak"

	"github.com/flowbar/flowbar/internal/meterstest"
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder is a testing.TB that keeps what Check reports.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, a ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, a...))
}

func TestCheck(t *testing.T) {
	p := pipeline.New()
	s := stage.FlatMap(stage.FromSlice(p, []int{1, 2, 3}), func(_ context.Context, x int) ([]int, error) { return []int{x, x}, nil })
	if _, err := sink.Count(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	meterstest.Check(t, p) // a run's meters add up

	// A pipeline that has not run: its stages are not finished.
	q := pipeline.New()
	stage.Map(stage.FromSlice(q, []int{1}), func(_ context.Context, x int) (int, error) { return x, nil })
	r := &recorder{TB: t}
	meterstest.Check(r, q)
	if len(r.errs) == 0 {
		t.Error("Check found nothing wrong with a pipeline that has not run")
	}
}
