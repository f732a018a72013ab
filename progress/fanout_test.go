package progress_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/progress"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// A graph with a tee and two sinks, run by sink.Run: the board has every
// stage (each branch of the tee, both sinks), its summaries are the meters,
// and a branch that stopped early ends "stopped" while the other ends
// "done".
func TestBoardShowsEveryBranch(t *testing.T) {
	for _, terminal := range []bool{false, true} {
		var out bytes.Buffer
		board := progress.New(progress.WithOutput(&out), progress.WithTerminal(terminal), progress.WithAllStages(), progress.WithWidth(120))
		p := pipeline.New(pipeline.WithObserver(board))
		xs := make([]int, 2000)
		b := stage.Tee(stage.FromSlice(p, xs), 2, stage.WithName("tee"))
		double := stage.Map(b[0], func(_ context.Context, x int) (int, error) { return 2 * x, nil }, stage.WithName("double"))
		all := sink.Later(double, sink.Slice, sink.WithName("all"))
		n := 0
		sink.LaterFunc(b[1], func(ctx context.Context, s *pipeline.Stream[int, int]) (int, error) {
			return n, sink.ForEach(ctx, s, func(int, int) error {
				if n++; n == 10 {
					return pipeline.ErrStop
				}
				return nil
			}, sink.WithName("ten"))
		})
		if err := sink.Run(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		if len(all.Value()) != 2000 {
			t.Fatalf("%d results", len(all.Value()))
		}
		if testing.Verbose() {
			t.Logf("terminal=%v:\n%s", terminal, out.String())
		}
		sum := board.Summary()
		stages := p.Stages()
		if len(sum) != len(stages) || len(sum) != 6 {
			t.Fatalf("%d summaries for %d stages, want 6", len(sum), len(stages))
		}
		status := map[string]progress.Status{}
		for i, s := range sum {
			if s.Name != stages[i].Name() || s.Counts != stages[i].Counts() {
				t.Errorf("summary %d: %s %+v; meters %s %+v", i, s.Name, s.Counts, stages[i].Name(), stages[i].Counts())
			}
			status[s.Name] = s.Status
		}
		for name, want := range map[string]progress.Status{"tee/1": progress.Done, "double": progress.Done, "all": progress.Done, "ten": progress.Stopped} {
			if status[name] != want {
				t.Errorf("terminal=%v: stage %s ended %v, want %v (all: %v)", terminal, name, status[name], want, status)
			}
		}
		for _, name := range []string{"tee/1", "tee/2", "double", "all", "ten"} {
			if !strings.Contains(out.String(), name) {
				t.Errorf("terminal=%v: the board's output does not show %s:\n%s", terminal, name, out.String())
			}
		}
	}
}
