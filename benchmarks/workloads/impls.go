package workloads

import "strings"

// The implementation names used in benchmark names (impl=<name>) and in the
// compare command's table.
const (
	// Chan is the reference: a buffered input channel fed by one goroutine,
	// N worker goroutines, an output channel and one collector.
	Chan = "chan"
	// ChanBatch is Chan sending slices of [BatchSize] items instead of
	// single items.
	ChanBatch = "chanbatch"
	// Errgroup is golang.org/x/sync/errgroup with SetLimit, one Go per item,
	// results in a mutex-guarded map.
	Errgroup = "errgroup"
	// ConcPool is conc's pool.Pool with WithMaxGoroutines, one Go per item,
	// results in a mutex-guarded map.
	ConcPool = "conc_pool"
	// ConcStream is conc's stream.Stream with WithMaxGoroutines; its
	// callbacks, run serially, fill the map.
	ConcStream = "conc_stream"
	// ConcIter is conc's iter.Mapper over the input slice, then the map
	// filled from the result slice.
	ConcIter = "conc_iter"
	// Flowbar is a flowbar pipeline: slice source, map stage(s), ByInput
	// sink.
	Flowbar = "flowbar"
	// FlowbarSlice, FlowbarGenerate, FlowbarFromChan and FlowbarMapStage
	// are, for the Skew family, flowbar pipelines that feed the slow map
	// stage from a slice (FromSlice), from a generator (Generate), from a
	// channel filled by another goroutine (FromChan) and from an earlier
	// map stage that does nothing (FromSlice, then an instant Map).
	FlowbarSlice    = "flowbar-slice"
	FlowbarGenerate = "flowbar-generate"
	FlowbarFromChan = "flowbar-fromchan"
	FlowbarMapStage = "flowbar-mapstage"
	// Loop is, for the Tiny, Chain and LongChain families, a plain loop on one
	// goroutine that computes each result and stores it in a map sized for
	// the results (for Chain, half its input: what its filter keeps).
	// Where storing into the map is nearly all the work (a cache miss per
	// insert into a map larger than the caches), it shows how fast an
	// implementation that returns one map can expect to be.
	Loop = "loop"
	// Split is, for the same families, the best a pipeline can hope for
	// on two goroutines: one computes every result (all the steps of a
	// chain) into chunks of SplitChunk, the other stores them into a map
	// sized for the results, as Loop's is, the chunks going back for
	// reuse. It is a reference for what handing results from one core to
	// another costs, not an implementation a Go engineer would write.
	Split = "split"
	// Chunked is, for the same families, Loop with its results staged
	// through a chunk of SplitChunk on the one goroutine: each chunk is
	// filled with results, then stored into the map sized as Loop's is. It
	// has no goroutine and no hand-off; what it takes over Loop is what any
	// design that moves results in chunks pays before concurrency costs
	// anything.
	Chunked = "chunked"
	// Lookahead is, for the same families, Chunked storing as flowbar's
	// map sink does into a map too large for the caches: the results go in
	// a run of LookaheadRun at a time, each run's keys looked up first, so
	// that the lookups' waits for memory overlap and the stores find what
	// they write cached. It shows how fast a map can be filled when storing
	// is nearly all the work.
	Lookahead = "lookahead"
	// Floor is, for the IO family, the bare sleeps with 64 workers and
	// nothing collected: the best any implementation can do.
	Floor = "floor"
	// ProgressOff and ProgressOn are the Progress family's two flowbar
	// runs, without and with a progress observer.
	ProgressOff = "off"
	ProgressOn  = "on"
)

// SplitChunk is the number of results in each chunk of [Split] and
// [Chunked].
const SplitChunk = 4096

// LookaheadRun is the number of results [Lookahead] looks up before it
// stores them, as flowbar's map sink does.
const LookaheadRun = 8

// BatchSize is the number of items in each message of [ChanBatch].
const BatchSize = 256

// Peers lists the implementations that compute the single-stage and
// chained workloads, the reference first.
func Peers() []string {
	return []string{Chan, ChanBatch, Errgroup, ConcPool, ConcStream, ConcIter, Flowbar}
}

// References lists the implementations of the map-filling families (Tiny,
// Chain, LongChain) that are floors to compare with, not peers: [Loop],
// [Split], [Chunked] and [Lookahead].
func References() []string { return []string{Loop, Split, Chunked, Lookahead} }

// IsFlowbar reports whether impl is one of flowbar's implementations:
// [Flowbar] or one of the Skew family's feeds ([FlowbarSlice], ...).
func IsFlowbar(impl string) bool {
	return impl == Flowbar || strings.HasPrefix(impl, Flowbar+"-")
}
