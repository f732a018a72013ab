package main

import (
	"context"
	"fmt"
	"time"

	"github.com/flowbar/flowbar/benchmarks/workloads"
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/progress"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// entry is one row of a family's measurement: an implementation, or with
// -knobs an implementation with one heuristic switched off.
type entry struct {
	name string
	run  func() (check func() error)
}

// samples holds each entry's samples, in sample order.
type samples map[string][]workloads.Sample

// runUnit is the unit of a family's progress bar: one run of one entry.
const runUnit pipeline.Unit = "runs"

// measure makes a checked warm-up run of every entry of f, then cfg.samples
// samples, each of them f's calibration (if it has one) followed by one
// measurement of every entry in a rotating order.
//
// The samples are the items of a flowbar pipeline with one worker, so that
// a progress board shows how far the family is: a live bar on a terminal,
// plain lines when standard error is a file or a pipe.
func (cfg config) measure(f workloads.Family, entries []entry) (samples, error) {
	fmt.Fprintf(cfg.log, "compare: %s: preparing\n", f.Name)
	reps := make([]int, len(entries))
	for i, e := range entries {
		t0 := time.Now()
		check := e.run()
		el := time.Since(t0)
		if err := check(); err != nil {
			return nil, fmt.Errorf("%s/%s computed a wrong result: %w", f.Name, e.name, err)
		}
		reps[i] = max(1, int(cfg.minTime/max(el, time.Microsecond)))
	}

	out := samples{}
	n := len(entries)
	sample := func(ctx context.Context, s int) (int, error) {
		var ideal time.Duration
		if f.Calibrate != nil {
			ideal = f.Calibrate()
		}
		for k := range n {
			i := (s + k) % n
			m := workloads.Measure(func() { entries[i].run() }, f.Items, reps[i])
			m.Ideal = ideal
			out[entries[i].name] = append(out[entries[i].name], m)
			pipeline.AddWeight(ctx, 1)
		}
		return s, nil
	}
	board := progress.New(
		progress.WithOutput(cfg.log),
		progress.WithStages(func(st *pipeline.Stage) bool { return st.Name() == f.Name }),
		progress.WithTotal(f.Name, int64(cfg.samples*n)),
		progress.WithRefresh(500*time.Millisecond),
	)
	p := pipeline.New(pipeline.WithObserver(board))
	rounds := stage.Map(stage.FromSlice(p, workloads.Ints(cfg.samples)), sample,
		stage.WithName(f.Name), stage.WithWorkers(1), stage.WithUnit(runUnit))
	if _, err := sink.Count(context.Background(), rounds); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	return out, nil
}

// result is what one family measured, one entry per implementation.
type result struct {
	f workloads.Family
	s samples
}

// runFamily measures every implementation of f.
func (cfg config) runFamily(f workloads.Family) (result, error) {
	run := f.New()
	var entries []entry
	for _, impl := range f.Impls {
		entries = append(entries, entry{impl, func() func() error { return run(impl) }})
	}
	s, err := cfg.measure(f, entries)
	return result{f, s}, err
}
