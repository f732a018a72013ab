package engine_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/flowbar/flowbar/internal/meterstest"
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// AttachKeyed hands each item to the worker its route names, in order; a
// route out of range or one that panics fails the item with its input.
func TestAttachKeyedRoutesEachItemOnce(t *testing.T) {
	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprintf("workers=%d", n), func(t *testing.T) {
			p := pipeline.New(pipeline.WithContinueOnError())
			seen := make([][]int, n) // by worker: each written by its worker only
			var op engine.OperatorFunc[int, int, int, int] = func(w *engine.Worker[int, int, int, int]) {
				for it, ok := w.Next(); ok; it, ok = w.Next() {
					seen[it.Value%n] = append(seen[it.Value%n], it.Value)
					w.Emit(*it, w.Units(it))
				}
			}
			out := engine.AttachKeyed(stage.FromSlice(p, ints(300)), func(_ int, v int) int {
				switch v {
				case 100:
					return n + 4
				case 200:
					panic("two hundred")
				}
				return v % n
			}, engine.Spec[int, int, int, int]{Name: "route", Kind: engine.KindMap, Workers: n}, op)
			got, err := sink.ByInput(context.Background(), out)
			ies := pipeline.ItemErrors[int](err)
			if len(ies) != 2 || ies[0].Stage != "route/keys" {
				t.Fatalf("errors %v, want items 100 and 200 failed in stage route/keys", err)
			}
			msgs := ies[0].Error() + ies[1].Error()
			if !strings.Contains(msgs, fmt.Sprintf("route returned %d for %d outputs", n+4, n)) || !strings.Contains(msgs, "two hundred") {
				t.Errorf("errors %v", err)
			}
			if len(got) != 298 {
				t.Errorf("%d items handed on, want 298", len(got))
			}
			for k, vs := range seen {
				if !slices.IsSorted(vs) {
					t.Errorf("worker %d took its items out of order: %v", k, vs)
				}
			}
			meterstest.Check(t, p)
		})
	}
}

func TestFanoutMisuse(t *testing.T) {
	p := pipeline.New()
	src := stage.FromSlice(p, ints(3))
	for _, c := range []struct {
		want string
		f    func()
	}{
		{"pipeline: Tee: 0 outputs", func() { engine.Tee(src, "", 0) }},
		{"pipeline: AttachKeyed: route function is nil", func() {
			engine.AttachKeyed(src, nil, engine.Spec[int, int, int, int]{Workers: 2}, engine.OperatorFunc[int, int, int, int](func(*engine.Worker[int, int, int, int]) {}))
		}},
		{"pipeline: Later: function is nil", func() { engine.Later(p, nil) }},
		{"pipeline: Run: nil context", func() {
			var ctx context.Context // nil: the misuse under test
			_ = engine.Run(ctx, p)
		}},
	} {
		func() {
			defer func() {
				if v := recover(); !strings.Contains(fmt.Sprint(v), c.want) {
					t.Errorf("panic %v, want %q", v, c.want)
				}
			}()
			c.f()
		}()
	}
}

// A branch of a tee run by a sink of its own, the other branch never
// consumed: the message names the branch left over.
func TestTeeBranchLeftOverIsNamed(t *testing.T) {
	p := pipeline.New()
	bs := engine.Tee(stage.FromSlice(p, ints(3)), "", 2)
	want := `pipeline: the output of stage "tee/2" is never consumed; each branch of a tee runs to a sink of its own`
	defer func() {
		if v := recover(); !strings.Contains(fmt.Sprint(v), want) {
			t.Errorf("panic %v, want %q", v, want)
		}
	}()
	_, _ = sink.Count(context.Background(), bs[0])
}
