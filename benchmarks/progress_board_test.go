package benchmarks

import (
	"io"
	"testing"

	"github.com/flowbar/flowbar/benchmarks/workloads"
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/progress"
)

// BenchmarkProgressBoard is the Progress family (Tiny with progress off
// and on, compared in the same run) with the real progress board: live
// mpb bars, drawn to io.Discard as if it were a terminal.
func BenchmarkProgressBoard(b *testing.B) {
	bench(b, workloads.Progress(func() pipeline.Option {
		return progress.Bars(progress.WithOutput(io.Discard), progress.WithTerminal(true))
	}))
}

// BenchmarkProgressLines is the same with the board's plain-line mode
// (output that is not a terminal).
func BenchmarkProgressLines(b *testing.B) {
	bench(b, workloads.Progress(func() pipeline.Option {
		return progress.Bars(progress.WithOutput(io.Discard), progress.WithTerminal(false))
	}))
}
