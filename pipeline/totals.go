package pipeline

import (
	"context"

	"github.com/flowbar/flowbar/pipeline/engine"
)

// SetTotal declares, from the function of a source that received ctx (the
// function given to stage.Generate), how many items the source will emit,
// once it knows (tqdm's total=, learnt at run time): progress bars then show a
// percentage and a time left for the source and the stages after it
// before it has emitted everything. Once the source finishes, what it
// emitted is its total. It is one atomic store; with a ctx that does not
// come from a source, or a negative n, it does nothing.
func SetTotal(ctx context.Context, n int64) { engine.SetTotal(ctx, n) }

// SetWeightTotal declares, from the function of the stage that received
// ctx, the weight the stage will have counted once done, in its unit (the
// size of a file a source reads): progress bars show it as the total of
// the stage and of the stages after it that count the same unit. It is one
// atomic store; with a ctx that does not come from a stage, or a negative
// n, it does nothing.
func SetWeightTotal(ctx context.Context, n int64) { engine.SetWeightTotal(ctx, n) }
