package stage

import (
	"fmt"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
)

// Tee returns n streams that each carry every item of in, and every
// failure record under continue-on-error: a fan-out to n branches, each
// running to its own stages and its own sink (rill's Tee, Python's
// itertools.tee). The branches are run together by one call: give each
// branch's sink to sink.Later and call sink.Run.
//
// One goroutine reads in and hands each chunk to every branch in turn, so
// each branch sees the items in the order they reached the tee. It blocks
// while any branch is full: the slowest branch sets the pace, and what
// waits for a branch is bounded like any edge between stages (memory does
// not grow with the input however slow a branch is). Values are not
// copied: a value that is a pointer, a slice or a map is shared by the
// branches, which must then not modify it.
//
// The tee shows as one stage per branch, named after the tee followed by
// "/1", "/2", ...: each counts every item that entered the tee and the
// ones it handed to its branch; the slowest branch's stage reads blocked.
// When a branch's sink stops early (First-like, ErrStop), the tee hands
// that branch nothing more and the others go on. Under fail-fast the first
// failure in any branch stops every branch. Options: WithName. It panics
// if n is less than 1 or in is nil or already consumed.
func Tee[S, T any](in *pipeline.Stream[S, T], n int, opts ...Option) []*pipeline.Stream[S, T] {
	if n < 1 {
		panic(fmt.Sprintf("stage: Tee: %d branches; a tee needs at least 1", n))
	}
	c := newConfig("Tee", optName, opts)
	return engine.Tee(in, c.name, n)
}
