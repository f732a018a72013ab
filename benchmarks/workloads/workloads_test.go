package workloads_test

import (
	"crypto/sha256"
	"slices"
	"strconv"
	"testing"
	"time"

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
		func() { workloads.LongChainRun("nope", []int{1}, 1) },
		func() { workloads.SkewRun("nope", workloads.SkewCase{Fast: 1, Slow: 1, Workers: 1}) },
		func() { workloads.HashTreeRun("nope", 1, 1, func(int) [32]byte { return [32]byte{} }) },
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
		for _, impl := range append(workloads.Peers(), workloads.References()...) {
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
				if slices.Contains(workloads.LongChain().Impls, impl) {
					l := workloads.LongChainRun(impl, xs, workers)
					if len(l) != n {
						t.Fatalf("%s long chain n=%d workers=%d: %d results", impl, n, workers, len(l))
					}
					for _, x := range xs {
						if l[x] != x+workloads.LongChainSteps {
							t.Fatalf("%s long chain n=%d: l[%d]=%d", impl, n, x, l[x])
						}
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

// TestSkewSmall runs every implementation of the Skew family on small
// cases, with one worker and with more workers than slow items.
func TestSkewSmall(t *testing.T) {
	impls := workloads.SkewFamily(workloads.SkewCase{}).Impls
	for _, c := range []workloads.SkewCase{
		{Fast: 0, Slow: 0, Cost: time.Millisecond, Workers: 1},
		{Fast: 0, Slow: 3, Cost: time.Millisecond, Workers: 2},
		{Fast: 300, Slow: 0, Cost: time.Millisecond, Workers: 3},
		{Fast: 257, Slow: 5, Cost: time.Millisecond, Workers: 1},
		{Fast: 1000, Slow: 4, Cost: time.Millisecond, Workers: 8},
	} {
		for _, impl := range impls {
			t.Run(c.Name()+"/"+strconv.Itoa(c.Items())+"/impl="+impl, func(t *testing.T) {
				m := workloads.SkewRun(impl, c)
				if len(m) != c.Items() {
					t.Fatalf("%d results, want %d", len(m), c.Items())
				}
				for x := range c.Items() {
					if v, ok := m[x]; !ok || v != x {
						t.Fatalf("m[%d] = %d (present %t)", x, v, ok)
					}
				}
			})
		}
	}
}

// TestSkewIdeal checks that the Skew family's ideal is the slow items
// times a sleep that is at least the nominal cost, over the workers.
func TestSkewIdeal(t *testing.T) {
	c := workloads.SkewCase{Fast: 10, Slow: 40, Cost: time.Millisecond, Workers: 4}
	ideal := workloads.SkewFamily(c).Calibrate()
	if lo := 10 * time.Millisecond; ideal < lo || ideal > 3*lo {
		t.Fatalf("ideal %v, want about %v", ideal, lo)
	}
	if d := workloads.MeanSleep(time.Millisecond, 2); d < time.Millisecond {
		t.Fatalf("mean sleep %v below the sleep asked for", d)
	}
}

// TestHashTreeSmall hashes a few small and large items with every
// implementation of the HashTree family and one or several workers.
func TestHashTreeSmall(t *testing.T) {
	files := [][]byte{[]byte("a"), []byte("b"), make([]byte, 1<<20), make([]byte, 2<<20)}
	hash := func(i int) [32]byte { return sha256.Sum256(files[i]) }
	for _, impl := range workloads.HashTree().Impls {
		for _, workers := range []int{1, 4} {
			m := workloads.HashTreeRun(impl, len(files), workers, hash)
			if len(m) != len(files) {
				t.Fatalf("%s workers=%d: %d results", impl, workers, len(m))
			}
			for i := range files {
				if m[i] != hash(i) {
					t.Fatalf("%s workers=%d: wrong sum for %d", impl, workers, i)
				}
			}
		}
	}
}
