// Command compare runs the benchmark families of flowbar interleaved in one
// process, prints a markdown table of medians and ratios to each family's
// reference, checks flowbar against its targets and writes a chart of the
// ratios.
//
// Usage, from the benchmarks directory:
//
//	go run ./cmd/compare [-quick] [-samples n] [-mintime d] [-chart file.png|none]
//	                     [-families Tiny,Skew] [-impls flowbar,conc_iter] [-knobs]
//
// -quick takes a few minutes (6 samples of one run each); the default takes
// longer (15 samples, runs shorter than 300 ms repeated).
//
// Each sample runs every implementation of a family once (or a few times for
// short runs), one after another in a rotating order, so that a burst of load
// on the machine spreads over all of them. Ratios are the median over
// samples of the implementation's time divided by the reference's time in
// the same sample. A family whose ideal is measured (Skew, HashTree)
// measures it at the start of every sample.
//
// The chart goes to a new temporary file whose path is printed, unless
// -chart names a file (-chart results.png rewrites the chart that
// RESULTS.md shows) or is "none".
//
// With -knobs, compare runs flowbar alone, with the environment variable
// FLOWBAR_KNOBS unset and then set to each of the runtime's heuristics in
// turn (which switches that heuristic off while a pipeline is built), all
// interleaved in the same samples, and prints for each heuristic and family
// the ratio of the time with the heuristic off to the time with it on, with
// a confidence interval. Without -knobs the environment is left as it is.
//
// Progress goes to standard error through a flowbar progress board: a live
// bar per family on a terminal, plain lines otherwise.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/flowbar/flowbar/benchmarks/workloads"
)

func main() {
	quick := flag.Bool("quick", false, "6 samples of one run each")
	samples := flag.Int("samples", 0, "samples per implementation (default 6 with -quick, 15 otherwise; at least 6 for the targets)")
	minTime := flag.Duration("mintime", 0, "least time of one sample; short runs are repeated (default 0 with -quick, 300ms otherwise)")
	chart := flag.String("chart", "", "file to write the chart of the ratios to (.png or .svg); default a new temporary file, whose path is printed; \"none\" for no chart")
	families := flag.String("families", "", "comma-separated families to run (default all; Skew stands for every Skew-* case)")
	impls := flag.String("impls", "", "comma-separated implementations to run besides each family's reference (default all; flowbar stands for every flowbar-* feed)")
	knobs := flag.Bool("knobs", false, "measure what each heuristic of the runtime gains: flowbar alone, with FLOWBAR_KNOBS unset and set to each heuristic in turn")
	flag.Parse()

	cfg := config{samples: 15, minTime: 300 * time.Millisecond, log: os.Stderr}
	if *quick {
		cfg.samples, cfg.minTime = 6, 0
	}
	if *samples > 0 {
		cfg.samples = *samples
	}
	if *minTime > 0 {
		cfg.minTime = *minTime
	}
	var want []string
	if *families != "" {
		want = strings.Split(*families, ",")
	} else if *knobs {
		want = knobFamilies
	}
	var keep []string
	if *impls != "" {
		keep = strings.Split(*impls, ",")
	}
	fams := selectFamilies(workloads.Families(workloads.WithProgress), want, keep)
	if len(fams) == 0 {
		fail(fmt.Errorf("no family matches -families %q", *families))
	}

	start := time.Now()
	fmt.Fprintf(os.Stderr, "compare: %s, %s, GOMAXPROCS %d, %d samples\n", cpuModel(), runtime.Version(), runtime.GOMAXPROCS(0), cfg.samples)
	if *knobs {
		results, err := cfg.runKnobs(fams)
		if err != nil {
			fail(err)
		}
		reportKnobs(os.Stdout, cfg, results)
		fmt.Fprintf(os.Stderr, "compare: done in %s\n", time.Since(start).Round(time.Second))
		return
	}
	var results []result
	for _, f := range fams {
		r, err := cfg.runFamily(f)
		if err != nil {
			fail(err)
		}
		results = append(results, r)
	}
	report(os.Stdout, cfg, results)
	if *chart != "none" {
		path, err := writeChart(*chart, results)
		if err != nil {
			fail(err)
		}
		fmt.Fprintf(os.Stderr, "compare: chart written to %s\n", path)
	}
	fmt.Fprintf(os.Stderr, "compare: done in %s\n", time.Since(start).Round(time.Second))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "compare:", err)
	os.Exit(1)
}

type config struct {
	samples int
	minTime time.Duration
	log     io.Writer // progress: os.Stderr
}

// selectFamilies returns the families named in want (all when want is
// empty), a name also standing for the families named name-*, with only
// the implementations in keep besides the reference (all when keep is
// empty), "flowbar" also standing for flowbar-*. A family left with its
// reference alone is dropped.
func selectFamilies(all []workloads.Family, want, keep []string) []workloads.Family {
	matches := func(names []string, s string) bool {
		return slices.ContainsFunc(names, func(n string) bool { return s == n || strings.HasPrefix(s, n+"-") })
	}
	var out []workloads.Family
	for _, f := range all {
		if want != nil && !matches(want, f.Name) {
			continue
		}
		if keep != nil {
			f.Impls = slices.DeleteFunc(slices.Clone(f.Impls), func(impl string) bool {
				return impl != f.Reference && !matches(keep, impl)
			})
			if len(f.Impls) < 2 {
				continue
			}
		}
		out = append(out, f)
	}
	return out
}

// cpuModel returns the CPU model name from /proc/cpuinfo, or GOARCH.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	return runtime.GOARCH
}
