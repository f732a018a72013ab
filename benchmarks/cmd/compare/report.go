package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/flowbar/flowbar/benchmarks/workloads"
)

// ns returns the median ns/item of impl.
func (r result) ns(impl string) float64 {
	return median(r.values(impl, func(s workloads.Sample) float64 { return s.NsPerItem }))
}

func (r result) allocs(impl string) float64 { return median(r.allocsPer(impl)) }

// allocsPer is, for each sample, impl's allocations per item.
func (r result) allocsPer(impl string) []float64 {
	return r.values(impl, func(s workloads.Sample) float64 { return s.AllocsPerItem })
}

func (r result) values(impl string, get func(workloads.Sample) float64) []float64 {
	var out []float64
	for _, s := range r.s[impl] {
		out = append(out, get(s))
	}
	return out
}

// ratio is the median over samples of impl's time divided by the
// reference's time in the same sample.
func (r result) ratio(impl string) float64 { return r.pair(impl, r.f.Reference) }

// pair is the median over samples of a's time divided by b's time in the
// same sample.
func (r result) pair(a, b string) float64 { return median(r.pairs(a, b)) }

// pairs is, for each sample, a's time divided by b's time in that sample.
func (r result) pairs(a, b string) []float64 {
	var out []float64
	for i, s := range r.s[a] {
		out = append(out, s.NsPerItem/r.s[b][i].NsPerItem)
	}
	return out
}

// hasIdeal reports whether the family has an ideal wall time.
func (r result) hasIdeal() bool { return r.f.Ideal > 0 || r.f.Calibrate != nil }

// ideal returns the ideal wall time of s's run.
func (r result) ideal(s workloads.Sample) time.Duration {
	if s.Ideal > 0 {
		return s.Ideal
	}
	return r.f.Ideal
}

// xIdeal is the median of wall time ÷ ideal time, each sample's wall time
// divided by the ideal of the same sample.
func (r result) xIdeal(impl string) float64 { return median(r.xIdeals(impl)) }

// xIdeals is, for each sample, impl's wall time ÷ the sample's ideal time.
func (r result) xIdeals(impl string) []float64 {
	return r.values(impl, func(s workloads.Sample) float64 {
		return float64(s.Wall) / float64(r.ideal(s))
	})
}

// mbps is the median throughput in MB/s (10^6 bytes per second).
func (r result) mbps(impl string) float64 {
	return median(r.values(impl, func(s workloads.Sample) float64 {
		return float64(r.f.Bytes) / s.Wall.Seconds() / 1e6
	}))
}

// header is the first line of a report: machine, Go, samples, date, and
// FLOWBAR_KNOBS when the environment sets it.
func header(w io.Writer, cfg config) {
	fmt.Fprintf(w, "CPU: %s, %d cores used (GOMAXPROCS), %s, %d samples per implementation, %s",
		cpuModel(), runtime.GOMAXPROCS(0), runtime.Version(), cfg.samples, time.Now().UTC().Format("2006-01-02 15:04 MST"))
	if v, ok := os.LookupEnv(knobsEnv); ok {
		fmt.Fprintf(w, ", %s=%s", knobsEnv, v)
	}
	fmt.Fprint(w, "\n\n")
}

