package meterstest

import (
	"testing"

	"github.com/flowbar/flowbar/pipeline"
)

// Check fails the test unless, for every stage, In == Out + Failed +
// Dropped + Cancelled, In is what its upstreams emitted, and what it emitted
// is what it handed on (more only for a flat-map that expands items).
func Check(t testing.TB, p *pipeline.Pipeline) {
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
		if c.Emitted < c.Out || c.Emitted > c.Out && s.Kind() != "flatmap" {
			t.Errorf("stage %s handed on %d items in outputs holding %d", s.Name(), c.Out, c.Emitted)
		}
	}
}
