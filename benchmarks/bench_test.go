package benchmarks

import (
	"runtime"
	"testing"

	"github.com/flowbar/flowbar/benchmarks/workloads"
)

// bench runs every implementation of f as a sub-benchmark impl=<name>,
// after checking its result once outside the timing.
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
			if f.Ideal > 0 {
				b.ReportMetric(perOp/float64(f.Ideal.Nanoseconds()), "x-ideal")
			}
		})
	}
}

func BenchmarkTiny(b *testing.B)     { bench(b, workloads.Tiny()) }
func BenchmarkIO(b *testing.B)       { bench(b, workloads.IO()) }
func BenchmarkCPU(b *testing.B)      { bench(b, workloads.CPU()) }
func BenchmarkChain(b *testing.B)    { bench(b, workloads.Chain()) }
func BenchmarkProgress(b *testing.B) { bench(b, workloads.Progress(workloads.WithProgress)) }
