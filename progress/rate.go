package progress

import "time"

// ewmaRate is the rate of progress as tqdm smooths it: exponentially
// weighted moving averages of the progress made per sample and of the time
// between samples, divided. Averaging the two separately keeps one slow
// sample (a tick in which a single small item finished) from swamping the
// rate, and ticks without progress still count their time, so slow items
// (one per several ticks) give a true rate.
type ewmaRate struct {
	dn, dt  float64 // smoothed units and nanoseconds per sample
	seen    bool    // some progress has been made
	waiting time.Duration
}

const ewmaAlpha = 0.1

func (e *ewmaRate) update(n int64, dt time.Duration) {
	if dt < 0 {
		dt = 0
	}
	if !e.seen {
		// The first sample with progress covers the time since the start.
		e.waiting += dt
		if n > 0 {
			e.dn, e.dt, e.seen = float64(n), float64(e.waiting), true
		}
		return
	}
	e.dn += ewmaAlpha * (float64(n) - e.dn)
	e.dt += ewmaAlpha * (float64(dt) - e.dt)
}

func (e *ewmaRate) perSecond() float64 {
	if !e.seen || e.dt <= 0 {
		return 0
	}
	return e.dn / e.dt * 1e9
}

func (e *ewmaRate) eta(left int64) (time.Duration, bool) {
	r := e.perSecond()
	if r <= 0 || left < 0 {
		return 0, false
	}
	return time.Duration(float64(left) / r * 1e9), true
}
