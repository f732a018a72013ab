package engine

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// knobs switch performance heuristics off, so that the benchmarks can show
// what each one gains. They are read from the environment variable
// FLOWBAR_KNOBS when a pipeline is created: a comma-separated list of the
// heuristics to switch off. The default, with the variable unset, is every
// heuristic on; programs have no reason to set it.
//
//	sizing  chunks sized from the measured cost of items; off: every hand-off
//	        moves the pipeline's chunk size (or what is ready)
//	early   results that have waited for a full chunk while the next stage
//	        idles are handed on at once; off: only full chunks and the chunk
//	        held when the producer waits for input are handed on
//	direct  a sink that only stores results is fed by the last stage's
//	        workers; off: the sink's goroutine receives every chunk
//	share   items not yet started in a chunk whose items turned slow are
//	        handed back for idle workers to take; off: a worker keeps every
//	        item it took
//	presize a sink that knows only an upper bound on its results (filters
//	        after a slice) is sized when the first results arrive, to the
//	        bound times the share of items the stages before it handed on;
//	        off: to the bound, before the run starts
type knobs struct {
	noSizing, noEarly, noDirect, noShare, noPresize bool
}

var knobNames = []string{"sizing", "early", "direct", "share", "presize"}

func readKnobs() knobs {
	var k knobs
	v := os.Getenv("FLOWBAR_KNOBS")
	if v == "" {
		return k
	}
	for _, name := range strings.Split(v, ",") {
		switch strings.TrimSpace(name) {
		case "":
		case "sizing":
			k.noSizing = true
		case "early":
			k.noEarly = true
		case "direct":
			k.noDirect = true
		case "share":
			k.noShare = true
		case "presize":
			k.noPresize = true
		default:
			panic(fmt.Sprintf("pipeline: FLOWBAR_KNOBS: unknown heuristic %q (known: %s)", name, strings.Join(slices.Clone(knobNames), ", ")))
		}
	}
	return k
}
