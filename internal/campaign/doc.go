// Package campaign holds flowbar's reliability tests and nothing else: a
// randomized fault campaign that generates pipelines (sources, chains of
// stages, sinks), injects faults per item (errors, panics, delays,
// cancellation, consumers that stop early or go slowly) and checks every run
// against a sequential model of the same pipeline and against the promises
// of the design: conservation of items in the per-stage meters, the error
// policies, prompt return and no goroutine left behind. It also holds the
// misuse table (every documented build-time panic), the cancellation
// latency test and the bounded-memory test.
//
// # Running
//
//	go test ./internal/campaign                       # a few hundred generated cases
//	FLOWBAR_SOAK=10000 go test ./internal/campaign    # a soak run of 10,000 cases
//	FLOWBAR_LONG=1 go test ./internal/campaign        # also the 10,000,000-item memory test
//
// A failing case prints the rapid seed that reproduces it.
package campaign
