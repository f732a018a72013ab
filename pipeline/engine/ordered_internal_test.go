package engine

import (
	"sync"
	"testing"
)

// The workers of an ordered stage that exited at the same moment could both
// see themselves last and close the sequencer's done channel twice (a
// "close of closed channel" panic, found by the fault campaign under load).
func TestSequencerExitClosesDoneOnce(t *testing.T) {
	const workers = 8
	for range 3000 {
		q := newSequencer[int, int](0, workers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		panicked := make(chan any, workers)
		for range workers {
			wg.Go(func() {
				defer func() {
					if v := recover(); v != nil {
						panicked <- v
					}
				}()
				<-start
				q.exit()
			})
		}
		close(start)
		wg.Wait()
		select {
		case v := <-panicked:
			t.Fatalf("exit panicked: %v", v)
		default:
		}
		select {
		case <-q.done:
		default:
			t.Fatal("done is not closed after every worker exited")
		}
	}
}
