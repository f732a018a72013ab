package workloads

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/flowbar/flowbar/pipeline"
)

// Sampler is a [pipeline.Observer] that does what a progress board does
// without drawing anything a terminal would show: a goroutine that, every
// interval, reads each stage's counts, total and description and formats a
// line per stage to w. It stands for progress when measuring what watching a
// run costs. A Sampler watches one run at a time.
type Sampler struct {
	w        io.Writer
	interval time.Duration
	stop     chan struct{}
	wg       sync.WaitGroup
}

// NewSampler returns a Sampler writing to w every interval. It panics if
// interval is not positive.
func NewSampler(w io.Writer, interval time.Duration) *Sampler {
	if interval <= 0 {
		panic("workloads: NewSampler: interval must be positive")
	}
	return &Sampler{w: w, interval: interval}
}

// Start starts the sampling goroutine.
func (s *Sampler) Start(stages []*pipeline.Stage) {
	s.stop = make(chan struct{})
	s.wg.Go(func() {
		t := time.NewTicker(s.interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				s.sample(stages)
			case <-s.stop:
				s.sample(stages)
				return
			}
		}
	})
}

func (s *Sampler) sample(stages []*pipeline.Stage) {
	for _, st := range stages {
		c := st.Counts()
		total, _ := st.Total()
		fmt.Fprintf(s.w, "%s %d/%d %s\n", st.Name(), c.Done(), total, st.Description())
	}
}

// Stop ends the sampling goroutine after a last sample.
func (s *Sampler) Stop(error) {
	close(s.stop)
	s.wg.Wait()
}
