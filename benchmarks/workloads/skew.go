package workloads

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// SkewCase is one case of the Skew family: Fast items that cost nothing,
// followed by Slow items that each sleep Cost, on a map stage with Workers
// workers. The slow items come together, after the fast ones, so that a
// runtime that hands out work in chunks sized while the items were cheap
// gives them all to one worker unless it shares them.
type SkewCase struct {
	Fast, Slow int
	Cost       time.Duration
	Workers    int
}

// Name is the case's family name, such as "Skew-5ms-w8".
func (c SkewCase) Name() string {
	return fmt.Sprintf("Skew-%v-w%d", c.Cost, c.Workers)
}

// Items is the number of items of one run.
func (c SkewCase) Items() int { return c.Fast + c.Slow }

// work is the case's item function: x itself, after sleeping Cost if x is
// one of the slow items.
func (c SkewCase) work(x int) int {
	if x >= c.Fast {
		time.Sleep(c.Cost)
	}
	return x
}

// SkewCases lists the Skew family's cases: 9,900 instant items followed by
// 100 of 5 ms, and 1,500 instant items followed by 500 of 2 ms, each with 2
// and with 8 workers on the slow stage.
func SkewCases() []SkewCase {
	var cs []SkewCase
	for _, c := range []SkewCase{
		{Fast: 9_900, Slow: 100, Cost: 5 * time.Millisecond},
		{Fast: 1_500, Slow: 500, Cost: 2 * time.Millisecond},
	} {
		for _, w := range []int{2, 8} {
			c.Workers = w
			cs = append(cs, c)
		}
	}
	return cs
}

// SkewFeeds lists the flowbar implementations of the Skew family, one per
// way of feeding the slow stage.
func SkewFeeds() []string {
	return []string{FlowbarSlice, FlowbarGenerate, FlowbarFromChan, FlowbarMapStage}
}

// Skew returns one family per case of [SkewCases]: whether slow items that
// come together are shared by the workers, whatever feeds the stage. Its
// ideal is the slow items × the mean duration of a sleep of Cost, measured
// by Calibrate, ÷ the workers. The reference, [Chan], hands items to its
// workers one at a time through a channel: how it is fed does not change
// what it does, so it runs once per case.
func Skew() []Family {
	var fs []Family
	for _, c := range SkewCases() {
		fs = append(fs, SkewFamily(c))
	}
	return fs
}

// SkewFamily is the family of one [SkewCase].
func SkewFamily(c SkewCase) Family {
	return Family{
		Name: c.Name(), Impls: append([]string{Chan}, SkewFeeds()...), Reference: Chan, Items: c.Items(),
		Calibrate: func() time.Duration {
			return time.Duration(c.Slow) * MeanSleep(c.Cost, c.Workers) / time.Duration(c.Workers)
		},
		New: func() func(string) func() error {
			xs := Ints(c.Items())
			return func(impl string) func() error {
				m := SkewRun(impl, c)
				return func() error { return checkMap(m, xs, func(x int) int { return x }) }
			}
		},
	}
}

// MeanSleep returns the mean duration of time.Sleep(d) called by
// goroutines goroutines at once, each sleeping repeatedly for about 40 ms.
// Sleeps overshoot (by about 5% for a few milliseconds on Linux), so an
// ideal made from d itself would be out of reach.
func MeanSleep(d time.Duration, goroutines int) time.Duration {
	n := max(4, int((40*time.Millisecond+d-1)/d))
	var mu sync.Mutex
	var sum time.Duration
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			var own time.Duration
			for range n {
				t := time.Now()
				time.Sleep(d)
				own += time.Since(t)
			}
			mu.Lock()
			sum += own
			mu.Unlock()
		})
	}
	wg.Wait()
	return sum / time.Duration(n*goroutines)
}

// SkewRun runs the items of c with the given implementation and returns
// each item keyed by itself. It panics on an unknown implementation name.
func SkewRun(impl string, c SkewCase) map[int]int {
	xs := Ints(c.Items())
	if impl == Chan {
		return chanMap(xs, c.Workers, c.work)
	}
	var m map[int]int
	var err error
	slow := func(_ context.Context, x int) (int, error) { return c.work(x), nil }
	w := stage.WithWorkers(c.Workers)
	ctx := context.Background()
	p := pipeline.New()
	switch impl {
	case FlowbarSlice:
		m, err = sink.ByInput(ctx, stage.Map(stage.FromSlice(p, xs), slow, w))
	case FlowbarGenerate:
		src := stage.Generate(p, func(_ context.Context, emit func(int) bool) error {
			for _, x := range xs {
				if !emit(x) {
					break
				}
			}
			return nil
		})
		m, err = sink.ByInput(ctx, stage.Map(src, slow, w))
	case FlowbarFromChan:
		m, err = skewFromChan(p, xs, slow, w)
	case FlowbarMapStage:
		instant := func(_ context.Context, x int) (int, error) { return x, nil }
		m, err = sink.ByInput(ctx, stage.Map(stage.Map(stage.FromSlice(p, xs), instant), slow, w))
	default:
		panic(fmt.Sprintf("workloads: Skew: unknown implementation %q", impl))
	}
	if err != nil {
		panic(fmt.Sprintf("workloads: flowbar run failed: %v", err)) // nothing can fail
	}
	return m
}

// skewFromChan feeds the slow stage from a channel of [chanBuffer] values
// that a goroutine of its own fills, as a program whose items come from
// elsewhere would.
func skewFromChan(p *pipeline.Pipeline, xs []int, slow func(context.Context, int) (int, error), w stage.Option) (map[int]int, error) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan int, chanBuffer)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(ch)
		for _, x := range xs {
			select {
			case ch <- x:
			case <-ctx.Done():
				return
			}
		}
	})
	m, err := sink.ByInput(ctx, stage.Map(stage.FromChan(p, ch), slow, w))
	cancel()
	wg.Wait()
	return m, err
}
