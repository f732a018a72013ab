package engine

import (
	"context"
	"sync/atomic"
)

// declaredTotals are the totals a stage's function declared while the run
// goes on ([SetTotal], [SetWeightTotal]), each stored plus one so that the
// zero value means none.
type declaredTotals struct {
	items, weight atomic.Int64
}

// SetTotal declares, from the function of the source that received ctx,
// how many items the source emits in all (including those that fail
// there), once it knows: a directory walk that has counted the files, a
// reader of known length. Until the source finishes, [Stage.Total] then
// reports n as final, so that the stages after it know their totals before
// the source has emitted everything; once it finishes, what it emitted is
// the total, whatever was declared. It is an atomic store, safe from any
// goroutine; with a ctx that does not come from a source, or a negative n,
// it does nothing.
func SetTotal(ctx context.Context, n int64) {
	if s, ok := ctx.Value(stageKey{}).(*Stage); ok && n >= 0 && len(s.upstreams) == 0 {
		s.decl.items.Store(n + 1)
	}
}

// SetWeightTotal declares, from the function of the stage that received
// ctx, the weight the stage will have counted once it is done, in its unit
// (the size of the file a source reads, the bytes of the files a walk
// found): [Stage.WeightTotal] reports it, and progress bars show it as the
// total of the stage and of the stages after it that count the same unit.
// It is an atomic store, safe from any goroutine; with a ctx that does not
// come from a stage, or a negative n, it does nothing.
func SetWeightTotal(ctx context.Context, n int64) {
	if s, ok := ctx.Value(stageKey{}).(*Stage); ok && n >= 0 {
		s.decl.weight.Store(n + 1)
	}
}

// WeightTotal returns the weight total declared with [SetWeightTotal] and
// true, or 0 and false when none was. It is what the stage's weight will be
// once done, as its function knew it; the weight it counted is in
// [Stage.Counts].
func (s *Stage) WeightTotal() (int64, bool) { return declared(&s.decl.weight) }

// declared returns the total stored plus one in v, and whether one was.
func declared(v *atomic.Int64) (int64, bool) {
	n := v.Load()
	return max(n-1, 0), n > 0
}
