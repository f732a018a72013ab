package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/flowbar/flowbar/benchmarks/workloads"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMedianCI(t *testing.T) {
	for _, tc := range []struct {
		xs          []float64
		med, lo, hi float64
	}{
		{nil, 0, 0, 0},
		{[]float64{2}, 2, 2, 2},
		{[]float64{3, 1, 2}, 2, 1, 3},
		{[]float64{6, 1, 5, 2, 4, 3}, 3.5, 1, 6},
		// 15 values: the 4th smallest to the 4th largest.
		{[]float64{15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 8, 4, 12},
	} {
		med, lo, hi := medianCI(tc.xs)
		if med != tc.med || lo != tc.lo || hi != tc.hi {
			t.Errorf("medianCI(%v) = %v [%v, %v], want %v [%v, %v]", tc.xs, med, lo, hi, tc.med, tc.lo, tc.hi)
		}
	}
}

// TestWithKnobOff checks that a knob is in the environment while a run is
// made, and that the environment is restored afterwards.
func TestWithKnobOff(t *testing.T) {
	for _, before := range []*string{nil, new("sizing,early")} {
		if before == nil {
			os.Unsetenv(knobsEnv)
		} else {
			t.Setenv(knobsEnv, *before)
		}
		for _, knob := range knobNames() {
			var during string
			var set bool
			withKnobOff(knob, func() func() error {
				during, set = os.LookupEnv(knobsEnv)
				return nil
			})()
			if knob == on && set {
				t.Errorf("knob %q: %s=%q during the run, want it unset", knob, knobsEnv, during)
			}
			if knob != on && during != knob {
				t.Errorf("knob %q: %s=%q during the run", knob, knobsEnv, during)
			}
			after, ok := os.LookupEnv(knobsEnv)
			if (before == nil) == ok || before != nil && after != *before {
				t.Errorf("knob %q: %s=%q (set %t) after the run, want it as before", knob, knobsEnv, after, ok)
			}
		}
	}
}

func TestSelectFamilies(t *testing.T) {
	all := workloads.Families(workloads.WithProgress)
	names := func(fs []workloads.Family) string {
		var s []string
		for _, f := range fs {
			s = append(s, f.Name)
		}
		return strings.Join(s, ",")
	}
	if got := names(selectFamilies(all, []string{"Skew", "Tiny"}, nil)); got != "Tiny,Skew-5ms-w2,Skew-5ms-w8,Skew-2ms-w2,Skew-2ms-w8" {
		t.Errorf("Skew,Tiny selected %s", got)
	}
	fs := selectFamilies(all, []string{"Skew-5ms-w8"}, []string{"flowbar"})
	if len(fs) != 1 || strings.Join(fs[0].Impls, ",") != "chan,flowbar-slice,flowbar-generate,flowbar-fromchan,flowbar-mapstage" {
		t.Errorf("-impls flowbar kept %v", fs)
	}
	fs = selectFamilies(all, []string{"Progress", "Tiny"}, []string{"loop"})
	if names(fs) != "Tiny" || strings.Join(fs[0].Impls, ",") != "chan,loop" {
		t.Errorf("-impls loop kept %s: %v", names(fs), fs)
	}
}

// tinyFamily is a family that takes no time, with a calibrated ideal.
func tinyFamily() workloads.Family {
	return workloads.Family{
		Name: "Small", Impls: []string{workloads.Chan, workloads.Flowbar}, Reference: workloads.Chan, Items: 100,
		Calibrate: func() time.Duration { return time.Millisecond },
		New: func() func(string) func() error {
			xs := workloads.Ints(100)
			return func(impl string) func() error {
				workloads.MapInto(impl, xs, 2, func(x int) int { return x })
				return func() error { return nil }
			}
		},
	}
}

// TestReport measures a small family, in both modes, and checks that the
// tables and the chart come out.
func TestReport(t *testing.T) {
	cfg := config{samples: 3, log: io.Discard}
	r, err := cfg.runFamily(tinyFamily())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(r.s[workloads.Flowbar]); n != 3 {
		t.Fatalf("%d samples of flowbar, want 3", n)
	}
	var out bytes.Buffer
	report(&out, cfg, []result{r})
	if !strings.Contains(out.String(), "| Small | flowbar |") || !strings.Contains(out.String(), "x-ideal") {
		t.Errorf("report:\n%s", out.String())
	}
	for _, name := range []string{"chart.png", "chart.svg"} {
		path := filepath.Join(t.TempDir(), name)
		if got, err := writeChart(path, []result{r}); err != nil || got != path {
			t.Fatalf("writeChart(%s) = %s, %v", path, got, err)
		}
		if st, err := os.Stat(path); err != nil || st.Size() == 0 {
			t.Fatalf("chart %s: %v", path, err)
		}
	}

	kr, err := cfg.runKnobs([]workloads.Family{tinyFamily()})
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	reportKnobs(&out, cfg, kr)
	for _, k := range knobs {
		if !strings.Contains(out.String(), k.name+" off") {
			t.Errorf("knob table has no column for %s:\n%s", k.name, out.String())
		}
	}
	if !strings.Contains(out.String(), "| Small | flowbar |") {
		t.Errorf("knob table:\n%s", out.String())
	}
}

