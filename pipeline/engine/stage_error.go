package engine

import "fmt"

// FailStage records an error of the stage that belongs to no item, such as
// a worker's resource that failed to close once its input had ended. It is
// reported like a source's own error: under fail-fast it cancels the run
// (unless the run has already stopped, when it is a consequence and is
// dropped); under continue-on-error the sink returns it joined with the
// item errors. The message names the stage. It does not block. A nil err
// does nothing.
func (w *Worker[SI, I, SO, O]) FailStage(err error) {
	if err == nil {
		return
	}
	w.r.runError(fmt.Errorf("pipeline: stage %q: %w", w.st.name, err))
}
