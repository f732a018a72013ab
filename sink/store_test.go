package sink

import (
	"maps"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/flowbar/flowbar/internal/knobs"
	"github.com/flowbar/flowbar/pipeline/engine"
)

// Storing with the lookups first (large) leaves the same map as storing in
// turn: every run of items, whatever its length, and repeated inputs, the
// last of which wins, within a run of lookAhead items and across runs.
func TestStoreByInputLargeIsPlain(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, lookAhead - 1, lookAhead, lookAhead + 1, 3*lookAhead + 5, 1000} {
		for _, keys := range []int{1, 3, n + 1} {
			items := make([]engine.Item[int, int], n)
			for i := range items {
				items[i] = engine.Item[int, int]{Input: r.IntN(keys), Value: i}
			}
			plain, large := map[int]int{-1: -1}, map[int]int{-1: -1}
			storeByInput(plain, items, false)
			storeByInput(large, items, true)
			if !maps.Equal(plain, large) {
				t.Fatalf("%d items, %d keys: large %v, plain %v", n, keys, large, plain)
			}
			for i := n - 1; i >= 0; i-- {
				if k := items[i].Input; plain[k] != i && lastIndex(items, k) == i {
					t.Fatalf("%d items, %d keys: m[%d] = %d, want the last value, %d", n, keys, k, plain[k], i)
				}
			}
		}
	}
}

func lastIndex(items []engine.Item[int, int], k int) int {
	last := -1
	for i, it := range items {
		if it.Input == k {
			last = i
		}
	}
	return last
}

// A map is large from largeBytes of keys and values on, and never with the
// lookahead heuristic switched off.
func TestLargeMap(t *testing.T) {
	t.Setenv(knobs.Env, "")
	if got, want := largeMap[int64, int64](), largeBytes/16; got != want {
		t.Errorf("largeMap[int64, int64]() = %d, want %d", got, want)
	}
	if got, want := largeMap[string, [32]byte](), largeBytes/48; got != want {
		t.Errorf("largeMap[string, [32]byte]() = %d, want %d", got, want)
	}
	type value struct {
		x   int
		pad [48]byte
	}
	if got, want := largeMap[int, value](), 65536; got != want { // as TestByInputLargeMap has it
		t.Errorf("largeMap[int, value]() = %d, want %d", got, want)
	}
	if got := largeMap[struct{}, struct{}](); got != largeBytes {
		t.Errorf("largeMap[struct{}, struct{}]() = %d, want %d", got, largeBytes)
	}
	t.Setenv(knobs.Env, "lookahead")
	if got := largeMap[int64, int64](); got != math.MaxInt {
		t.Errorf("lookahead off: largeMap[int64, int64]() = %d, want none", got)
	}
}
