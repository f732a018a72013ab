// Command compare runs the benchmark families of flowbar interleaved in one
// process, prints a markdown table of medians and ratios to each family's
// reference, checks flowbar against its targets and writes a chart of the
// ratios.
//
// Usage, from the benchmarks directory:
//
//	go run ./cmd/compare [-quick] [-samples n] [-mintime d] [-chart results.png]
//	                     [-families Tiny,Chain] [-impls flowbar,conc_iter]
//
// -quick takes about a minute (6 samples of one run each); the default takes
// several minutes (15 samples, runs shorter than 300 ms repeated).
//
// Each sample runs every implementation of a family once (or a few times for
// short runs), one after another in a rotating order, so that a burst of load
// on the machine spreads over all of them. Ratios are the median over
// samples of the implementation's time divided by the reference's time in
// the same sample.
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
	quick := flag.Bool("quick", false, "6 samples of one run each: about a minute")
	samples := flag.Int("samples", 0, "samples per implementation (default 6 with -quick, 15 otherwise; at least 6 for the targets)")
	minTime := flag.Duration("mintime", 0, "least time of one sample; short runs are repeated (default 0 with -quick, 300ms otherwise)")
	chart := flag.String("chart", "results.png", "chart of the ratios to write (.png or .svg); empty for none")
	families := flag.String("families", "", "comma-separated families to run (default all)")
	impls := flag.String("impls", "", "comma-separated implementations to run besides each family's reference (default all)")
	flag.Parse()

	cfg := config{samples: 15, minTime: 300 * time.Millisecond}
	if *quick {
		cfg = config{samples: 6}
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
	}

	fmt.Fprintf(os.Stderr, "compare: %s, %s, GOMAXPROCS %d, %d samples\n", cpuModel(), runtime.Version(), runtime.GOMAXPROCS(0), cfg.samples)
	var results []result
	for _, f := range workloads.Families(workloads.WithProgress) {
		if want != nil && !slices.Contains(want, f.Name) {
			continue
		}
		if *impls != "" {
			keep := strings.Split(*impls, ",")
			f.Impls = slices.DeleteFunc(f.Impls, func(impl string) bool {
				return impl != f.Reference && !slices.Contains(keep, impl)
			})
		}
		r, err := cfg.run(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "compare:", err)
			os.Exit(1)
		}
		results = append(results, r)
	}
	report(os.Stdout, cfg, results)
	if *chart != "" && len(results) > 0 {
		if err := writeChart(*chart, results); err != nil {
			fmt.Fprintln(os.Stderr, "compare:", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "compare: chart written to %s\n", *chart)
	}
}

type config struct {
	samples int
	minTime time.Duration
}

// result is what one family measured.
type result struct {
	f       workloads.Family
	samples map[string][]workloads.Sample // per implementation, in sample order
}

