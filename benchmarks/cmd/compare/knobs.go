package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/flowbar/flowbar/benchmarks/workloads"
)

// knobsEnv is the environment variable the runtime reads when a pipeline
// is built: a comma-separated list of heuristics to switch off.
const knobsEnv = "FLOWBAR_KNOBS"

// knobs are the heuristics of the runtime that FLOWBAR_KNOBS can switch
// off, in the order the -knobs table shows them.
var knobs = []struct{ name, what string }{
	{"sizing", "chunks sized from the measured cost of items (off: fixed-size chunks)"},
	{"early", "early hand-off of results that have waited while the next stage idles"},
	{"direct", "batch sinks fed by the last stage's workers"},
	{"share", "items not yet started in a chunk that turned slow shared with idle workers"},
	{"presize", "a map sink after filters sized for the results the filters' pass rate lets it expect (off: for the most results it can get)"},
	{"lookahead", "a map sink storing into a map too large for the caches looks up a few results' keys before it stores them (off: each stored in turn)"},
}

// knobFamilies are the families -knobs runs by default: those where some
// heuristic could matter, the Skew cases with 8 workers only (where a slow
// item that stays with one worker costs most) to keep the run short.
var knobFamilies = []string{"Tiny", "Chain", "LongChain", "IO", "CPU", "Skew-5ms-w8", "Skew-2ms-w8", "HashTree"}

// on names the runs with every heuristic on (FLOWBAR_KNOBS unset).
const on = "on"

// withKnobOff returns run made with FLOWBAR_KNOBS set to knob while it
// builds and runs its pipelines (unset for [on]), and restored after.
func withKnobOff(knob string, run func() func() error) func() func() error {
	return func() func() error {
		old, had := os.LookupEnv(knobsEnv)
		if knob == on {
			os.Unsetenv(knobsEnv)
		} else {
			os.Setenv(knobsEnv, knob)
		}
		defer func() {
			if had {
				os.Setenv(knobsEnv, old)
			} else {
				os.Unsetenv(knobsEnv)
			}
		}()
		return run()
	}
}

// knobResult is what one family measured with -knobs: for every flowbar
// implementation of the family, the runs with every heuristic on and with
// each one off, interleaved in the same samples.
type knobResult struct {
	f     workloads.Family
	impls []string
	s     samples // keyed by knobKey
}

func knobKey(impl, knob string) string { return impl + " " + knob }

// runKnobs measures every flowbar implementation of fams with every
// heuristic on and with each one switched off alone.
func (cfg config) runKnobs(fams []workloads.Family) ([]knobResult, error) {
	if v, ok := os.LookupEnv(knobsEnv); ok {
		fmt.Fprintf(cfg.log, "compare: %s=%s in the environment is ignored with -knobs\n", knobsEnv, v)
		os.Unsetenv(knobsEnv)
	}
	var results []knobResult
	for _, f := range fams {
		var impls []string
		for _, impl := range f.Impls {
			if workloads.IsFlowbar(impl) {
				impls = append(impls, impl)
			}
		}
		if len(impls) == 0 {
			continue
		}
		run := f.New()
		var entries []entry
		for _, impl := range impls {
			for _, k := range knobNames() {
				entries = append(entries, entry{knobKey(impl, k), withKnobOff(k, func() func() error { return run(impl) })})
			}
		}
		s, err := cfg.measure(f, entries)
		if err != nil {
			return nil, err
		}
		results = append(results, knobResult{f, impls, s})
	}
	return results, nil
}

// knobNames returns [on] and the name of every knob.
func knobNames() []string {
	names := []string{on}
	for _, k := range knobs {
		names = append(names, k.name)
	}
	return names
}

// offOn returns the median over samples of impl's wall time with knob
// switched off divided by its wall time with every heuristic on in the
// same sample, and a 95% confidence interval for that median.
func (r knobResult) offOn(impl, knob string) (med, lo, hi float64) {
	off, all := r.s[knobKey(impl, knob)], r.s[knobKey(impl, on)]
	var qs []float64
	for i := range off {
		qs = append(qs, float64(off[i].Wall)/float64(all[i].Wall))
	}
	return medianCI(qs)
}

func reportKnobs(w io.Writer, cfg config, results []knobResult) {
	header(w, cfg)
	fmt.Fprintf(w, "What each heuristic gains: wall time with the heuristic switched off (%s=<name>) ÷ wall time with every heuristic on, in the same sample; the median over samples and, in brackets, a 95%% confidence interval of that median. Above 1: the run is slower without the heuristic. **Bold**: the interval excludes 1, a difference above noise.\n\n", knobsEnv)
	fmt.Fprint(w, "| family | impl | on: ms/run |")
	for _, k := range knobs {
		fmt.Fprintf(w, " %s off |", k.name)
	}
	fmt.Fprint(w, "\n|---|---|--:|")
	fmt.Fprint(w, strings.Repeat("--:|", len(knobs)))
	fmt.Fprintln(w)
	for _, r := range results {
		for _, impl := range r.impls {
			walls := []float64{}
			for _, s := range r.s[knobKey(impl, on)] {
				walls = append(walls, float64(s.Wall)/float64(time.Millisecond))
			}
			fmt.Fprintf(w, "| %s | %s | %.1f |", r.f.Name, impl, median(walls))
			for _, k := range knobs {
				med, lo, hi := r.offOn(impl, k.name)
				cell := fmt.Sprintf("%.3f [%.3f, %.3f]", med, lo, hi)
				if lo > 1 || hi < 1 {
					cell = "**" + cell + "**"
				}
				fmt.Fprintf(w, " %s |", cell)
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "The heuristics:")
	fmt.Fprintln(w)
	for _, k := range knobs {
		fmt.Fprintf(w, "- `%s`: %s\n", k.name, k.what)
	}
	fmt.Fprintln(w, "\nEach interval misses the true median once in about thirty runs, so in a table of many cells one or two may be bold by chance: a heuristic earns its place when its gain is bold in run after run, and in more than one family.")
	if slices.ContainsFunc(results, func(r knobResult) bool { return len(r.s[knobKey(r.impls[0], on)]) < 6 }) {
		fmt.Fprintln(w, "\nWith fewer than 6 samples the intervals are the range of the ratios and hold the median with less than 95% probability.")
	}
}
