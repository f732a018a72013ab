package remote

import (
	"sync"
	"time"
)

// fleet counts the workers serving a stage from their heartbeats: a worker
// counts while it was heard from within the last three periods. It is safe
// for concurrent use.
type fleet struct {
	mu     sync.Mutex
	period time.Duration
	last   map[string]time.Time
}

func newFleet(period time.Duration) *fleet {
	return &fleet{period: period, last: map[string]time.Time{}}
}

// seen records a heartbeat of worker id.
func (f *fleet) seen(id string) {
	f.mu.Lock()
	f.last[id] = time.Now()
	f.mu.Unlock()
}

// count returns the number of workers heard from lately, forgetting the
// others.
func (f *fleet) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	for id, t := range f.last {
		if now.Sub(t) > 3*f.period {
			delete(f.last, id)
		}
	}
	return len(f.last)
}
