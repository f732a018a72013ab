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
