package workloads_test

import (
	"testing"
	"time"

	"github.com/flowbar/flowbar/benchmarks/workloads"
)

// TestTransformsSmallInputs checks every implementation of the transform
// families on inputs around the batch size and with one worker.
func TestTransformsSmallInputs(t *testing.T) {
	for _, n := range []int{0, 1, 99, 100, 101, 1000} {
		xs := workloads.Ints(n)
		var sum int
		for _, x := range xs {
			sum += x
		}
		for _, impl := range workloads.FlatMap().Impls {
			for _, workers := range []int{1, 3} {
				got := workloads.FlatMapRun(impl, xs, workers)
				fan := workloads.FlatMapFan
				want := workloads.SumCount{N: n * fan, Sum: fan*fan*sum + n*fan*(fan-1)/2, Inputs: fan * sum}
				if got != want {
					t.Fatalf("FlatMap %s n=%d workers=%d: %+v, want %+v", impl, n, workers, got, want)
				}
			}
		}
		for _, impl := range workloads.Batch().Impls {
			if got, want := workloads.BatchRun(impl, xs, 7, time.Millisecond), (workloads.SumCount{N: n, Sum: sum, Inputs: sum}); got != want {
				t.Fatalf("Batch %s n=%d: %+v, want %+v", impl, n, got, want)
			}
		}
		for _, impl := range workloads.Merge().Impls {
			for _, parts := range []int{1, 3} {
				m := workloads.MergeRun(impl, xs, parts)
				if len(m) != n {
					t.Fatalf("Merge %s n=%d parts=%d: %d results", impl, n, parts, len(m))
				}
				for _, x := range xs {
					if v, ok := m[x]; !ok || v != x {
						t.Fatalf("Merge %s n=%d: m[%d]=%d, %v", impl, n, x, v, ok)
					}
				}
			}
		}
		for _, impl := range workloads.MapBatch().Impls {
			for _, workers := range []int{1, 3} {
				m := workloads.MapBatchRun(impl, xs, workers, 7, time.Millisecond)
				if len(m) != n {
					t.Fatalf("MapBatch %s n=%d workers=%d: %d results", impl, n, workers, len(m))
				}
				for _, x := range xs {
					if m[x] != x*x {
						t.Fatalf("MapBatch %s n=%d: m[%d]=%d", impl, n, x, m[x])
					}
				}
			}
		}
	}
}

func TestTransformsUnknownImplPanics(t *testing.T) {
	for _, f := range []func(){
		func() { workloads.FlatMapRun("nope", []int{1}, 1) },
		func() { workloads.BatchRun("nope", []int{1}, 1, 0) },
		func() { workloads.MergeRun("nope", []int{1}, 1) },
		func() { workloads.MapBatchRun("nope", []int{1}, 1, 1, 0) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic for an unknown implementation")
				}
			}()
			f()
		}()
	}
}
