package benchmarks

import (
	"testing"

	"github.com/flowbar/flowbar/benchmarks/workloads"
)

func BenchmarkFlatMap(b *testing.B)  { bench(b, workloads.FlatMap()) }
func BenchmarkBatch(b *testing.B)    { bench(b, workloads.Batch()) }
func BenchmarkMerge(b *testing.B)    { bench(b, workloads.Merge()) }
func BenchmarkMapBatch(b *testing.B) { bench(b, workloads.MapBatch()) }
