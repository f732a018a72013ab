package workloads_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/flowbar/flowbar/benchmarks/workloads"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestFamilies runs every implementation of every family once and checks
// its result, so that a wrong implementation cannot post a fast number.
func TestFamilies(t *testing.T) {
	for _, f := range workloads.Families(workloads.WithProgress) {
		t.Run(f.Name, func(t *testing.T) {
			run := f.New()
			for _, impl := range f.Impls {
				t.Run("impl="+impl, func(t *testing.T) {
					if err := run(impl)(); err != nil {
						t.Fatal(err)
					}
				})
			}
		})
	}
}

func TestUnknownImplPanics(t *testing.T) {
	for _, f := range []func(){
		func() { workloads.MapInto("nope", []int{1}, 1, func(x int) int { return x }) },
		func() { workloads.ChainRun("nope", []int{1}, 1) },
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

// TestSmallInputs checks every peer on inputs around the batch size and
// with one worker, where off-by-one errors in batching would show.
func TestSmallInputs(t *testing.T) {
	for _, n := range []int{0, 1, 255, 256, 257, 1000} {
		xs := workloads.Ints(n)
		for _, impl := range append(workloads.Peers(), workloads.Loop) {
			for _, workers := range []int{1, 3} {
				m := workloads.MapInto(impl, xs, workers, func(x int) int { return x * 2 })
				if len(m) != n {
					t.Fatalf("%s n=%d workers=%d: %d results", impl, n, workers, len(m))
				}
				for _, x := range xs {
					if m[x] != 2*x {
						t.Fatalf("%s n=%d: m[%d]=%d", impl, n, x, m[x])
					}
				}
				c := workloads.ChainRun(impl, xs, workers)
				want := 0
				for _, x := range xs {
					if (x+1)%2 == 0 {
						want++
						if c[x] != 3*(x+1) {
							t.Fatalf("%s chain n=%d: c[%d]=%d", impl, n, x, c[x])
						}
					}
				}
				if len(c) != want {
					t.Fatalf("%s chain n=%d: %d results, want %d", impl, n, len(c), want)
				}
			}
		}
	}
}
