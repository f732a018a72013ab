package engine

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// Producers sending chunks to a direct feed at once each see their chunks
// stored in the order they sent them, whether a chunk is stored by its own
// producer or queued for the goroutine storing then. (A chunk queued before
// it was counted once let its producer store its next chunk first.)
func TestDirectFeedKeepsOrderUnderContention(t *testing.T) {
	const producers, chunks, size = 8, 20000, 1
	var mu sync.Mutex
	last := make([]int, producers) // by producer: the last sequence number stored
	for i := range last {
		last[i] = -1
	}
	var bad []string
	p := New(Config{ChunkSize: DefaultChunkSize})
	r := &run{p: p, ctx: context.Background()}
	d := newDirectFeed(p, producers, false, func(c []Item[int, int]) int64 {
		mu.Lock()
		defer mu.Unlock()
		for _, it := range c {
			if it.Value <= last[it.Input] && len(bad) < 5 {
				bad = append(bad, fmt.Sprintf("producer %d: %d after %d", it.Input, it.Value, last[it.Input]))
			}
			last[it.Input] = it.Value
		}
		return 0
	})
	var wg sync.WaitGroup
	for pr := range producers {
		wg.Go(func() {
			seq := 0
			for range chunks {
				c := make([]Item[int, int], size)
				for i := range c {
					c[i] = Item[int, int]{Input: pr, Value: seq}
					seq++
				}
				d.send(r, c)
			}
		})
	}
	wg.Wait()
	d.close()
	d.next(r, nil, 0, noWait{})
	for pr, l := range last {
		if l != chunks*size-1 {
			t.Errorf("producer %d: last stored %d, want %d", pr, l, chunks*size-1)
		}
	}
	for _, b := range bad {
		t.Error(b)
	}
}
