package remote

import (
	"sync"
	"sync/atomic"
	"time"
)

// fleet counts the workers serving a stage from their heartbeats: a worker
// counts while it was heard from within the last three periods. It is safe
// for concurrent use.
type fleet struct {
	mu     sync.Mutex
	period time.Duration
	last   map[string]member
	// pulls is the sum of the in-flight limits of the workers counted at
	// the last heartbeat or count: what the fleet can take at once.
	pulls atomic.Int64
}

type member struct {
	at       time.Time
	inFlight int
}

func newFleet(period time.Duration) *fleet {
	return &fleet{period: period, last: map[string]member{}}
}

// seen records a heartbeat of worker id, which pulls up to inFlight
// messages at once.
func (f *fleet) seen(id string, inFlight int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last[id] = member{time.Now(), inFlight}
	f.forget()
}

// count returns the number of workers heard from lately.
func (f *fleet) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forget()
	return len(f.last)
}

// inFlight returns the sum of the in-flight limits of the workers heard
// from lately, as of the last heartbeat or count; it is one atomic load.
func (f *fleet) inFlight() int { return int(f.pulls.Load()) }

// forget drops the workers not heard from within three periods.
func (f *fleet) forget() {
	now := time.Now()
	var sum int64
	for id, m := range f.last {
		if now.Sub(m.at) > 3*f.period {
			delete(f.last, id)
			continue
		}
		sum += int64(m.inFlight)
	}
	f.pulls.Store(sum)
}
