package progress

import (
	"math"
	"testing"
	"time"
)

// One slow sample (a tick in which a single small item finished) must not
// swamp the rate: it used to be an average of time per unit, in which that
// tick weighed as much as a thousand units of steady progress.
func TestRateIsNotSwampedBySparseTicks(t *testing.T) {
	var r ewmaRate
	tick := 100 * time.Millisecond
	for i := range 50 {
		n := int64(1000)
		if i%10 == 9 {
			n = 1
		}
		r.update(n, tick)
	}
	// About 900 units per 100 ms on average.
	if got := r.perSecond(); got < 7000 || got > 11000 {
		t.Errorf("rate %.0f/s, want about 9000/s", got)
	}
}

// Slow items, one every few ticks, give their true rate: the empty ticks
// count their time.
func TestRateOfSlowItems(t *testing.T) {
	var r ewmaRate
	r.update(0, 100*time.Millisecond) // before the first item
	for i := range 100 {
		n := int64(0)
		if i%5 == 4 {
			n = 1
		}
		r.update(n, 100*time.Millisecond)
	}
	if got := r.perSecond(); math.Abs(got-2) > 0.5 {
		t.Errorf("rate %.2f/s, want about 2/s (one item per 500 ms)", got)
	}
	if eta, ok := r.eta(10); !ok || eta < 3*time.Second || eta > 7*time.Second {
		t.Errorf("eta for 10 items %v, %v; want about 5s", eta, ok)
	}
	var none ewmaRate
	if _, ok := none.eta(5); ok || none.perSecond() != 0 {
		t.Error("a rate with no progress yet claims an eta")
	}
}
