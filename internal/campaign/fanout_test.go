package campaign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"pgregory.net/rapid"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/progress"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// fanSpec is one generated graph with a tee: a source, an optional stage
// before the tee (a map or a keyed map), then branches, each with an
// optional stage and its own sink, run by sink.Run, with errors, panics
// and slow calls injected, either error policy, cancellations and sinks
// that stop early.
type fanSpec struct {
	n, chunk       int
	source         string
	cont           bool
	pre            fanStage
	branches       []fanBranch
	errPM, panicPM int
	slowPM         int
	cancelAt       int // cancel the caller's context at this call; 0 never
	progress       int // 0: no board; 1: plain lines; 2: live bars
	seed           uint64
}

type fanStage struct {
	kind    string // "", "map", "keyed"
	workers int
}

type fanBranch struct {
	st        fanStage
	sink      string // "byinput", "count", "foreach", "all"
	stopAfter int    // foreach/all: stop after this many results; 0 never
}

func genFanStage(t *rapid.T, label string) fanStage {
	return fanStage{kind: rapid.SampledFrom([]string{"", "map", "keyed"}).Draw(t, label), workers: rapid.IntRange(1, 8).Draw(t, label+"Workers")}
}

func genFanSpec(t *rapid.T) *fanSpec {
	c := &fanSpec{
		n:       rapid.IntRange(0, 400).Draw(t, "n"),
		chunk:   rapid.SampledFrom([]int{0, 0, 1, 7, 64}).Draw(t, "chunk"),
		source:  rapid.SampledFrom([]string{"slice", "generator", "chan"}).Draw(t, "source"),
		cont:    rapid.Bool().Draw(t, "continue"),
		pre:     genFanStage(t, "pre"),
		errPM:   rapid.SampledFrom([]int{0, 0, 5, 50, 200}).Draw(t, "errPM"),
		panicPM: rapid.SampledFrom([]int{0, 0, 5, 50}).Draw(t, "panicPM"),
		slowPM:  rapid.SampledFrom([]int{0, 10, 100}).Draw(t, "slowPM"),
		seed:    rapid.Uint64().Draw(t, "seed"),
	}
	if rapid.IntRange(0, 9).Draw(t, "big") == 0 {
		c.n = rapid.IntRange(400, 5000).Draw(t, "bigN") // chunks of hundreds of items
	}
	for range rapid.IntRange(1, 3).Draw(t, "branches") {
		b := fanBranch{st: genFanStage(t, "branch"), sink: rapid.SampledFrom([]string{"byinput", "count", "foreach", "all"}).Draw(t, "sink")}
		if (b.sink == "foreach" || b.sink == "all") && rapid.IntRange(0, 2).Draw(t, "stops") == 0 {
			b.stopAfter = rapid.IntRange(1, max(1, c.n)).Draw(t, "stopAfter")
		}
		c.branches = append(c.branches, b)
	}
	c.progress = rapid.IntRange(0, 2).Draw(t, "progress")
	if rapid.IntRange(0, 3).Draw(t, "cancels") == 0 {
		c.cancelAt = rapid.IntRange(1, max(1, 2*c.n)).Draw(t, "cancelAt")
	}
	return c
}

// fault is what stage pos does with value v: 0 nothing, 1 an error, 2 a
// panic; a pure function of the case, so the model knows it.
func (c *fanSpec) fault(pos int, v int64) int {
	h := uint64(v)*0x9e3779b97f4a7c15 ^ c.seed ^ uint64(pos)*0xbf58476d1ce4e5b9
	h ^= h >> 31
	switch r := int(h % 1000); {
	case r < c.errPM:
		return 1
	case r < c.errPM+c.panicPM:
		return 2
	}
	return 0
}

func TestFanoutCampaign(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		c := genFanSpec(rt)
		rt.Logf("%+v", *c)
		runFanCase(rt, c)
	})
}

