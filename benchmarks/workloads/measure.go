package workloads

import (
	"io"
	"runtime"
	"time"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/progress"
)

// WithProgress returns the option that turns progress on for the Progress
// family: a progress board drawing live bars (as on a terminal) to
// io.Discard, with its default refresh.
func WithProgress() pipeline.Option {
	return progress.Bars(progress.WithOutput(io.Discard), progress.WithTerminal(true))
}

// Sample is the outcome of reps runs of one implementation.
type Sample struct {
	// Wall is the wall time of one run.
	Wall time.Duration
	// NsPerItem is Wall divided by the number of items.
	NsPerItem float64
	// AllocsPerItem is the number of heap allocations per item.
	AllocsPerItem float64
	// Ideal is the ideal wall time of one run measured for this sample
	// ([Family.Calibrate]), or 0.
	Ideal time.Duration
}

// Measure calls run reps times after a garbage collection, and returns
// the time and allocations per item, run making one run of items items.
// It does not check the results.
func Measure(run func(), items, reps int) Sample {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	for range reps {
		run()
	}
	el := time.Since(start)
	runtime.ReadMemStats(&after)
	n := float64(items) * float64(reps)
	return Sample{
		Wall:          el / time.Duration(reps),
		NsPerItem:     float64(el.Nanoseconds()) / n,
		AllocsPerItem: float64(after.Mallocs-before.Mallocs) / n,
	}
}
