// Package stage provides the sources and transforms of a flowbar pipeline.
//
// Sources start a pipeline: [FromSlice], [FromChan], [FromSeq] and
// [Generate]; [FromSeq2], [FromMap] and [FromMapSorted] emit pairs, each key
// as the item's pipeline input; [Walk] emits the files of a directory tree
// weighed by their sizes; [Lines], [FileLines], [CSV], [CSVReader] and
// [FileCSV] read text and CSV records, weighed by the bytes read, and fail a
// malformed record or an unreadable file as an item named by its line or
// path. Transforms take a stream and return a new one: [Map] and
// [OrderedMap] run a function on every item with a fixed number of workers,
// [Filter] and [OrderedFilter] keep some items, [OnDone] calls a function
// with every item's input and outcome, [FlatMap] turns an item into zero or
// more, [Batch] groups items into slices and [Unbatch] splits them again,
// each item with its own input, and [Merge] joins several streams. [Tee]
// hands every item to several branches, each run to its own sink, and
// [MapByKey] sends the items of each key to one worker, in input order.
// [FlatMapEmit] and [FlatMapSeq] stream a large expansion, [MapBatch] calls
// its function on batches while each output keeps its own input,
// [FilterErr] is a filter whose predicate may fail, and [MapWith] gives each
// worker a value of its own (a connection, a hasher); the options
// [WithRetry], [WithBackoff], [WithTimeout] and [WithRate] wrap each call of
// a map's or a filter's function. Each is an operator of package
// pipeline/engine in a file of its own; a stage of your own is written the
// same way.
//
// A stage is named after its function when the function is a named one
// (stage.Map(files, hash) is "hash"); [WithName] names it otherwise, and a
// stage with neither is named after its kind and place ("map1").
//
// # Workers and blocking
//
// Each transform runs its function on a fixed number of long-lived
// goroutines (option [WithWorkers], default GOMAXPROCS): never one goroutine
// per item. A worker blocks while the next stage is full, so a slow stage
// slows the stages before it instead of letting memory grow. Items that
// turn slow inside a chunk a worker took are shared with the stage's idle
// workers, whatever feeds the stage. Go has no GIL: the
// same worker count serves CPU-bound work (about the number of cores) and
// I/O-bound work (as many as the remote side allows).
//
// # Ordering
//
// [Map] and [Filter] hand results on in completion order, like Python's
// as_completed, so one slow item never holds back the fast ones. [OrderedMap]
// and [OrderedFilter] keep the input order with a bounded reorder window
// (option [WithWindow]). [Batch] keeps the order in which items arrive;
// [Merge] keeps each input's own order; [Tee] hands each branch the items
// in the order they reached it; [MapByKey] keeps the order of each key's
// items, as they reached it, through its function and on its output.
//
// # Several branches, several sinks
//
// [Tee] returns one stream per branch. Each branch runs to its own sink,
// and one call runs them all: give each sink to sink.Later (or
// sink.LaterFunc), then call sink.Run, which returns when every sink has
// returned and every goroutine has exited, each sink's result in the
// sink.Pending that Later returned. The tee blocks while any branch is
// full, so the slowest branch sets the pace and memory stays bounded.
// Under fail-fast the first failure in any branch stops every branch; a
// branch whose sink stops early stops alone.
//
// # Streaming expansions and batches
//
// [FlatMapEmit] and [FlatMapSeq] are [FlatMap] for expansions too large for
// a slice: outputs go on while the function runs, at the pace of the next
// stage. [MapBatch] calls its function on batches of items (a bulk request)
// while items stay items: each output keeps its own input, and a failed
// batch fails each of its items.
//
// # Errors and panics
//
// A function's error or panic fails its item; what happens next is the
// pipeline's error policy (see package pipeline): fail-fast cancels the run,
// continue-on-error passes the failure on to the sink. The functions receive
// the run's context and should return when it is cancelled.
//
// # Per-worker values, fallible filters, retries, rate limits and timeouts
//
// [MapWith] and [OrderedMapWith] give each worker a value of its own (a
// connection, a hasher), made once by a setup function and closed when the
// stage ends; [FilterErr] and [OrderedFilterErr] filter with a predicate
// that takes the context and may fail. These and [Map] and [OrderedMap]
// take options that wrap each call of their function: [WithRetry] (with
// [WithBackoff]), [WithRate] and [WithTimeout]. They are options rather
// than stages because they change how a call is made, not which items
// flow: a retried item still ends once, on the stage's own bar, which shows
// "N retried". For each item, each attempt first waits for a token of the
// rate limit, then calls the function with the timeout's deadline; an
// attempt that fails with a retryable error, while attempts remain, counts
// a retry and waits the backoff. So the timeout is per attempt, every
// attempt takes a token, and the backoff takes none. Every wait ends at
// once when the run is cancelled, the item then counted as cancelled.
//
// # Options and misuse
//
// Options are checked when the stage is built. A nil function, a worker count
// or window below 1, an option the stage does not take (WithWorkers on a
// source, WithWindow on an unordered map), or a stream given to a second
// consumer panics at once with a message that starts with "stage:" or
// "pipeline:", never in the middle of a run. Weights and descriptions are set
// with the Weigh and Describe methods of a stage's output stream, whose
// function types are checked by the compiler.
package stage
