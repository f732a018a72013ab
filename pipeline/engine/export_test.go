package engine

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// The edge bounds, for the tests of package engine_test.
const (
	EdgeChunks = edgeChunks
	EdgeItems  = edgeItems
)

// Expired is the channel an idle worker's wait ends on once it has found a
// sibling's chunk to share.
var Expired = expired

// ExitTogether makes the sequencer of an ordered stage of n workers and
// has the n tell it of their exit at the same moment: each from a goroutine
// of its own, released by a barrier they spin on (a channel would wake them
// microseconds apart; with fewer Ps than workers they yield instead). It
// returns once the sequencer has seen them all.
func ExitTogether(n int) {
	q := newSequencer[int, int](0, n)
	spin := runtime.GOMAXPROCS(0) >= n // else yield, to let the others run
	var ready atomic.Int32
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			ready.Add(1)
			for ready.Load() < int32(n) {
				if !spin {
					runtime.Gosched()
				}
			}
			q.exit()
		})
	}
	wg.Wait()
	<-q.done
}
