package stage_test

import (
	"context"
	"hash/maphash"
	"sync"
	"testing"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// The fan-out benchmarks compare Tee and MapByKey with the goroutines and
// channels one would write by hand for the same job, in the same run
// (go test -bench 'Tee|MapByKey' -count 5 ./stage/): ratios, not figures,
// mean something on a shared machine.

const benchItems = 200_000

// BenchmarkTee: every item to two branches, each summing the values.
func BenchmarkTee(b *testing.B) {
	xs := ints(benchItems)
	want := benchItems * (benchItems - 1) / 2
	sum := func(ctx context.Context, s *pipeline.Stream[int, int]) (int, error) {
		return sink.Reduce(ctx, s, 0, func(a, x int) int { return a + x })
	}
	b.Run("impl=flowbar", func(b *testing.B) {
		for b.Loop() {
			p := pipeline.New()
			bs := stage.Tee(stage.FromSlice(p, xs), 2)
			x, y := sink.LaterFunc(bs[0], sum), sink.LaterFunc(bs[1], sum)
			if err := sink.Run(context.Background(), p); err != nil || x.Value() != want || y.Value() != want {
				b.Fatal(err, x.Value(), y.Value())
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchItems), "ns/item")
	})
	// The same sinks without a tee: two runs, each reading the slice once.
	// What the tee adds is the difference.
	b.Run("impl=flowbar-two-runs", func(b *testing.B) {
		for b.Loop() {
			for range 2 {
				p := pipeline.New()
				if got, err := sum(context.Background(), stage.FromSlice(p, xs)); err != nil || got != want {
					b.Fatal(err, got)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchItems), "ns/item")
	})
	// By hand, per item: a broadcaster goroutine and two consumers on
	// buffered channels.
	b.Run("impl=chan", func(b *testing.B) {
		for b.Loop() {
			outs := [2]chan int{make(chan int, 512), make(chan int, 512)}
			go func() {
				for _, x := range xs {
					outs[0] <- x
					outs[1] <- x
				}
				close(outs[0])
				close(outs[1])
			}()
			var sums [2]int
			var wg sync.WaitGroup
			for k := range outs {
				wg.Go(func() {
					for x := range outs[k] {
						sums[k] += x
					}
				})
			}
			wg.Wait()
			if sums[0] != want || sums[1] != want {
				b.Fatal(sums)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchItems), "ns/item")
	})
	// By hand, batched: slices of 512 values, shared read-only by both
	// consumers.
	b.Run("impl=batched", func(b *testing.B) {
		for b.Loop() {
			outs := [2]chan []int{make(chan []int, 16), make(chan []int, 16)}
			go func() {
				for i := 0; i < len(xs); i += 512 {
					chunk := xs[i:min(i+512, len(xs))]
					outs[0] <- chunk
					outs[1] <- chunk
				}
				close(outs[0])
				close(outs[1])
			}()
			var sums [2]int
			var wg sync.WaitGroup
			for k := range outs {
				wg.Go(func() {
					for c := range outs[k] {
						for _, x := range c {
							sums[k] += x
						}
					}
				})
			}
			wg.Wait()
			if sums[0] != want || sums[1] != want {
				b.Fatal(sums)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchItems), "ns/item")
	})
}

// BenchmarkMapByKey: items routed by key (x % 64) to 4 workers, each
// squaring, results collected by input.
func BenchmarkMapByKey(b *testing.B) {
	const workers = 4
	xs := ints(benchItems)
	key := func(x int) int { return x % 64 }
	b.Run("impl=flowbar", func(b *testing.B) {
		for b.Loop() {
			p := pipeline.New()
			m, err := sink.ByInput(context.Background(), stage.MapByKey(stage.FromSlice(p, xs), key,
				func(_ context.Context, x int) (int, error) { return x * x, nil }, stage.WithWorkers(workers)))
			if err != nil || len(m) != benchItems {
				b.Fatal(err, len(m))
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchItems), "ns/item")
	})
	type pair struct{ in, out int }
	seed := maphash.MakeSeed()
	// By hand, per item: a router, one channel per worker, results on
	// one channel into a map.
	b.Run("impl=chan", func(b *testing.B) {
		for b.Loop() {
			var ins [workers]chan int
			for i := range ins {
				ins[i] = make(chan int, 256)
			}
			results := make(chan pair, 256)
			go func() {
				for _, x := range xs {
					ins[maphash.Comparable(seed, key(x))%workers] <- x
				}
				for _, c := range ins {
					close(c)
				}
			}()
			var wg sync.WaitGroup
			for i := range ins {
				wg.Go(func() {
					for x := range ins[i] {
						results <- pair{x, x * x}
					}
				})
			}
			go func() { wg.Wait(); close(results) }()
			m := make(map[int]int, len(xs))
			for r := range results {
				m[r.in] = r.out
			}
			if len(m) != benchItems {
				b.Fatal(len(m))
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchItems), "ns/item")
	})
	// By hand, batched: the router and the workers hand on slices of up
	// to 512.
	b.Run("impl=batched", func(b *testing.B) {
		for b.Loop() {
			var ins [workers]chan []int
			for i := range ins {
				ins[i] = make(chan []int, 16)
			}
			results := make(chan []pair, 16)
			go func() {
				var bufs [workers][]int
				for _, x := range xs {
					k := maphash.Comparable(seed, key(x)) % workers
					bufs[k] = append(bufs[k], x)
					if len(bufs[k]) == 512 {
						ins[k] <- bufs[k]
						bufs[k] = nil
					}
				}
				for k, c := range ins {
					if len(bufs[k]) > 0 {
						c <- bufs[k]
					}
					close(c)
				}
			}()
			var wg sync.WaitGroup
			for i := range ins {
				wg.Go(func() {
					for c := range ins[i] {
						out := make([]pair, len(c))
						for j, x := range c {
							out[j] = pair{x, x * x}
						}
						results <- out
					}
				})
			}
			go func() { wg.Wait(); close(results) }()
			m := make(map[int]int, len(xs))
			for rs := range results {
				for _, r := range rs {
					m[r.in] = r.out
				}
			}
			if len(m) != benchItems {
				b.Fatal(len(m))
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchItems), "ns/item")
	})
}
