// Package workloads holds the benchmark workloads of flowbar and the
// implementations they are measured with: flowbar itself, a hand-written
// goroutine-and-channel worker pool (the reference every figure is divided
// by), the same pool sending batches, golang.org/x/sync/errgroup and the
// pool, stream and iter packages of github.com/sourcegraph/conc.
//
// Every implementation of a workload computes the same result (checked by
// the package's tests) so that a wrong implementation cannot post a fast
// number. The references are written the way a careful Go engineer would
// write them: maps pre-sized when the number of results is known, one
// worker per core for CPU-bound work, buffered channels.
//
// # Families
//
// [Families] lists the workloads: Tiny (a trivial function over a million
// integers), Chain (map, filter, map over a million integers), LongChain
// (six maps over a million integers), IO (sleeps of 1 ms with 64 workers),
// CPU (sha256 of 64 KiB blocks), Skew (instant items followed by slow ones
// that come together, fed to the slow stage in four ways, one family per
// case: [SkewCases]), HashTree (sha256 of a generator's small files followed
// by large ones) and Progress (Tiny through flowbar with and without a
// progress observer). Each returns its results in a map keyed by the input.
//
// # Ideals
//
// IO's ideal is fixed (items × latency ÷ workers). Skew and HashTree
// measure theirs with [Family.Calibrate] in the same process, just before
// the runs they are compared with: the mean duration of the sleeps, which
// overshoot, and the time one goroutine takes to hash every file.
//
// # Concurrency
//
// A [Family]'s Op functions block until the whole run is done and start no
// goroutine that outlives them. Different Ops may run one after another from
// one goroutine; they are not meant to run at the same time, since each uses
// every core.
package workloads
