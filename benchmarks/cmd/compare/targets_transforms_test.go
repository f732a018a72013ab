package main

import (
	"testing"
	"time"

	"github.com/flowbar/flowbar/benchmarks/workloads"
)

// The transform families are held to 1.2 times the hand-written reference,
// every flowbar implementation of them.
func TestTransformTargets(t *testing.T) {
	sample := func(ns float64) workloads.Sample { return workloads.Sample{NsPerItem: ns, Wall: time.Duration(ns)} }
	rs := []result{
		{f: workloads.Family{Name: "FlatMap", Reference: workloads.Chan, Impls: []string{workloads.Chan, workloads.Flowbar, workloads.FlowbarEmit}},
			s: samples{workloads.Chan: {sample(100)}, workloads.Flowbar: {sample(119)}, workloads.FlowbarEmit: {sample(121)}}},
		{f: workloads.Family{Name: "MapBatch", Reference: workloads.Chan, Impls: []string{workloads.Chan, workloads.Flowbar}},
			s: samples{workloads.Chan: {sample(100)}, workloads.Flowbar: {sample(80)}}},
	}
	got := map[string]target{}
	for _, tg := range targets(rs) {
		got[tg.name] = tg
	}
	for name, met := range map[string]bool{
		"FlatMap: flowbar ÷ chan (ns/item)":      true,
		"FlatMap: flowbar-emit ÷ chan (ns/item)": false,
		"MapBatch: flowbar ÷ chan (ns/item)":     true,
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
	if len(got) != 3 {
		t.Errorf("targets %v, want 3", got)
	}
}
