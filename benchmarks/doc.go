// Package benchmarks compares flowbar with a hand-written goroutine-and-channel
// worker pool and with the libraries a Go engineer would otherwise use
// (golang.org/x/sync/errgroup, github.com/sourcegraph/conc), on the workloads
// of package workloads. Its benchmarks are families named
// Benchmark<Workload>/impl=<implementation> reporting ns/item and allocs/item
// (and x-ideal for IO, MB/s for CPU); the command in cmd/compare runs them
// interleaved and prints the ratios to the reference.
package benchmarks