func TestTargets(t *testing.T) {
	sample := func(ns float64) workloads.Sample {
		return workloads.Sample{NsPerItem: ns, Wall: time.Duration(ns), Ideal: 100}
	}
	rs := []result{
		{f: workloads.Family{Name: "Tiny", Reference: workloads.Chan, Impls: []string{workloads.Chan, workloads.ChanBatch, workloads.Flowbar, workloads.Loop}},
			s: samples{workloads.Chan: {sample(300)}, workloads.ChanBatch: {sample(140)}, workloads.Flowbar: {sample(130)}, workloads.Loop: {sample(125)}}},
		{f: workloads.Family{Name: "Skew-5ms-w8", Reference: workloads.Chan, Impls: []string{workloads.Chan, workloads.FlowbarSlice, workloads.FlowbarGenerate}, Calibrate: func() time.Duration { return 0 }},
			s: samples{workloads.Chan: {sample(104)}, workloads.FlowbarSlice: {sample(105)}, workloads.FlowbarGenerate: {sample(150)}}},
		{f: workloads.Family{Name: "CPU", Reference: workloads.Chan, Impls: []string{workloads.Chan, workloads.Flowbar}, Bytes: 1},
			s: samples{workloads.Chan: {sample(100), sample(100), sample(100)}, workloads.Flowbar: {sample(102), sample(90), sample(110)}}},
	}
	got := map[string]target{}
	for _, tg := range targets(rs) {
		got[tg.name] = tg
	}
	for name, met := range map[string]bool{
		"Tiny: flowbar ÷ loop (ns/item)":                          true,
		"Tiny: flowbar ÷ the fastest other (chanbatch)":           true,
		"Skew-5ms-w8: wall ÷ ideal, every feed (worst: generate)": false,
		"CPU: flowbar MB/s ÷ chan's":                              true, // 0.98
	} {
		tg, ok := got[name]
		if !ok {
			t.Errorf("no target %q in %v", name, got)
			continue
		}
		if tg.met() != met {
			t.Errorf("%s: %.3f %s %v met %t, want %t", name, tg.value, tg.op, tg.bound, tg.met(), met)
		}
	}
}

// TestTargetInterval checks that a target carries the interval of its
// per-sample values and that the report marks a bound inside it.
func TestTargetInterval(t *testing.T) {
	sample := func(ns float64) workloads.Sample { return workloads.Sample{NsPerItem: ns} }
	var fb, loop []workloads.Sample
	// flowbar ÷ loop per sample: 1.00, 1.04, ..., 1.20; the median is
	// 1.10 and 6 samples' interval is their range.
	for i := range 6 {
		fb = append(fb, sample(100+4*float64(i)))
		loop = append(loop, sample(100))
	}
	rs := []result{{f: workloads.Family{Name: "Chain", Reference: workloads.Loop, Impls: []string{workloads.Flowbar, workloads.Loop}},
		s: samples{workloads.Flowbar: fb, workloads.Loop: loop}}}
	var tg target
	for _, x := range targets(rs) {
		if x.name == "Chain: flowbar ÷ loop (ns/item)" {
			tg = x
		}
	}
	if tg.lo != 1 || tg.hi != 1.2 || !tg.straddles() {
		t.Fatalf("target %+v: want the interval [1, 1.2] around the bound 1.1", tg)
	}
	if (target{value: 1.3, lo: 1.25, hi: 1.35, op: "<=", bound: 1.1}).straddles() {
		t.Error("an interval above the bound straddles it")
	}
	var out bytes.Buffer
	report(&out, config{samples: 6}, rs)
	if !strings.Contains(out.String(), "| [1.000, 1.200] | <= 1.1 | ") || !strings.Contains(out.String(), "(within noise)") {
		t.Errorf("report:\n%s", out.String())
	}
}
