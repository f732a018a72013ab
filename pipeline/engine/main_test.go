package engine_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/flowbar/flowbar/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ints(n int) []int {
	xs := make([]int, n)
	for i := range xs {
		xs[i] = i
	}
	return xs
}

// checkBalanced fails the test if a stage's meters do not add up, or if a
// stage took in other than what its upstream handed on.
func checkBalanced(t *testing.T, p *pipeline.Pipeline) {
	t.Helper()
	for _, s := range p.Stages() {
		c := s.Counts()
		if !c.Balanced() {
			t.Errorf("stage %s: counts do not add up: %+v", s.Name(), c)
		}
		if !s.Finished() {
			t.Errorf("stage %s: not finished after the run", s.Name())
		}
		if ups := s.Upstreams(); len(ups) > 0 {
			var emitted int64
			for _, up := range ups {
				emitted += up.Counts().Emitted
			}
			if c.In != emitted {
				t.Errorf("stage %s took in %d items, its upstreams emitted %d", s.Name(), c.In, emitted)
			}
		}
	}
}

var workerCounts = []int{1, 2, 8}
