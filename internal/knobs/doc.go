// Package knobs switches flowbar's performance heuristics off, so that the
// benchmarks can show what each one gains. The switches are read from the
// environment variable FLOWBAR_KNOBS, a comma-separated list of the
// heuristics to switch off, when a pipeline is created (package
// pipeline/engine) and when a sink starts (package sink). With the
// variable unset every heuristic is on; programs have no reason to set it.
//
//	sizing    chunks sized from the measured cost of items; off: every
//	          hand-off moves the pipeline's chunk size (or what is ready)
//	early     results that have waited for a full chunk while the next
//	          stage idles are handed on at once; off: only full chunks and
//	          the chunk held when the producer waits for input are handed on
//	direct    a sink that only stores results is fed by the last stage's
//	          workers; off: the sink's goroutine receives every chunk
//	share     items not yet started in a chunk whose items turned slow are
//	          handed back for idle workers to take; off: a worker keeps every
//	          item it took
//	presize   a sink that knows only an upper bound on its results (filters
//	          after a slice) is sized when the first results arrive, to the
//	          bound times the share of items the stages before it handed on;
//	          off: to the bound, before the run starts
//	lookahead a map sink storing into a map too large for the caches, keyed
//	          by values that hold no pointer, looks up the keys of a few
//	          results before it stores them, so that their waits for memory
//	          overlap; off: each result is stored in turn
package knobs
