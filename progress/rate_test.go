package progress

import (
	"math"
	"testing"
	"time"

	"github.com/flowbar/flowbar/pipeline"
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

// A rate column starts as wide as every rate it shows below 1 GiB/s (bytes)
// or ten thousand per second, so that the bar keeps its width while a rate
// moves between units: 1000-1023.9 KiB/s, on the way to MiB/s, used to be
// one column wider than the column.
func TestRateWidthHoldsEveryRate(t *testing.T) {
	for _, tc := range []struct {
		u   pipeline.Unit
		max float64
	}{{pipeline.Bytes, 1 << 30}, {pipeline.Items, 1e4}, {pipeline.Unit("rows"), 1e4}} {
		w := rateWidth(tc.u)
		var rates []float64
		for r := 1.0; r < tc.max; r *= 1.01 {
			rates = append(rates, r)
		}
		for p := 1.0; p < tc.max; p *= 1024 { // just below each unit's end
			rates = append(rates, 1000*p, 1023.9*p, 1024*p-1)
		}
		for _, r := range rates {
			if r >= tc.max {
				continue
			}
			if s := formatRate(r, tc.u); len(s) > w {
				t.Errorf("%s: %q at %.0f/s is wider than the column's %d", tc.u, s, r, w)
			}
		}
	}
}
