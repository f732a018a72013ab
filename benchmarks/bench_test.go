package benchmarks

import (
	"runtime"
	"strings"
	"testing"

	"github.com/flowbar/flowbar/benchmarks/workloads"
)

// bench runs every implementation of f as a sub-benchmark impl=<name>,
// after checking its result once outside the timing. It reports ns/item
// and allocs/item, x-ideal (wall time ÷ ideal) when the family has an
// ideal, measured once before the timing when the family calibrates it,
// and MB/s when it processes bytes.
func bench(b *testing.B, f workloads.Family) {
	run := f.New()
	for _, impl := range f.Impls {
		b.Run("impl="+impl, func(b *testing.B) {
			if err := run(impl)(); err != nil {
				b.Fatalf("%s/%s: wrong result: %v", f.Name, impl, err)
			}
			if f.Bytes > 0 {
				b.SetBytes(f.Bytes)
			}
			ideal := f.Ideal
			if f.Calibrate != nil {
				ideal = f.Calibrate()
			}
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for b.Loop() {
				run(impl)
			}
			runtime.ReadMemStats(&after)
			perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			items := float64(f.Items)
			b.ReportMetric(perOp/items, "ns/item")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/(float64(b.N)*items), "allocs/item")
			if ideal > 0 {
				b.ReportMetric(perOp/float64(ideal.Nanoseconds()), "x-ideal")
			}
		})
	}
}

func BenchmarkTiny(b *testing.B)      { bench(b, workloads.Tiny()) }
func BenchmarkIO(b *testing.B)        { bench(b, workloads.IO()) }
func BenchmarkCPU(b *testing.B)       { bench(b, workloads.CPU()) }
func BenchmarkChain(b *testing.B)     { bench(b, workloads.Chain()) }
func BenchmarkLongChain(b *testing.B) { bench(b, workloads.LongChain()) }
func BenchmarkHashTree(b *testing.B)  { bench(b, workloads.HashTree()) }
func BenchmarkProgress(b *testing.B)  { bench(b, workloads.Progress(workloads.WithProgress)) }

// BenchmarkSkew runs the Skew cases as BenchmarkSkew/<cost>-w<workers>.
func BenchmarkSkew(b *testing.B) {
	for _, f := range workloads.Skew() {
		b.Run(strings.TrimPrefix(f.Name, "Skew-"), func(b *testing.B) { bench(b, f) })
	}
}