func report(w io.Writer, cfg config, results []result) {
	header(w, cfg)
	fmt.Fprintln(w, "| family | impl | ns/item | ratio to ref | allocs/item | other |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|---|")
	for _, r := range results {
		for _, impl := range r.f.Impls {
			var other []string
			if r.hasIdeal() {
				s := fmt.Sprintf("x-ideal %.3f", r.xIdeal(impl))
				if r.f.Calibrate != nil {
					s += fmt.Sprintf(" (ideal %.1f ms)", median(r.values(impl, func(s workloads.Sample) float64 {
						return float64(s.Ideal) / 1e6
					})))
				}
				other = append(other, s)
			}
			if r.f.Bytes > 0 {
				other = append(other, fmt.Sprintf("%.0f MB/s", r.mbps(impl)))
			}
			ref := ""
			if impl == r.f.Reference {
				ref = " (ref)"
			}
			fmt.Fprintf(w, "| %s | %s%s | %.1f | %.3f | %.4f | %s |\n",
				r.f.Name, impl, ref, r.ns(impl), r.ratio(impl), r.allocs(impl), strings.Join(other, ", "))
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | measured | 95% interval | wanted | met |")
	fmt.Fprintln(w, "|---|--:|--:|--:|---|")
	noisy := false
	for _, t := range targets(results) {
		met := "yes"
		if !t.met() {
			met = "**no**"
		}
		if t.straddles() {
			met += " (within noise)"
			noisy = true
		}
		value := fmt.Sprintf("%.3f", t.value)
		if value == fmt.Sprintf("%.3f", t.bound) { // show on which side of the bound it is
			value = fmt.Sprintf("%.5f", t.value)
		}
		fmt.Fprintf(w, "| %s | %s | [%.3f, %.3f] | %s %.3g | %s |\n", t.name, value, t.lo, t.hi, t.op, t.bound, met)
	}
	if noisy {
		fmt.Fprintln(w, "\nMeasured is the median over samples; the interval, the k-th smallest to the k-th largest of the per-sample values, holds the true median with a probability of at least 95% whatever their distribution. Within noise: the bound lies inside the interval, so this run cannot tell the target met from missed; more samples, or runs at another time, can.")
	}
}

// target is one of flowbar's targets: the median of a value measured in
// each sample, a 95% confidence interval of that median, and its bound.
type target struct {
	name          string
	value, lo, hi float64
	op            string // "<", "<=" or ">="
	bound         float64
}

// newTarget is the target on the median of samples, one value a sample.
func newTarget(name string, samples []float64, op string, bound float64) target {
	t := target{name: name, op: op, bound: bound}
	t.value, t.lo, t.hi = medianCI(samples)
	return t
}

// straddles reports whether the bound lies inside the interval: whether
// noise alone could put the median on either side of it.
func (t target) straddles() bool { return t.lo <= t.bound && t.bound <= t.hi && t.lo < t.hi }

func (t target) met() bool {
	switch t.op {
	case ">=":
		return t.value >= t.bound
	case "<":
		return t.value < t.bound
	}
	return t.value <= t.bound
}

// Bounds of the targets.
const (
	loopBound     = 1.10 // Tiny, Chain: flowbar ÷ loop
	allocsBound   = 0.02 // Tiny, Chain: allocations per item
	longBound     = 1.10 // LongChain: flowbar ÷ chanbatch
	skewBound     = 1.10 // Skew, HashTree: wall ÷ ideal
	ioBound       = 1.03 // IO: flowbar's x-ideal ÷ the bare sleeps'
	cpuBound      = 0.97 // CPU: flowbar's MB/s ÷ chan's
	progressBound = 1.05 // Progress: on ÷ off
	// FlatMap, Batch, Merge, MapBatch: flowbar ÷ the hand-written
	// goroutines and channels.
	transformBound = 1.20
)

// targets lists flowbar's targets for the families that were run and the
// implementations they need.
func targets(results []result) []target {
	var ts []target
	fb := workloads.Flowbar
	for _, r := range results {
		has := func(impls ...string) bool {
			for _, impl := range impls {
				if !slices.Contains(r.f.Impls, impl) {
					return false
				}
			}
			return true
		}
		name := r.f.Name
		switch {
		case name == "Tiny" || name == "Chain":
			if !has(fb) {
				continue
			}
			if has(workloads.Loop) {
				ts = append(ts, newTarget(name+": flowbar ÷ loop (ns/item)", r.pairs(fb, workloads.Loop), "<=", loopBound))
			}
			if has(workloads.Lookahead) {
				// loop's bound against a loop that stores as flowbar's
				// map sink does: what flowbar costs over filling the map
				// that way.
				ts = append(ts, newTarget(name+": flowbar ÷ lookahead (ns/item)", r.pairs(fb, workloads.Lookahead), "<=", loopBound))
			}
			// Ahead of every other implementation: flowbar ÷ the
			// closest one below 1.
			closest, worst := "", 0.0
			for _, impl := range r.f.Impls {
				if impl == fb || slices.Contains(workloads.References(), impl) {
					continue // references, not peers
				}
				if q := r.pair(fb, impl); q > worst {
					closest, worst = impl, q
				}
			}
			if closest != "" {
				ts = append(ts, newTarget(fmt.Sprintf("%s: flowbar ÷ the fastest other (%s)", name, closest), r.pairs(fb, closest), "<", 1))
			}
			ts = append(ts, newTarget(name+": flowbar allocs/item", r.allocsPer(fb), "<=", allocsBound))
		case name == "LongChain" && has(fb, workloads.ChanBatch):
			ts = append(ts, newTarget("LongChain: flowbar ÷ chanbatch (ns/item)", r.pairs(fb, workloads.ChanBatch), "<=", longBound))
		case strings.HasPrefix(name, "Skew-"):
			worst, feeds := 0.0, ""
			for _, impl := range r.f.Impls {
				if !workloads.IsFlowbar(impl) {
					continue
				}
				if x := r.xIdeal(impl); x > worst || feeds == "" {
					worst, feeds = x, impl
				}
			}
			if feeds != "" {
				ts = append(ts, newTarget(fmt.Sprintf("%s: wall ÷ ideal, every feed (worst: %s)", name, strings.TrimPrefix(feeds, fb+"-")), r.xIdeals(feeds), "<=", skewBound))
			}
		case name == "HashTree" && has(fb):
			ts = append(ts, newTarget("HashTree: flowbar wall ÷ ideal (as Skew)", r.xIdeals(fb), "<=", skewBound))
		case name == "IO" && has(fb, workloads.Floor):
			// Both runs of a sample share its ideal: the ratio of their
			// x-ideals is the ratio of their times.
			ts = append(ts, newTarget(fmt.Sprintf("IO: flowbar x-ideal ÷ floor's (%.3f)", r.xIdeal(workloads.Floor)), r.pairs(fb, workloads.Floor), "<=", ioBound))
		case name == "CPU" && has(fb):
			ts = append(ts, newTarget("CPU: flowbar MB/s ÷ chan's", r.pairs(workloads.Chan, fb), ">=", cpuBound))
		case slices.ContainsFunc(workloads.TransformFamilies(), func(f workloads.Family) bool { return f.Name == name }):
			for _, impl := range r.f.Impls {
				if workloads.IsFlowbar(impl) && has(workloads.Chan) {
					ts = append(ts, newTarget(fmt.Sprintf("%s: %s ÷ chan (ns/item)", name, impl), r.pairs(impl, workloads.Chan), "<=", transformBound))
				}
			}
		case name == "Progress" && has(workloads.ProgressOn):
			ts = append(ts, newTarget("Progress: on ÷ off (ns/item)", r.pairs(workloads.ProgressOn, r.f.Reference), "<=", progressBound))
		}
	}
	return ts
}
