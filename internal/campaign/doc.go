// Package campaign holds flowbar's reliability tests and nothing else: a
// randomized fault campaign that generates pipelines (one source or a merge
// of several, chains of maps, filters, callbacks, flat-maps that expand
// items, batches with maps over whole batches and their unbatch, sinks),
// injects faults per item or per batch (errors, panics, delays,
// cancellation, consumers that stop early or go slowly) and checks every run
// against a sequential model of the same pipeline and against the promises
// of the design: conservation of items in the per-stage meters (each item
// that enters a stage ends exactly once, in pipeline items, however many
// outputs a flat-map makes of it), the error policies, prompt return and no
// goroutine left behind. The stages drawn include the flat-maps, MapBatch,
// MapByKey, FilterErr, MapWith and maps with retries, timeouts and rate
// limits; TestFanoutCampaign generates graphs with a tee and several sinks
// run by sink.Run, and the TestSources* campaigns feed generated directory
// trees, texts and CSV files (with failing, short and stalling readers)
// through stage.Walk, stage.Lines and stage.CSV. It also holds the misuse
// table (every documented build-time panic), the cancellation latency test
// and the bounded-memory test.
//
// # Running
//
//	go test ./internal/campaign                       # a few hundred generated cases
//	FLOWBAR_SOAK=10000 go test ./internal/campaign    # a soak run of 10,000 cases
//	FLOWBAR_LONG=1 go test ./internal/campaign        # also the 10,000,000-item memory test
//
// A failing case prints the rapid seed that reproduces it.
package campaign
