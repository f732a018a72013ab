package workloads

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// The sizes of the HashTree workload.
const (
	HashTreeSmall     = 3_000
	HashTreeSmallSize = 512
	HashTreeLarge     = 8
	HashTreeLargeSize = 16 << 20
	HashTreeWorkers   = 4
)

// HashTree is a real job in the shape of the Skew family: hashing a tree
// whose large files come together. A generator emits the names (indices)
// of 3,000 files of 512 bytes followed by 8 files of 16 MiB, held in
// memory, and 4 workers hash them with sha256 into a map keyed by name.
// Its ideal is the time one goroutine takes to hash every file, measured
// by Calibrate, ÷ min(workers, GOMAXPROCS): the large files must be hashed
// on every core at once.
func HashTree() Family {
	files := sync.OnceValue(hashTreeFiles)
	hash := func(i int) [32]byte { return sha256.Sum256(files()[i]) }
	return Family{
		Name: "HashTree", Impls: []string{Chan, Flowbar}, Reference: Chan, Items: HashTreeSmall + HashTreeLarge,
		Bytes: HashTreeSmall*HashTreeSmallSize + HashTreeLarge*HashTreeLargeSize,
		Calibrate: func() time.Duration {
			start := time.Now()
			for _, f := range files() {
				sha256.Sum256(f)
			}
			return time.Since(start) / time.Duration(min(HashTreeWorkers, runtime.GOMAXPROCS(0)))
		},
		New: func() func(string) func() error {
			names := Ints(len(files()))
			sums := make([][32]byte, len(names))
			for i := range sums {
				sums[i] = hash(i)
			}
			return func(impl string) func() error {
				m := HashTreeRun(impl, len(names), HashTreeWorkers, hash)
				return func() error { return checkMap(m, names, func(i int) [32]byte { return sums[i] }) }
			}
		},
	}
}

// hashTreeFiles returns the contents of the tree's files in the order the
// generator emits them: the small files, then the large ones.
func hashTreeFiles() [][]byte {
	data := make([]byte, HashTreeSmall*HashTreeSmallSize+HashTreeLarge*HashTreeLargeSize)
	rand.NewChaCha8([32]byte{2}).Read(data)
	files := make([][]byte, 0, HashTreeSmall+HashTreeLarge)
	for off := 0; off < len(data); {
		size := HashTreeSmallSize
		if len(files) >= HashTreeSmall {
			size = HashTreeLargeSize
		}
		files = append(files, data[off:off+size:off+size])
		off += size
	}
	return files
}

// HashTreeRun hashes the files 0 to n-1 with hash and the given number of
// workers, the names coming from a generator ([Flowbar]) or from a goroutine
// feeding a channel ([Chan]), and returns the sums keyed by name. It panics
// on an unknown implementation name.
func HashTreeRun(impl string, n, workers int, hash func(int) [32]byte) map[int][32]byte {
	switch impl {
	case Chan:
		return chanMap(Ints(n), workers, hash)
	case Flowbar:
		p := pipeline.New()
		names := stage.Generate(p, func(_ context.Context, emit func(int) bool) error {
			for i := range n {
				if !emit(i) {
					break
				}
			}
			return nil
		})
		sums := stage.Map(names, func(_ context.Context, i int) ([32]byte, error) { return hash(i), nil }, stage.WithWorkers(workers))
		m, err := sink.ByInput(context.Background(), sums)
		if err != nil {
			panic(fmt.Sprintf("workloads: flowbar run failed: %v", err)) // nothing can fail
		}
		return m
	}
	panic(fmt.Sprintf("workloads: HashTree: unknown implementation %q", impl))
}