// run measures every implementation of f: a checked warm-up run each, then
// cfg.samples rounds in rotating order.
func (cfg config) run(f workloads.Family) (result, error) {
	start := time.Now()
	fmt.Fprintf(os.Stderr, "compare: %s: preparing\n", f.Name)
	run := f.New()
	reps := map[string]int{}
	for _, impl := range f.Impls {
		t0 := time.Now()
		check := run(impl)
		el := time.Since(t0)
		if err := check(); err != nil {
			return result{}, fmt.Errorf("%s/%s computed a wrong result: %w", f.Name, impl, err)
		}
		reps[impl] = max(1, int(cfg.minTime/max(el, time.Microsecond)))
	}
	r := result{f: f, samples: map[string][]workloads.Sample{}}
	n := len(f.Impls)
	for s := range cfg.samples {
		for k := range n {
			impl := f.Impls[(s+k)%n]
			r.samples[impl] = append(r.samples[impl], workloads.Measure(run, impl, f.Items, reps[impl]))
		}
		fmt.Fprintf(os.Stderr, "\rcompare: %s: sample %d/%d", f.Name, s+1, cfg.samples)
	}
	fmt.Fprintf(os.Stderr, " (%.0fs)\n", time.Since(start).Seconds())
	return r, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ns returns the median ns/item of impl.
func (r result) ns(impl string) float64 {
	return median(r.values(impl, func(s workloads.Sample) float64 { return s.NsPerItem }))
}

func (r result) allocs(impl string) float64 {
	return median(r.values(impl, func(s workloads.Sample) float64 { return s.AllocsPerItem }))
}

func (r result) values(impl string, get func(workloads.Sample) float64) []float64 {
	var out []float64
	for _, s := range r.samples[impl] {
		out = append(out, get(s))
	}
	return out
}

// ratio is the median over samples of impl's time divided by the
// reference's time in the same sample.
func (r result) ratio(impl string) float64 {
	ref := r.samples[r.f.Reference]
	var out []float64
	for i, s := range r.samples[impl] {
		out = append(out, s.NsPerItem/ref[i].NsPerItem)
	}
	return median(out)
}

// xIdeal is the median of wall time ÷ ideal time.
func (r result) xIdeal(impl string) float64 {
	return median(r.values(impl, func(s workloads.Sample) float64 {
		return float64(s.Wall) / float64(r.f.Ideal)
	}))
}

// mbps is the median throughput in MB/s (10^6 bytes per second).
func (r result) mbps(impl string) float64 {
	return median(r.values(impl, func(s workloads.Sample) float64 {
		return float64(r.f.Bytes) / s.Wall.Seconds() / 1e6
	}))
}

func report(w io.Writer, cfg config, results []result) {
	fmt.Fprintf(w, "CPU: %s, %d cores used (GOMAXPROCS), %s, %d samples per implementation, %s\n\n",
		cpuModel(), runtime.GOMAXPROCS(0), runtime.Version(), cfg.samples, time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintln(w, "| family | impl | ns/item | ratio to ref | allocs/item | other |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|---|")
	for _, r := range results {
		for _, impl := range r.f.Impls {
			other := ""
			switch {
			case r.f.Ideal > 0:
				other = fmt.Sprintf("x-ideal %.3f", r.xIdeal(impl))
			case r.f.Bytes > 0:
				other = fmt.Sprintf("%.0f MB/s", r.mbps(impl))
			}
			ref := ""
			if impl == r.f.Reference {
				ref = " (ref)"
			}
			fmt.Fprintf(w, "| %s | %s%s | %.1f | %.3f | %.4f | %s |\n", r.f.Name, impl, ref, r.ns(impl), r.ratio(impl), r.allocs(impl), other)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | measured | wanted | met |")
	fmt.Fprintln(w, "|---|--:|--:|---|")
	for _, t := range targets(results) {
		met := "yes"
		if !t.met() {
			met = "**no**"
		}
		fmt.Fprintf(w, "| %s | %.3f | %s %.3g | %s |\n", t.name, t.value, t.op, t.bound, met)
	}
	var loops []result
	for _, r := range results {
		if slices.Contains(r.f.Impls, workloads.Loop) && slices.Contains(r.f.Impls, workloads.Flowbar) {
			loops = append(loops, r)
		}
	}
	if len(loops) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Storing into the map is nearly all the work of these families; `loop`, one goroutine storing each result in turn, shows how far below chan an implementation that returns one map can expect to get:")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| family | loop ÷ chan | flowbar ÷ loop |")
		fmt.Fprintln(w, "|---|--:|--:|")
		for _, r := range loops {
			fmt.Fprintf(w, "| %s | %.3f | %.3f |\n", r.f.Name, r.ratio(workloads.Loop), r.pair(workloads.Flowbar, workloads.Loop))
		}
	}
}

// pair is the median over samples of a's time divided by b's time in the
// same sample.
func (r result) pair(a, b string) float64 {
	var out []float64
	for i, s := range r.samples[a] {
		out = append(out, s.NsPerItem/r.samples[b][i].NsPerItem)
	}
	return median(out)
}

type target struct {
	name  string
	value float64
	op    string // "<=" or ">="
	bound float64
}

func (t target) met() bool {
	if t.op == ">=" {
		return t.value >= t.bound
	}
	return t.value <= t.bound
}

// targets lists flowbar's targets for the families that were run.
func targets(results []result) []target {
	var ts []target
	for _, r := range results {
		fb := workloads.Flowbar
		switch r.f.Name {
		case "Tiny":
			ts = append(ts,
				target{"Tiny: flowbar ÷ chan (ns/item)", r.ratio(fb), "<=", 0.35},
				target{"Tiny: flowbar allocs/item", r.allocs(fb), "<=", 0.02})
		case "Chain":
			ts = append(ts,
				target{"Chain: flowbar ÷ chan (ns/item)", r.ratio(fb), "<=", 0.40},
				target{"Chain: flowbar allocs/item", r.allocs(fb), "<=", 0.02})
		case "IO":
			floor := r.xIdeal(workloads.Floor)
			ts = append(ts, target{fmt.Sprintf("IO: flowbar x-ideal ÷ floor's (%.3f)", floor), r.xIdeal(fb) / floor, "<=", 1.03})
		case "CPU":
			ts = append(ts, target{"CPU: flowbar MB/s ÷ chan's", r.mbps(fb) / r.mbps(workloads.Chan), ">=", 0.95})
		case "Progress":
			ts = append(ts, target{"Progress: on ÷ off (ns/item)", r.ratio(workloads.ProgressOn), "<=", 1.05})
		}
	}
	return ts
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
