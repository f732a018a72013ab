package workloads

import (
	"io"
	"runtime"
	"time"

	"github.com/flowbar/flowbar/pipeline"
)

// WithProgress returns the option that turns progress on for the Progress
// family: an observer that samples every stage's meters ten times a second,
// as a progress board does, and writes its lines to io.Discard.
func WithProgress() pipeline.Option {
	return pipeline.WithObserver(NewSampler(io.Discard, 100*time.Millisecond))
}

// Sample is the outcome of reps runs of one implementation.
type Sample struct {
	// Wall is the wall time of one run.
	Wall time.Duration
	// NsPerItem is Wall divided by the number of items.
	NsPerItem float64
	// AllocsPerItem is the number of heap allocations per item.
	AllocsPerItem float64
}

// Measure runs impl reps times through run (from [Family.New]) after a
// garbage collection, and returns the time and allocations per item. The
// results are not checked.
func Measure(run func(string) func() error, impl string, items, reps int) Sample {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	for range reps {
		run(impl)
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