func runFanCase(t *rapid.T, c *fanSpec) {
	ignore := goleak.IgnoreCurrent()
	var opts []pipeline.Option
	if c.cont {
		opts = append(opts, pipeline.WithContinueOnError())
	}
	if c.chunk > 0 {
		opts = append(opts, pipeline.WithChunkSize(c.chunk))
	}
	var board *progress.Board
	if c.progress > 0 {
		board = progress.New(progress.WithOutput(io.Discard), progress.WithTerminal(c.progress == 2),
			progress.WithRefresh(time.Millisecond), progress.WithLineInterval(time.Millisecond))
		opts = append(opts, pipeline.WithObserver(board))
	}
	p := pipeline.New(opts...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int64
	xs := make([]int64, c.n)
	for i := range xs {
		xs[i] = int64(i)
	}
	var src *pipeline.Stream[int64, int64]
	var feeder sync.WaitGroup
	var stopFeeder chan struct{}
	switch c.source {
	case "slice":
		src = stage.FromSlice(p, xs)
	case "generator":
		src = stage.Generate(p, func(ctx context.Context, emit func(int64) bool) error {
			for _, x := range xs {
				if !emit(x) {
					return ctx.Err()
				}
			}
			return nil
		})
	case "chan":
		ch := make(chan int64)
		stopFeeder = make(chan struct{})
		feeder.Go(func() {
			defer close(ch)
			for _, x := range xs {
				select {
				case ch <- x:
				case <-stopFeeder:
					return
				}
			}
		})
		src = stage.FromChan(p, ch)
	}
	// keyOrder records, per keyed stage and key, the values its function
	// sees; ordered says the stage's input comes in source order.
	type keyed struct {
		mu      sync.Mutex
		seen    map[int64][]int64
		ordered bool
	}
	var keyedStages []*keyed
	attach := func(s *pipeline.Stream[int64, int64], st fanStage, pos int, ordered bool) *pipeline.Stream[int64, int64] {
		fn := func(ctx context.Context, v int64) (int64, error) {
			if n := calls.Add(1); int(n) == c.cancelAt {
				cancel()
			}
			switch c.fault(pos, v) {
			case 1:
				return 0, fmt.Errorf("fault %d@%d", v, pos)
			case 2:
				panic(fmt.Sprintf("fault %d@%d", v, pos))
			}
			if int(uint64(v)*31%1000) < c.slowPM {
				for range 50 {
					runtime.Gosched()
				}
			}
			return v, nil
		}
		name := stage.WithName(fmt.Sprintf("%s%d", st.kind, pos))
		switch st.kind {
		case "map":
			return stage.Map(s, fn, stage.WithWorkers(st.workers), name)
		case "keyed":
			k := &keyed{seen: map[int64][]int64{}, ordered: ordered}
			keyedStages = append(keyedStages, k)
			return stage.MapByKey(s, func(v int64) int64 { return v % 5 }, func(ctx context.Context, v int64) (int64, error) {
				k.mu.Lock()
				k.seen[v%5] = append(k.seen[v%5], v)
				k.mu.Unlock()
				return fn(ctx, v)
			}, stage.WithWorkers(st.workers), name)
		}
		return s
	}
	pre := attach(src, c.pre, 1, true)
	preOrdered := c.pre.kind == "" || c.pre.workers == 1
	bs := stage.Tee(pre, len(c.branches), stage.WithName("tee"))
	type outcome struct {
		got    map[int64]bool
		dups   bool
		count  int
		result func() error
	}
	outs := make([]*outcome, len(c.branches))
	for i, b := range c.branches {
		s := attach(bs[i], b.st, 2+i, preOrdered)
		o := &outcome{got: map[int64]bool{}}
		outs[i] = o
		add := func(in, v int64) {
			if o.got[v] || in != v {
				o.dups = true
			}
			o.got[v] = true
		}
		switch b.sink {
		case "byinput":
			r := sink.Later(s, sink.ByInput)
			o.result = func() error {
				for in, v := range r.Value() {
					add(in, v)
				}
				return r.Err()
			}
		case "count":
			r := sink.Later(s, sink.Count)
			o.result = func() error { o.count = r.Value(); return r.Err() }
		case "foreach", "all":
			stopAt := b.stopAfter
			r := sink.LaterFunc(s, func(ctx context.Context, s *pipeline.Stream[int64, int64]) (int, error) {
				if b.sink == "foreach" {
					return 0, sink.ForEach(ctx, s, func(in, v int64) error {
						add(in, v)
						if len(o.got) == stopAt {
							return pipeline.ErrStop
						}
						return nil
					})
				}
				var errs []error
				for r, err := range sink.All(ctx, s) {
					if err != nil {
						errs = append(errs, err)
						continue
					}
					add(r.Input, r.Value)
					if len(o.got) == stopAt {
						break
					}
				}
				return 0, errors.Join(errs...)
			})
			o.result = r.Err
		}
	}
	err := sink.Run(ctx, p)
	cancel()
	if stopFeeder != nil { // the user's side of a channel source
		close(stopFeeder)
		feeder.Wait()
	}
	if leak := goleak.Find(ignore); leak != nil {
		t.Fatalf("goroutines left behind: %v", leak)
	}

	// Meters: every stage balances, takes in what its upstreams emitted
	// and is finished.
	for _, st := range p.Stages() {
		k := st.Counts()
		if !k.Balanced() || !st.Finished() {
			t.Fatalf("stage %s: %+v finished=%v", st.Name(), k, st.Finished())
		}
		if ups := st.Upstreams(); len(ups) > 0 {
			var emitted int64
			for _, up := range ups {
				emitted += up.Counts().Emitted
			}
			if k.In != emitted {
				t.Fatalf("stage %s took in %d, its upstreams emitted %d", st.Name(), k.In, emitted)
			}
		}
	}
	// The board saw every stage of every branch to its end.
	if board != nil {
		sum := board.Summary()
		if len(sum) != len(p.Stages()) {
			t.Fatalf("progress summary has %d stages, the pipeline %d", len(sum), len(p.Stages()))
		}
		for i, st := range p.Stages() {
			if sum[i].Name != st.Name() || sum[i].Counts != st.Counts() || sum[i].Status == progress.Running {
				t.Fatalf("progress summary of stage %d: %s %+v %v; meters: %s %+v", i, sum[i].Name, sum[i].Counts, sum[i].Status, st.Name(), st.Counts())
			}
		}
	}
	// Per-key order.
	for _, k := range keyedStages {
		if !k.ordered {
			continue
		}
		for key, vs := range k.seen {
			for i := 1; i < len(vs); i++ {
				if vs[i] <= vs[i-1] {
					t.Fatalf("key %d: the keyed map saw %v, not in input order", key, vs)
				}
			}
		}
	}
	// The model: which values succeed in each branch.
	ok := func(pos int, v int64, st fanStage) bool { return st.kind == "" || c.fault(pos, v) == 0 }
	cancelled := ctx.Err() != nil && c.cancelAt > 0 && int(calls.Load()) >= c.cancelAt
	failures := map[int64]int{} // value -> number of distinct failures
	for _, x := range xs {
		if !ok(1, x, c.pre) {
			failures[x]++
			continue
		}
		for i, b := range c.branches {
			if !ok(2+i, x, b.st) {
				failures[x]++
			}
		}
	}
	nFail := 0
	for _, n := range failures {
		nFail += n
	}
	for i, b := range c.branches {
		o := outs[i]
		berr := o.result()
		if o.dups {
			t.Fatalf("branch %d: a result twice or with the wrong input", i+1)
		}
		want := 0
		for v := range o.got {
			if !ok(1, v, c.pre) || !ok(2+i, v, b.st) {
				t.Fatalf("branch %d: value %d delivered but it fails in the model", i+1, v)
			}
		}
		for _, x := range xs {
			if ok(1, x, c.pre) && ok(2+i, x, b.st) {
				want++
			}
		}
		exact := c.cont && !cancelled
		got := len(o.got)
		if b.sink == "count" {
			got = o.count
		}
		switch {
		case exact && b.stopAfter > 0 && got != min(want, b.stopAfter):
			t.Fatalf("branch %d stopped after %d: %d results, want %d", i+1, b.stopAfter, got, min(want, b.stopAfter))
		case exact && b.stopAfter == 0 && got != want:
			t.Fatalf("branch %d: %d results, want %d (err %v)", i+1, got, want, berr)
		case got > want:
			t.Fatalf("branch %d: %d results, more than the model's %d", i+1, got, want)
		}
	}
	// allStopped says that every sink stopped on purpose: then none may
	// have been running when the context was cancelled, and Run may
	// rightly return nil.
	allStopped := true
	for i, b := range c.branches {
		allStopped = allStopped && b.stopAfter > 0 && len(outs[i].got) >= b.stopAfter
	}
	switch {
	case c.cont && !cancelled:
		// Every failure once, unless a sink stopped before it arrived.
		stops := false
		for _, b := range c.branches {
			stops = stops || b.stopAfter > 0
		}
		if n := len(pipeline.ItemErrors[int64](err)); !stops && n != nFail {
			t.Fatalf("Run returned %d failures, the model has %d: %v", n, nFail, err)
		}
	case !c.cont && nFail == 0 && !cancelled && err != nil:
		t.Fatalf("Run returned %v with no failure in the model", err)
	case cancelled && !errors.Is(err, context.Canceled) && nFail == 0 && !allStopped:
		t.Fatalf("Run returned %v after a cancellation, want context.Canceled", err)
	}
}
