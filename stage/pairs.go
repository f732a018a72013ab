package stage

import (
	"cmp"
	"context"
	"iter"
	"maps"
	"slices"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
)

// FromSeq2 returns a source that emits the pairs of seq, iterated by one
// goroutine of the run, in the order seq yields them: each key becomes the
// item's pipeline input and each value its value, so that stages after it
// work on the values and sinks key their results by the key
// (sink.ByInput returns map[K]Out). If seq yields a key twice, both items
// run and ByInput keeps the last to arrive. yield blocks while the next
// stage is busy; when the run is cancelled, yield returns false and the
// iteration ends. Options: WithName, WithUnit. It panics if seq is nil.
func FromSeq2[K, V any](p *pipeline.Pipeline, seq iter.Seq2[K, V], opts ...Option) *pipeline.Stream[K, V] {
	if seq == nil {
		panic("stage: FromSeq2: sequence is nil")
	}
	return engine.ItemSource(p, sourceSpec("FromSeq2", opts), func(_ context.Context, emit func(engine.Item[K, V]) bool) error {
		for k, v := range seq {
			if !emit(engine.Item[K, V]{Input: k, Value: v}) {
				break
			}
		}
		return nil
	})
}

// FromMap returns a source that emits the entries of m, each key as the
// item's pipeline input and its value as the value, so that sinks key the
// results by the map's keys. The entries are read when FromMap is called
// (changes to m after that are not seen), in Go's map order, which is
// random: use [FromMapSorted] for the keys' order. The stage's total is
// len(m), known from the start, and it starts no goroutine: the workers of
// the next stage take ranges of the entries directly. Options: WithName,
// WithUnit.
func FromMap[K comparable, V any](p *pipeline.Pipeline, m map[K]V, opts ...Option) *pipeline.Stream[K, V] {
	spec := sourceSpec("FromMap", opts)
	keys := make([]K, 0, len(m))
	values := make([]V, 0, len(m))
	for k, v := range m {
		keys = append(keys, k)
		values = append(values, v)
	}
	return engine.PairSource(p, spec, keys, values)
}

// FromMapSorted is [FromMap] with the entries emitted in ascending order
// of their keys (sorting costs O(n log n) when it is called).
func FromMapSorted[K cmp.Ordered, V any](p *pipeline.Pipeline, m map[K]V, opts ...Option) *pipeline.Stream[K, V] {
	spec := sourceSpec("FromMapSorted", opts)
	keys := slices.Sorted(maps.Keys(m))
	values := make([]V, len(keys))
	for i, k := range keys {
		values[i] = m[k]
	}
	return engine.PairSource(p, spec, keys, values)
}
