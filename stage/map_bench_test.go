package stage_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// BenchmarkMapChain is what moving an item through a map stage costs, with
// nothing else to pay for: six maps of x+1 over 200,000 integers into a
// sum, in ns per item and stage, against six goroutines handing each other
// batches of 256 by hand and mapping them in place (the least a chain of
// stages can cost). Run it with -cpu 1 to see the work alone, without the
// hand-offs between cores: go test -bench MapChain -cpu 1,2 -count 5 ./stage/
func BenchmarkMapChain(b *testing.B) {
	const steps = 6
	xs := ints(benchItems)
	want := steps * len(xs)
	for _, x := range xs {
		want += x
	}
	perItemStage := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchItems*steps), "ns/item-stage")
	}
	b.Run("impl=flowbar", func(b *testing.B) {
		incr := func(_ context.Context, x int) (int, error) { return x + 1, nil }
		for b.Loop() {
			p := pipeline.New()
			s := stage.Map(stage.FromSlice(p, xs), incr)
			for range steps - 1 {
				s = stage.Map(s, incr)
			}
			if n, err := sink.Reduce(context.Background(), s, 0, func(a, x int) int { return a + x }); err != nil || n != want {
				b.Fatal(err, n)
			}
		}
		perItemStage(b)
	})
	b.Run("impl=chanbatch", func(b *testing.B) {
		for b.Loop() {
			src := make(chan []int, 16)
			go func() {
				defer close(src)
				for lo := 0; lo < len(xs); lo += 256 {
					src <- append([]int(nil), xs[lo:min(lo+256, len(xs))]...)
				}
			}()
			c := src
			for range steps {
				in, out := c, make(chan []int, 16)
				go func() {
					defer close(out)
					for batch := range in {
						for i := range batch {
							batch[i]++
						}
						out <- batch
					}
				}()
				c = out
			}
			n := 0
			for batch := range c {
				for _, x := range batch {
					n += x
				}
			}
			if n != want {
				b.Fatal(n)
			}
		}
		perItemStage(b)
	})
}

// BenchmarkOneItemChunks is what the engine costs per item when items
// travel one at a time, as slow items do (a chunk is sized to take about
// 50 µs): a map of x+1 with chunks of one item (WithChunkSize(1)) into a
// map, in ns per item, with 1 and 2 workers. Items that take a millisecond
// pay this once each; go test -bench OneItemChunks -count 6 ./stage/
func BenchmarkOneItemChunks(b *testing.B) {
	xs := ints(benchItems)
	incr := func(_ context.Context, x int) (int, error) { return x + 1, nil }
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			for b.Loop() {
				p := pipeline.New(pipeline.WithChunkSize(1))
				m, err := sink.ByInput(context.Background(), stage.Map(stage.FromSlice(p, xs), incr, stage.WithWorkers(workers)))
				if err != nil || len(m) != len(xs) {
					b.Fatal(err, len(m))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(xs)), "ns/item")
		})
	}
}
