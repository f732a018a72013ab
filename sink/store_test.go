package sink

import (
	"context"
	"errors"
	"maps"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/flowbar/flowbar/internal/knobs"
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
	"github.com/flowbar/flowbar/stage"
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

// A map is large from largeEntries entries on when its keys hold no
// pointer, and never when they do or with the lookahead heuristic switched
// off.
func TestLargeMap(t *testing.T) {
	type point struct {
		X, Y int32
		Tag  [4]byte
	}
	type named struct {
		ID   int
		Name string
	}
	t.Setenv(knobs.Env, "")
	for _, tc := range []struct {
		what string
		got  int
		want int
	}{
		{"map[int64]int64", largeMap[int64, int64](), largeEntries},
		{"map[int][32]byte", largeMap[int, [32]byte](), largeEntries},
		{"map[uint8]string", largeMap[uint8, string](), largeEntries},
		{"map[point]int", largeMap[point, int](), largeEntries},
		{"map[[2]float64]int", largeMap[[2]float64, int](), largeEntries},
		{"map[string]int", largeMap[string, int](), math.MaxInt},
		{"map[named]int", largeMap[named, int](), math.MaxInt},
		{"map[*int]int", largeMap[*int, int](), math.MaxInt},
		{"map[any]int", largeMap[any, int](), math.MaxInt},
		{"map[[2]string]int", largeMap[[2]string, int](), math.MaxInt},
		{"map[chan int]int", largeMap[chan int, int](), math.MaxInt},
	} {
		if tc.got != tc.want {
			t.Errorf("largeMap for %s = %d, want %d", tc.what, tc.got, tc.want)
		}
	}
	t.Setenv(knobs.Env, "lookahead")
	if got := largeMap[int64, int64](); got != math.MaxInt {
		t.Errorf("lookahead off: largeMap[int64, int64]() = %d, want none", got)
	}
}

// ByInput keeps every result in a map large enough to be stored with
// lookups first, whether its size is known (a slice source), bounded (a
// filter after one) or unknown (a generator). (With the heuristic switched
// off, the map is stored as every smaller one is.)
func TestByInputLargeMap(t *testing.T) {
	defer func(n int) { largeEntries = n }(largeEntries)
	largeEntries = 1000
	defer func() { testHookLarge = nil }()
	const n = 5000
	for _, feed := range []string{"slice", "filter", "generate"} {
		large := false
		testHookLarge = func() { large = true }
		p := pipeline.New()
		var in *pipeline.Stream[int, int]
		switch feed {
		case "slice":
			in = stage.FromSlice(p, ints(n))
		case "filter":
			in = stage.Filter(stage.FromSlice(p, ints(2*n)), func(x int) bool { return x%2 == 0 })
		case "generate":
			in = stage.Generate(p, func(_ context.Context, emit func(int) bool) error {
				for x := range n {
					if !emit(x) {
						break
					}
				}
				return nil
			})
		}
		m, err := ByInput(context.Background(), stage.Map(in, func(_ context.Context, x int) (int, error) { return 3 * x, nil }))
		if err != nil {
			t.Fatal(err)
		}
		if !large {
			t.Fatalf("%s: the map of %d entries was not stored as a large one", feed, n)
		}
		if len(m) != n {
			t.Fatalf("%s: %d results, want %d", feed, len(m), n)
		}
		for x, v := range m {
			if v != 3*x || feed == "filter" && x%2 != 0 {
				t.Fatalf("%s: m[%d] = %d", feed, x, v)
			}
		}
	}
}

func ints(n int) []int {
	xs := make([]int, n)
	for i := range xs {
		xs[i] = i
	}
	return xs
}

// ByKey into a large map stores through runs of keys looked up first and
// keeps what it kept before: every result, the last of those under one key
// (the results arrive in input order here: one ordered map stage), a
// failing key function's panic on its own result, and under fail-fast
// every result the sink counted as stored, the run held at the failure
// included.
func TestByKeyLargeMap(t *testing.T) {
	defer func(n int) { largeEntries = n }(largeEntries)
	largeEntries = 1000
	defer func() { testHookLarge = nil }()
	const n = 5003 // not a multiple of lookAhead: the last run is not full
	double := func(_ context.Context, x int) (int, error) { return 2 * x, nil }
	generate := func(p *pipeline.Pipeline) *pipeline.Stream[int, int] {
		return stage.Generate(p, func(_ context.Context, emit func(int) bool) error {
			for x := range n {
				if !emit(x) {
					break
				}
			}
			return nil
		})
	}
	for _, feed := range []string{"slice", "generate"} {
		// keys: every input its own key; 3,000 keys, each repeated 3,000
		// inputs later; and 2,502 keys, each of two inputs in a row, the
		// second of which must win within a run.
		for _, keys := range []int{n, 3000, (n + 1) / 2} {
			keyOf, lastOf := func(x int) int { return x % keys }, func(k int) int { return k + (n-1-k)/keys*keys }
			if keys == (n+1)/2 {
				keyOf, lastOf = func(x int) int { return x / 2 }, func(k int) int { return min(2*k+1, n-1) }
			}
			large := false
			testHookLarge = func() { large = true }
			p := pipeline.New()
			var in *pipeline.Stream[int, int]
			if feed == "generate" {
				in = generate(p)
			} else {
				in = stage.FromSlice(p, ints(n))
			}
			m, err := ByKey(context.Background(), stage.OrderedMap(in, double), func(x, _ int) int { return keyOf(x) })
			if err != nil {
				t.Fatal(err)
			}
			if !large {
				t.Fatalf("%s, %d keys: not stored as a large map", feed, keys)
			}
			if len(m) != keys {
				t.Fatalf("%s, %d keys: %d entries", feed, keys, len(m))
			}
			for k, v := range m {
				if last := lastOf(k); v != 2*last {
					t.Fatalf("%s, %d keys: m[%d] = %d, want %d", feed, keys, k, v, 2*last)
				}
			}
		}
	}

	t.Run("panic", func(t *testing.T) {
		p := pipeline.New(pipeline.WithContinueOnError())
		m, err := ByKey(context.Background(), stage.Map(stage.FromSlice(p, ints(n)), double), func(x, _ int) int {
			if x == 4321 {
				panic("bad key")
			}
			return x
		})
		ies := pipeline.ItemErrors[int](err)
		var pe *pipeline.PanicError
		if len(ies) != 1 || ies[0].Input != 4321 || !errors.As(ies[0], &pe) {
			t.Fatalf("errors %v, want the panic of input 4321", err)
		}
		if len(m) != n-1 {
			t.Fatalf("%d entries, want %d", len(m), n-1)
		}
		if _, ok := m[4321]; ok {
			t.Fatal("the failed result is in the map")
		}
	})

	t.Run("fail-fast", func(t *testing.T) {
		p := pipeline.New()
		fail := func(_ context.Context, x int) (int, error) {
			if x == 4000 {
				return 0, errors.New("bad item")
			}
			return 2 * x, nil
		}
		m, err := ByKey(context.Background(), stage.OrderedMap(generate(p), fail), func(x, _ int) int { return x })
		if ies := pipeline.ItemErrors[int](err); len(ies) != 1 || ies[0].Input != 4000 {
			t.Fatalf("errors %v, want the failure of input 4000", err)
		}
		stages := p.Stages()
		if stored := stages[len(stages)-1].Counts().Out; int64(len(m)) != stored {
			t.Fatalf("%d entries, the sink stored %d", len(m), stored)
		}
		for x, v := range m {
			if v != 2*x || x >= 4000 {
				t.Fatalf("m[%d] = %d", x, v)
			}
		}
	})
}
