// Package benchmarks compares flowbar with a hand-written goroutine-and-channel
// worker pool and with the libraries a Go engineer would otherwise use
// (golang.org/x/sync/errgroup, github.com/sourcegraph/conc), on the workloads
// of package workloads. Its benchmarks are families named
// Benchmark<Workload>/impl=<implementation> (BenchmarkSkew/<case>/impl=...)
// reporting ns/item and allocs/item, x-ideal for the families with an ideal
// (IO, Skew, HashTree) and MB/s for those that hash bytes (CPU, HashTree);
// the command in cmd/compare runs them interleaved and prints the ratios to
// the reference.
package benchmarks
