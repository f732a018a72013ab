package stage_test

import (
	"context"
	"testing"
	"time"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// BenchmarkResilience measures what the options that wrap a function cost
// per item on a function that does nothing and always succeeds: compare
// the sub-benchmarks of one run with -count.
func BenchmarkResilience(b *testing.B) {
	xs := ints(100_000)
	id := func(_ context.Context, x int) (int, error) { return x, nil }
	for _, bm := range []struct {
		name string
		opts []stage.Option
	}{
		{"plain", nil},
		{"retry", []stage.Option{stage.WithRetry(3, nil)}},
		{"timeout", []stage.Option{stage.WithTimeout(time.Hour)}},
		{"rate", []stage.Option{stage.WithRate(1e12, 1<<30)}},
		{"all", []stage.Option{stage.WithRetry(3, nil), stage.WithTimeout(time.Hour), stage.WithRate(1e12, 1<<30)}},
	} {
		b.Run(bm.name, func(b *testing.B) {
			for b.Loop() {
				p := pipeline.New()
				n, err := sink.Count(context.Background(), stage.Map(stage.FromSlice(p, xs), id, append(bm.opts, stage.WithWorkers(2))...))
				if err != nil || n != len(xs) {
					b.Fatal(n, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(xs)), "ns/item")
		})
	}
}
