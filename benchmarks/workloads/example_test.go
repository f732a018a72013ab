package workloads_test

import (
	"fmt"

	"github.com/flowbar/flowbar/benchmarks/workloads"
)

// Every implementation computes the same map; only the cost differs.
func ExampleMapInto() {
	xs := workloads.Ints(5)
	for _, impl := range workloads.Peers() {
		m := workloads.MapInto(impl, xs, 2, func(x int) int { return x * x })
		fmt.Println(impl, m[4], len(m))
	}
	// Output:
	// chan 16 5
	// chanbatch 16 5
	// errgroup 16 5
	// conc_pool 16 5
	// conc_stream 16 5
	// conc_iter 16 5
	// flowbar 16 5
}
