package workloads

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowbar/flowbar/pipeline"
)

// The sizes of the workloads.
const (
	TinyItems    = 1_000_000
	ChainItems   = 1_000_000
	IOItems      = 2_000
	IOWorkers    = 64
	IOLatency    = time.Millisecond
	CPUBlocks    = 2_048
	CPUBlockSize = 64 << 10
)

// Family is one benchmark workload with the implementations it is run with.
type Family struct {
	// Name is the family's name, as in Benchmark<Name>.
	Name string
	// Impls lists the implementations, Reference first.
	Impls []string
	// Reference is the implementation the others are compared to.
	Reference string
	// Items is the number of items of one run.
	Items int
	// Bytes is the number of bytes one run processes, or 0.
	Bytes int64
	// Ideal is the wall time of one run with no overhead at all
	// (items × latency ÷ workers), or 0 when the work is not a wait or
	// when Calibrate measures it.
	Ideal time.Duration
	// Calibrate, when not nil, measures the ideal wall time of one run
	// now (from the measured cost of the work, divided by the workers
	// that can run at once), so that a run is compared with an ideal
	// measured under the same conditions. It blocks for a few tens of
	// milliseconds.
	Calibrate func() time.Duration
	// New builds the family's input, which can take a while and some
	// memory, and returns the function that makes one run with an
	// implementation. That function returns a check of the run's result,
	// to call outside any timing; it panics on an unknown implementation.
	New func() func(impl string) (check func() error)
}

// Families returns the benchmark families in their usual order. progress
// returns the pipeline option that turns progress on for the Progress
// family's "on" runs; it is called once per run.
func Families(progress func() pipeline.Option) []Family {
	fs := []Family{Tiny(), Chain(), LongChain(), IO(), CPU()}
	fs = append(fs, Skew()...)
	fs = append(fs, TransformFamilies()...)
	return append(fs, HashTree(), Progress(progress))
}

// Ints returns 0, 1, ..., n-1.
func Ints(n int) []int {
	xs := make([]int, n)
	for i := range xs {
		xs[i] = i
	}
	return xs
}

func square(x int) int { return x * x }

// checkMap compares m with the wanted result of every key in keys.
func checkMap[V comparable](m map[int]V, keys []int, want func(int) V) error {
	if len(m) != len(keys) {
		return fmt.Errorf("got %d results, want %d", len(m), len(keys))
	}
	for _, k := range keys {
		if got, ok := m[k]; !ok || got != want(k) {
			return fmt.Errorf("result for %d: got %v (present %t), want %v", k, got, ok, want(k))
		}
	}
	return nil
}

// Tiny is f(x) = x*x over a million integers with GOMAXPROCS workers,
// collected into a map: what it costs to move an item.
func Tiny() Family {
	return Family{
		Name: "Tiny", Impls: append(Peers(), References()...), Reference: Chan, Items: TinyItems,
		New: func() func(string) func() error {
			xs := Ints(TinyItems)
			return func(impl string) func() error {
				m := MapInto(impl, xs, runtime.GOMAXPROCS(0), square)
				return func() error { return checkMap(m, xs, square) }
			}
		},
	}
}

// sleepy waits IOLatency and returns x: an item whose cost is a wait.
func sleepy(x int) int {
	time.Sleep(IOLatency)
	return x
}

// IO is 2,000 waits of 1 ms with 64 workers, collected into a map, and the
// same waits bare (Floor): how close to items × latency ÷ workers a run
// gets.
func IO() Family {
	return Family{
		Name: "IO", Impls: append(Peers(), Floor), Reference: Chan, Items: IOItems,
		Ideal: IOItems * IOLatency / IOWorkers,
		New: func() func(string) func() error {
			xs := Ints(IOItems)
			return func(impl string) func() error {
				if impl == Floor {
					sleepFloor(IOItems, IOWorkers)
					return func() error { return nil }
				}
				m := MapInto(impl, xs, IOWorkers, sleepy)
				return func() error { return checkMap(m, xs, func(x int) int { return x }) }
			}
		},
	}
}

// sleepFloor sleeps n times IOLatency with workers goroutines and nothing
// else: no items, no results.
func sleepFloor(n, workers int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				time.Sleep(IOLatency)
			}
		})
	}
	wg.Wait()
}

// CPU is sha256 of 2,048 blocks of 64 KiB with GOMAXPROCS workers, keyed by
// block index: whether the work scales over the cores.
func CPU() Family {
	return Family{
		Name: "CPU", Impls: Peers(), Reference: Chan, Items: CPUBlocks, Bytes: CPUBlocks * CPUBlockSize,
		New: func() func(string) func() error {
			data := make([]byte, CPUBlocks*CPUBlockSize)
			rand.NewChaCha8([32]byte{1}).Read(data)
			block := func(i int) []byte { return data[i*CPUBlockSize : (i+1)*CPUBlockSize] }
			hash := func(i int) [32]byte { return sha256.Sum256(block(i)) }
			idx := Ints(CPUBlocks)
			want := sync.OnceValue(func() []([32]byte) {
				sums := make([][32]byte, CPUBlocks)
				for i := range sums {
					sums[i] = hash(i)
				}
				return sums
			})
			return func(impl string) func() error {
				m := MapInto(impl, idx, runtime.GOMAXPROCS(0), hash)
				return func() error { return checkMap(m, idx, func(i int) [32]byte { return want()[i] }) }
			}
		},
	}
}

// Chain is map(x+1), filter(even), map(x*3) over a million integers with
// GOMAXPROCS workers per step, collected into a map: the cost of moving
// items between stages.
func Chain() Family {
	return Family{
		Name: "Chain", Impls: append(Peers(), References()...), Reference: Chan, Items: ChainItems,
		New: func() func(string) func() error {
			xs := Ints(ChainItems)
			var kept []int
			for _, x := range xs {
				if even(inc(x)) {
					kept = append(kept, x)
				}
			}
			return func(impl string) func() error {
				m := ChainRun(impl, xs, runtime.GOMAXPROCS(0))
				return func() error { return checkMap(m, kept, func(x int) int { return triple(inc(x)) }) }
			}
		},
	}
}

// Progress is Tiny through flowbar without (ProgressOff) and with
// (ProgressOn) progress: what watching a run costs. on returns the option
// that turns progress on; it is called once per run.
func Progress(on func() pipeline.Option) Family {
	return Family{
		Name: "Progress", Impls: []string{ProgressOff, ProgressOn}, Reference: ProgressOff, Items: TinyItems,
		New: func() func(string) func() error {
			xs := Ints(TinyItems)
			return func(impl string) func() error {
				var opts []pipeline.Option
				switch impl {
				case ProgressOff:
				case ProgressOn:
					opts = append(opts, on())
				default:
					panic(fmt.Sprintf("workloads: Progress: unknown implementation %q", impl))
				}
				m := MapInto(Flowbar, xs, runtime.GOMAXPROCS(0), square, opts...)
				return func() error { return checkMap(m, xs, square) }
			}
		},
	}
}
