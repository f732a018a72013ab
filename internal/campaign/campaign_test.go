package campaign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"runtime"
	"slices"
	"strings"
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

// runBound is how long one generated run may take before the campaign calls
// it a deadlock. Runs take milliseconds; the bound is generous for -race on
// a loaded machine.
const runBound = 60 * time.Second

// The kinds of generated things.
var (
	sourceKinds = []string{"slice", "chan", "bufchan", "seq", "generate"}
	stageKinds  = []string{"map", "orderedmap", "filter", "orderedfilter", "ondone"}
	sinkKinds   = []string{"byinput", "bykey", "slice", "foreach", "reduce", "count", "all"}
	cancelKinds = []string{"none", "none", "timer", "item", "before"}
)

// fault is what a user function does for one item, a deterministic function
// of (stage position, value) so that the model knows it.
type fault uint8

const (
	fNone fault = iota
	fErr
	fPanic
	fDelay
)

// injected is the error an item's function returns.
type injected struct {
	pos int // stage position: 1 for the first transform, len(stages)+1 for the sink
	v   int64
}

func (e *injected) Error() string {
	return fmt.Sprintf("injected error at stage %d value %d", e.pos, e.v)
}

// panicValue is what an item's function panics with.
type panicValue struct {
	pos int
	v   int64
}

// failedPanic is what an OnDone callback panics with when it is given a
// failure record.
type failedPanic struct {
	pos   int
	input int64
}

// loopPanic is what a range loop's body panics with.
type loopPanicValue struct{ at int }

// errSource is what a generator source returns when it fails.
var errSource = errors.New("injected source error")

// errSourcePanic is what a generator source panics with when it fails.
var errSourcePanic = errors.New("injected source panic")

// isSourceErr reports whether err holds the source's failure: its error,
// or its panic as a *pipeline.PanicError.
func isSourceErr(err error) bool {
	found := false
	walkErrs(err, func(e error) {
		if errors.Is(e, errSource) {
			found = true
		}
		var pe *pipeline.PanicError
		if _, item := e.(*pipeline.ItemError[int64]); !item && errors.As(e, &pe) && pe.Value == errSourcePanic && len(pe.Stack) > 0 {
			found = true
		}
	})
	return found
}

// errCancel is the cause with which the campaign cancels a run's context.
var errCancel = errors.New("injected cancellation")

type stageSpec struct {
	kind    string
	workers int
	window  int   // 0: default
	add     int64 // a map adds this to the value (injective)
	dropPct int   // a filter drops about this percentage
	// weighted stages count a weight per result (weightOf) and describe
	// their last result.
	weighted bool
}

func (s stageSpec) ordered() bool {
	return s.kind == "orderedmap" || s.kind == "orderedfilter" || s.kind == "ondone" || s.workers == 1
}

// spec is one generated case.
type spec struct {
	n          int
	source     string
	genErrAt   int  // generate: return errSource after this many items; -1 never
	genPanic   bool // generate: panic with errSourcePanic instead of returning errSource
	stages     []stageSpec
	sink       string
	cont       bool // ContinueOnError
	chunk      int  // WithChunkSize; 0 default
	seed       uint64
	errPM      int // per-mille chance of an error per (stage, item)
	panicPM    int
	delayPM    int
	blockPM    int // per-mille chance that a map's call blocks until the run is cancelled
	cancel     string
	cancelAt   int // timer: µs; item: number of function calls
	stopAfter  int // consumer stops after this many results; -1 never
	slowSink   bool
	sinkFaults bool // the sink's function fails too (foreach)
	failedPM   int  // per-mille chance that an OnDone callback panics on a failure record
	loopPanic  int  // a range loop's body panics at this result; 0 never
	progress   int  // 0: no progress board; 1: plain lines; 2: live bars
	srcWeight  bool // the source counts a weight per item
}

// weightOf is the weight of a value in weighted stages.
func weightOf(v int64) int64 { return v%7 + 1 }

func (c *spec) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "n=%d source=%s", c.n, c.source)
	if c.genErrAt >= 0 {
		fmt.Fprintf(&b, "(err@%d)", c.genErrAt)
	}
	for _, s := range c.stages {
		fmt.Fprintf(&b, " -> %s(w=%d", s.kind, s.workers)
		if s.window > 0 {
			fmt.Fprintf(&b, ",win=%d", s.window)
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, " -> %s cont=%v chunk=%d err=%d‰ panic=%d‰ delay=%d‰ cancel=%s@%d stop=%d slow=%v sinkfaults=%v failedpanic=%d‰ looppanic=%d progress=%d",
		c.sink, c.cont, c.chunk, c.errPM, c.panicPM, c.delayPM, c.cancel, c.cancelAt, c.stopAfter, c.slowSink, c.sinkFaults, c.failedPM, c.loopPanic, c.progress)
	return b.String()
}

func genSpec(t *rapid.T) *spec {
	c := &spec{
		n:        rapid.IntRange(0, 300).Draw(t, "n"),
		source:   rapid.SampledFrom(sourceKinds).Draw(t, "source"),
		genErrAt: -1,
		sink:     rapid.SampledFrom(sinkKinds).Draw(t, "sink"),
		cont:     rapid.Bool().Draw(t, "continue"),
		seed:     rapid.Uint64().Draw(t, "seed"),
		cancel:   rapid.SampledFrom(cancelKinds).Draw(t, "cancel"),
	}
	if rapid.IntRange(0, 9).Draw(t, "big") == 0 {
		c.n = rapid.IntRange(300, 5000).Draw(t, "bigN") // chunks of hundreds of items
	}
	if rapid.IntRange(0, 3).Draw(t, "chunked") == 0 {
		c.chunk = rapid.SampledFrom([]int{1, 2, 7, 64}).Draw(t, "chunk")
	}
	if c.source == "generate" && rapid.IntRange(0, 4).Draw(t, "generrs") == 0 {
		c.genErrAt = rapid.IntRange(0, c.n).Draw(t, "genErrAt")
		c.genPanic = rapid.Bool().Draw(t, "genPanic")
	}
	for i := range rapid.IntRange(1, 5).Draw(t, "stages") {
		s := stageSpec{
			kind:    rapid.SampledFrom(stageKinds).Draw(t, "kind"),
			workers: rapid.IntRange(1, 8).Draw(t, "workers"),
			add:     int64(i+1) << 20,
		}
		if s.kind == "ondone" {
			s.workers = 1
		}
		if strings.HasPrefix(s.kind, "ordered") && rapid.Bool().Draw(t, "windowed") {
			s.window = rapid.IntRange(1, 4).Draw(t, "window")
		}
		s.weighted = rapid.IntRange(0, 3).Draw(t, "weighted") == 0
		if strings.HasSuffix(s.kind, "filter") {
			s.dropPct = rapid.IntRange(0, 60).Draw(t, "dropPct")
		}
		c.stages = append(c.stages, s)
	}
	// Faults: often none, sometimes rare, sometimes many.
	levels := []int{0, 0, 2, 10, 50, 200}
	c.errPM = rapid.SampledFrom(levels).Draw(t, "errPM")
	c.panicPM = rapid.SampledFrom(levels).Draw(t, "panicPM")
	c.delayPM = rapid.SampledFrom([]int{0, 0, 10, 100}).Draw(t, "delayPM")
	if c.cancel == "timer" || c.cancel == "before" {
		// Only a cancellation that comes whatever happens ends such a call.
		c.blockPM = rapid.SampledFrom([]int{0, 5, 50}).Draw(t, "blockPM")
	}
	switch c.cancel {
	case "timer":
		c.cancelAt = rapid.IntRange(0, 3000).Draw(t, "cancelAtMicros")
	case "item":
		c.cancelAt = rapid.IntRange(0, c.n*len(c.stages)).Draw(t, "cancelAtCall")
	}
	c.stopAfter = -1
	if (c.sink == "foreach" || c.sink == "all") && rapid.IntRange(0, 3).Draw(t, "stops") == 0 {
		c.stopAfter = rapid.IntRange(1, max(1, c.n)).Draw(t, "stopAfter")
	}
	c.slowSink = rapid.IntRange(0, 5).Draw(t, "slow") == 0
	c.sinkFaults = c.sink == "foreach" && rapid.Bool().Draw(t, "sinkFaults")
	if c.cont && rapid.IntRange(0, 3).Draw(t, "failedPanics") == 0 {
		c.failedPM = rapid.SampledFrom([]int{100, 500, 1000}).Draw(t, "failedPM")
	}
	c.progress = rapid.IntRange(0, 2).Draw(t, "progress")
	c.srcWeight = rapid.IntRange(0, 3).Draw(t, "srcWeight") == 0
	if c.sink == "all" && rapid.IntRange(0, 5).Draw(t, "loopPanics") == 0 {
		c.loopPanic = rapid.IntRange(1, max(1, c.n)).Draw(t, "loopPanic")
	}
	return c
}

// hash mixes the case's seed with a stage position and a value (splitmix64).
func (c *spec) hash(salt uint64, pos int, v int64) uint64 {
	z := c.seed ^ salt*0x9e3779b97f4a7c15 ^ uint64(pos)*0xbf58476d1ce4e5b9 ^ uint64(v)*0x94d049bb133111eb
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// faultAt is the fault of the function of the stage at position pos (1 for
// the first transform, len(stages)+1 for the sink) for value v.
func (c *spec) faultAt(pos int, v int64, canFail bool) fault {
	r := int(c.hash(1, pos, v) % 1000)
	switch {
	case r < c.errPM:
		if canFail {
			return fErr
		}
		return fNone
	case r < c.errPM+c.panicPM:
		return fPanic
	case r < c.errPM+c.panicPM+c.delayPM:
		return fDelay
	}
	return fNone
}

// blocks reports whether the map at pos blocks on value v until the run is
// cancelled, then returns the cancellation.
func (c *spec) blocks(pos int, v int64) bool {
	return c.blockPM > 0 && int(c.hash(5, pos, v)%1000) < c.blockPM
}

func (c *spec) keep(pos int, v int64, pct int) bool { return int(c.hash(2, pos, v)%100) >= pct }

func (c *spec) delay(pos int, v int64) time.Duration {
	return time.Duration(c.hash(3, pos, v)%300) * time.Microsecond
}

// outcome is what the model says happens to one input.
type outcome struct {
	input   int64
	value   int64 // final value when ok
	ok      bool
	dropped int // stage position that dropped it, 0 if none
	failed  int // stage position that failed it, 0 if none
	panic   bool
	blocked int // stage position whose call blocks until cancellation, 0 if none
}

// model runs the case sequentially: the outcome of every input the source
// emits.
func (c *spec) model() ([]outcome, map[int]int64) {
	weights := map[int]int64{}
	n := c.n
	if c.genErrAt >= 0 {
		n = c.genErrAt
	}
	out := make([]outcome, 0, n)
	for x := range int64(n) {
		o := outcome{input: x}
		v := x
		done := false
		weights[0] += weightOf(x)
		for i, s := range c.stages {
			pos := i + 1
			isMap := s.kind == "map" || s.kind == "orderedmap"
			if isMap && c.blocks(pos, v) {
				o.blocked, done = pos, true
				break
			}
			f := c.faultAt(pos, v, isMap)
			if f == fErr || f == fPanic {
				o.failed, o.panic, done = pos, f == fPanic, true
				break
			}
			switch s.kind {
			case "map", "orderedmap":
				v += s.add
			case "filter", "orderedfilter":
				if !c.keep(pos, v, s.dropPct) {
					o.dropped, done = pos, true
				}
			}
			if done {
				break
			}
			weights[pos] += weightOf(v)
		}
		if !done && c.sinkFaults {
			if f := c.faultAt(len(c.stages)+1, v, true); f == fErr || f == fPanic {
				o.failed, o.panic, done = len(c.stages)+1, f == fPanic, true
			}
		}
		if !done {
			o.value, o.ok = v, true
		}
		out = append(out, o)
	}
	return out, weights
}

// harness holds a run's instrumentation.
type harness struct {
	c      *spec
	cancel context.CancelCauseFunc
	calls  atomic.Int64 // function calls, for cancel=item
	ctx    atomic.Pointer[context.Context]
	// emitAfterCancel says that a generator's emit accepted a value after
	// the run's context was cancelled.
	emitAfterCancel atomic.Bool

	mu     sync.Mutex
	raised map[[2]int64]fault // (pos, value) -> fault raised during the run
}

// call is the prologue of every user function: it counts calls (and cancels
// at the chosen call), keeps a context the functions received, and raises
// the item's fault.
func (h *harness) call(ctx context.Context, pos int, v int64, canFail bool) error {
	if h.ctx.Load() == nil {
		h.ctx.CompareAndSwap(nil, &ctx)
	}
	if h.c.blocks(pos, v) {
		h.calls.Add(1)
		<-ctx.Done()
		if v%2 == 0 {
			return ctx.Err()
		}
		return context.Cause(ctx)
	}
	return h.raise(pos, v, canFail)
}

// raise is call for functions that receive no context.
func (h *harness) raise(pos int, v int64, canFail bool) error {
	if n := h.calls.Add(1); h.c.cancel == "item" && n == int64(h.c.cancelAt) {
		h.cancel(errCancel)
	}
	switch f := h.c.faultAt(pos, v, canFail); f {
	case fErr, fPanic:
		h.mu.Lock()
		h.raised[[2]int64{int64(pos), v}] = f
		h.mu.Unlock()
		if f == fPanic {
			panic(panicValue{pos, v})
		}
		return &injected{pos, v}
	case fDelay:
		time.Sleep(h.c.delay(pos, v))
	}
	return nil
}

// result is what a run delivered.
type result struct {
	pairs     [][2]int64 // (input, value) in arrival order; input -1 when the sink does not tell
	ordered   bool       // pairs are in arrival order
	err       error
	loopErrs  []error // errors yielded by sink.All
	delivered int     // results handed to the user's code
	// counted says that the sink delivered a count, not results.
	counted bool
	// loopPanicked says that the range loop's body panicked and the panic
	// came up the caller's stack.
	loopPanicked bool
}

func TestCampaign(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		c := genSpec(rt)
		rt.Log(c)
		runCase(rt, c)
	})
}

func runCase(t *rapid.T, c *spec) {
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
	parent, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	h := &harness{c: c, cancel: cancel, raised: map[[2]int64]fault{}}

	// Source.
	xs := make([]int64, c.n)
	for i := range xs {
		xs[i] = int64(i)
	}
	var src *pipeline.Stream[int64, int64]
	var srcOpts []stage.Option
	var bufch chan int64
	var feeder sync.WaitGroup
	stopFeeder := make(chan struct{})
	switch c.source {
	case "slice":
		src = stage.FromSlice(p, xs, srcOpts...)
	case "chan":
		ch := make(chan int64)
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
		src = stage.FromChan(p, ch, srcOpts...)
	case "bufchan":
		// A closed channel holding every value: what the run does not
		// take stays in it.
		bufch = make(chan int64, len(xs))
		for _, x := range xs {
			bufch <- x
		}
		close(bufch)
		src = stage.FromChan(p, bufch, srcOpts...)
	case "seq":
		src = stage.FromSeq(p, iter.Seq[int64](slices.Values(xs)), srcOpts...)
	case "generate":
		src = stage.Generate(p, func(ctx context.Context, emit func(int64) bool) error {
			for i, x := range xs {
				if i == c.genErrAt {
					if c.genPanic {
						panic(errSourcePanic)
					}
					return errSource
				}
				wasCancelled := ctx.Err() != nil
				if !emit(x) {
					return ctx.Err()
				}
				if wasCancelled {
					h.emitAfterCancel.Store(true)
				}
			}
			if c.genErrAt == len(xs) {
				if c.genPanic {
					panic(errSourcePanic)
				}
				return errSource
			}
			return nil
		}, srcOpts...)
	}

	if c.srcWeight {
		src.Weigh(pipeline.Bytes, weightOf).Describe(func(in, v int64) string { return fmt.Sprint(in) })
	}

	// Transforms.
	s := src
	for i, st := range c.stages {
		pos := i + 1
		o := []stage.Option{stage.WithName(fmt.Sprintf("%s%d", st.kind, pos))}
		if st.kind != "ondone" {
			o = append(o, stage.WithWorkers(st.workers))
		}
		if st.window > 0 {
			o = append(o, stage.WithWindow(st.window))
		}
		switch st.kind {
		case "map", "orderedmap":
			add := st.add
			fn := func(ctx context.Context, v int64) (int64, error) {
				if err := h.call(ctx, pos, v, true); err != nil {
					return 0, err
				}
				return v + add, nil
			}
			if st.kind == "map" {
				s = stage.Map(s, fn, o...)
			} else {
				s = stage.OrderedMap(s, fn, o...)
			}
		case "filter", "orderedfilter":
			pct := st.dropPct
			keep := func(v int64) bool {
				_ = h.raise(pos, v, false)
				return c.keep(pos, v, pct)
			}
			if st.kind == "filter" {
				s = stage.Filter(s, keep, o...)
			} else {
				s = stage.OrderedFilter(s, keep, o...)
			}
		case "ondone":
			s = stage.OnDone(s, func(input, v int64, err error) {
				if err == nil {
					_ = h.raise(pos, v, false)
				} else if int(c.hash(4, pos, input)%1000) < c.failedPM {
					panic(failedPanic{pos, input})
				}
			}, o...)
		}
		if st.weighted && st.kind != "ondone" {
			s.Weigh(pipeline.Rows, weightOf).Describe(func(in, v int64) string { return fmt.Sprintf("%d: %d", in, v) })
		}
	}

	// Sink.
	sinkPos := len(c.stages) + 1
	res := &result{ordered: true}
	slow := func() {
		if c.slowSink {
			time.Sleep(50 * time.Microsecond)
		}
	}
	run := func() {
		ctx := parent
		switch c.sink {
		case "byinput":
			m, err := sink.ByInput(ctx, s)
			for in, v := range m {
				res.pairs = append(res.pairs, [2]int64{in, v})
			}
			res.ordered, res.err, res.delivered = false, err, len(m)
		case "bykey":
			m, err := sink.ByKey(ctx, s, func(_, v int64) int64 { return v })
			for k, v := range m {
				if k != v {
					panic("bykey: key is not the value")
				}
				res.pairs = append(res.pairs, [2]int64{-1, v})
			}
			res.ordered, res.err, res.delivered = false, err, len(m)
		case "count":
			n, err := sink.Count(ctx, s)
			res.err, res.delivered, res.counted = err, n, true
		case "slice":
			vs, err := sink.Slice(ctx, s)
			for _, v := range vs {
				res.pairs = append(res.pairs, [2]int64{-1, v})
			}
			res.err, res.delivered = err, len(vs)
		case "reduce":
			acc, err := sink.Reduce(ctx, s, []int64(nil), func(acc []int64, v int64) []int64 {
				slow()
				return append(acc, v)
			})
			for _, v := range acc {
				res.pairs = append(res.pairs, [2]int64{-1, v})
			}
			res.err, res.delivered = err, len(acc)
		case "foreach":
			res.err = sink.ForEach(ctx, s, func(in, v int64) error {
				slow()
				if c.sinkFaults {
					if err := h.raise(sinkPos, v, true); err != nil {
						return err
					}
				}
				res.pairs = append(res.pairs, [2]int64{in, v})
				res.delivered++
				if res.delivered == c.stopAfter {
					return pipeline.ErrStop
				}
				return nil
			})
		case "all":
			for r, err := range sink.All(ctx, s) {
				if err != nil {
					res.loopErrs = append(res.loopErrs, err)
					continue
				}
				slow()
				res.pairs = append(res.pairs, [2]int64{r.Input, r.Value})
				res.delivered++
				if res.delivered == c.loopPanic {
					panic(loopPanicValue{res.delivered})
				}
				if res.delivered == c.stopAfter {
					break
				}
			}
		}
	}

	if c.cancel == "before" {
		cancel(errCancel)
	}
	var timer *time.Timer
	if c.cancel == "timer" {
		timer = time.AfterFunc(time.Duration(c.cancelAt)*time.Microsecond, func() { cancel(errCancel) })
	}
	done := make(chan struct{})
	var runPanic any
	go func() {
		defer close(done)
		defer func() { runPanic = recover() }()
		run()
	}()
	select {
	case <-done:
	case <-time.After(runBound):
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("run did not return within %v (deadlock?)\n%s", runBound, buf)
	}
	if timer != nil {
		timer.Stop()
	}
	close(stopFeeder)
	feeder.Wait()
	if runPanic != nil {
		if lp, ok := runPanic.(loopPanicValue); !ok || lp.at != c.loopPanic {
			t.Fatalf("the run panicked: %v", runPanic)
		}
		res.loopPanicked = true
	}
	if h.emitAfterCancel.Load() {
		t.Fatalf("emit returned true after the run was cancelled")
	}
	if err := goleak.Find(ignore); err != nil {
		t.Fatalf("goroutines left behind: %v", err)
	}
	check(t, c, h, p, res, parent)
	if bufch != nil {
		taken := p.Stages()[0].Counts().Out
		for i := taken; i < int64(c.n); i++ {
			if v, ok := <-bufch; !ok || v != i {
				t.Fatalf("the run took %d values from the channel; value %d is %d, %v", taken, i, v, ok)
			}
		}
		if _, ok := <-bufch; ok {
			t.Fatalf("the run took %d values from the channel; more are left", taken)
		}
	}
	if board != nil {
		checkBoard(t, c, p, board, res)
	}
}

// checkBoard checks that a progress board observed the run to its end: one
// summary per stage, whose final counts are the stages' meters, and a final
// status that agrees with them.
func checkBoard(t *rapid.T, c *spec, p *pipeline.Pipeline, board *progress.Board, res *result) {
	stages := p.Stages()
	sum := board.Summary()
	if len(sum) != len(stages) {
		t.Fatalf("progress summary has %d stages, the pipeline %d", len(sum), len(stages))
	}
	for i, s := range sum {
		st := stages[i]
		k := st.Counts()
		if s.Name != st.Name() || s.Counts != k {
			t.Fatalf("progress summary of stage %d: %s %+v; meters: %s %+v", i, s.Name, s.Counts, st.Name(), k)
		}
		if want := k.Done(); s.Unit == pipeline.Items && s.Amount() != want || s.Unit != pipeline.Items && s.Amount() != k.Weight {
			t.Fatalf("progress amount of stage %s is %d; meters %+v", s.Name, s.Amount(), k)
		}
		switch {
		case s.Status == progress.Running:
			t.Fatalf("stage %s still running on the board after the run", s.Name)
		case k.Failed > 0 && s.Status != progress.Failed:
			t.Fatalf("stage %s failed %d items but ended %s", s.Name, k.Failed, s.Status)
		case k.Cancelled > 0 && s.Status == progress.Done:
			t.Fatalf("stage %s cancelled %d items but ended done", s.Name, k.Cancelled)
		}
	}
	if res.err == nil && len(res.loopErrs) == 0 && !res.loopPanicked && c.stopAfter < 0 {
		for _, s := range sum {
			if s.Status != progress.Done {
				t.Fatalf("run succeeded but stage %s ended %s: %+v", s.Name, s.Status, s.Counts)
			}
		}
	}
}

// check compares a run with the model and the promises.
func check(t *rapid.T, c *spec, h *harness, p *pipeline.Pipeline, res *result, parent context.Context) {
	model, weights := c.model()
	byInput := map[int64]outcome{}
	byValue := map[int64]outcome{}
	var want []outcome // successes, in input order
	nFailed, nDropped := map[int]int64{}, map[int]int64{}
	for _, o := range model {
		byInput[o.input] = o
		if o.ok {
			byValue[o.value] = o
			want = append(want, o)
		}
		if o.failed > 0 {
			nFailed[o.failed]++
		}
		if o.dropped > 0 {
			nDropped[o.dropped]++
		}
	}
	stages := p.Stages()
	if len(stages) != len(c.stages)+2 {
		t.Fatalf("pipeline has %d stages, want %d", len(stages), len(c.stages)+2)
	}
	cancelled := parent.Err() != nil
	stopped := (c.stopAfter > 0 && res.delivered == c.stopAfter) || res.loopPanicked

	// Outputs: no invented value, no duplicate, the right input.
	seen := map[int64]bool{}
	var order []int64
	for _, pr := range res.pairs {
		o, ok := byValue[pr[1]]
		if !ok {
			t.Fatalf("output value %d is not a success of the model (input %d)", pr[1], pr[0])
		}
		if pr[0] >= 0 && pr[0] != o.input {
			t.Fatalf("output value %d carries input %d, want %d", pr[1], pr[0], o.input)
		}
		if seen[o.input] {
			t.Fatalf("output for input %d delivered twice", o.input)
		}
		seen[o.input] = true
		order = append(order, o.input)
	}
	// Ordering: a chain of ordered (or single-worker) stages keeps input order.
	chainOrdered := true
	for _, s := range c.stages {
		chainOrdered = chainOrdered && s.ordered()
	}
	if chainOrdered && res.ordered && !slices.IsSorted(order) {
		t.Fatalf("ordered chain delivered inputs out of order: %v", order)
	}

	// Meters: every stage balances; every edge carries what its upstream handed on.
	for i, st := range stages {
		k := st.Counts()
		if !k.Balanced() {
			t.Fatalf("stage %s unbalanced: %+v", st.Name(), k)
		}
		if i > 0 {
			if up := stages[i-1].Counts(); k.In != up.Out {
				t.Fatalf("stage %s In=%d but upstream %s Out=%d", st.Name(), k.In, stages[i-1].Name(), up.Out)
			}
		}
		if !st.Finished() {
			t.Fatalf("stage %s not finished after the run", st.Name())
		}
		total, final := st.Total()
		switch {
		case i == 0 && c.source == "slice":
			if total != int64(c.n) || !final {
				t.Fatalf("slice source Total() = %d, %v; want %d, true", total, final, c.n)
			}
		case !final || total != k.In:
			t.Fatalf("stage %s Total() = %d, %v after the run; In = %d", st.Name(), total, final, k.In)
		}
	}
	src, snk := stages[0].Counts(), stages[len(stages)-1].Counts()
	if src.Failed+src.Dropped+src.Cancelled != 0 || src.In != src.Out {
		t.Fatalf("source counts %+v", src)
	}
	if src.Out > int64(len(model)) {
		t.Fatalf("source emitted %d items, the model has %d", src.Out, len(model))
	}
	if snk.Out != int64(res.delivered) {
		t.Fatalf("sink Out=%d but %d results were delivered", snk.Out, res.delivered)
	}
	if int64(len(res.pairs)) != int64(res.delivered) && !res.counted {
		t.Fatalf("%d pairs for %d deliveries", len(res.pairs), res.delivered)
	}
	var lost int64 // everything the source emitted ends exactly once
	for _, st := range stages[1:] {
		k := st.Counts()
		lost += k.Failed + k.Dropped + k.Cancelled
	}
	if lost+snk.Out != src.Out {
		t.Fatalf("conservation: source emitted %d, stages ended %d + sink consumed %d", src.Out, lost, snk.Out)
	}
	var totalCancelled int64
	for _, st := range stages {
		totalCancelled += st.Counts().Cancelled
	}
	for i, st := range stages[1 : len(stages)-1] {
		k := st.Counts()
		if k.Dropped > nDropped[i+1] {
			t.Fatalf("stage %s dropped %d, the model at most %d", st.Name(), k.Dropped, nDropped[i+1])
		}
	}

	// Errors.
	err := res.err
	var itemErrs []*pipeline.ItemError[int64]
	if c.sink == "all" {
		for _, e := range res.loopErrs {
			itemErrs = append(itemErrs, pipeline.ItemErrors[int64](e)...)
		}
		if !c.cont && len(res.loopErrs) > 1 {
			t.Fatalf("fail-fast All yielded %d errors", len(res.loopErrs))
		}
		if c.cont {
			for _, e := range res.loopErrs[:max(0, len(res.loopErrs)-1)] {
				if _, ok := e.(*pipeline.ItemError[int64]); !ok {
					t.Fatalf("All yielded a non-item error before the end: %v", e)
				}
			}
		}
		err = errors.Join(res.loopErrs...)
	} else {
		itemErrs = pipeline.ItemErrors[int64](err)
	}
	checkItemErr := func(ie *pipeline.ItemError[int64]) {
		o, ok := byInput[ie.Input]
		if !ok || o.failed == 0 {
			t.Fatalf("error for input %d, which the model does not fail: %v", ie.Input, ie)
		}
		wantStage := stages[o.failed].Name()
		if ie.Stage != wantStage {
			t.Fatalf("error for input %d names stage %q, want %q", ie.Input, ie.Stage, wantStage)
		}
		if o.panic {
			var pe *pipeline.PanicError
			if !errors.As(ie.Err, &pe) {
				t.Fatalf("input %d panicked but its error is %v", ie.Input, ie.Err)
			}
			if pv, ok := pe.Value.(panicValue); !ok || pv.pos != o.failed {
				t.Fatalf("input %d: panic value %#v", ie.Input, pe.Value)
			}
			if len(pe.Stack) == 0 {
				t.Fatalf("input %d: panic without a stack", ie.Input)
			}
		} else {
			var inj *injected
			if !errors.As(ie.Err, &inj) || inj.pos != o.failed {
				t.Fatalf("input %d: error %v, want the injected error of stage %d", ie.Input, ie.Err, o.failed)
			}
		}
		if seen[ie.Input] {
			t.Fatalf("input %d both delivered and failed", ie.Input)
		}
	}
	errInputs := map[int64]bool{}
	for _, ie := range itemErrs {
		checkItemErr(ie)
		if errInputs[ie.Input] {
			t.Fatalf("error for input %d returned twice", ie.Input)
		}
		errInputs[ie.Input] = true
	}
	// Every error is an item error, the source's error or the cancellation.
	var leftover []error
	walkErrs(err, func(e error) {
		if _, ok := e.(*pipeline.ItemError[int64]); ok {
			return
		}
		if isSourceErr(e) || errors.Is(e, errCancel) {
			return
		}
		leftover = append(leftover, e)
	})
	if len(leftover) > 0 {
		t.Fatalf("unexpected errors: %v", leftover)
	}
	if isSourceErr(err) && c.genErrAt < 0 {
		t.Fatalf("source error without a source fault: %v", err)
	}

	modelFailures := int(sumMap(nFailed))
	if !c.cont {
		// Fail-fast: at most one error, the first that stopped the run.
		if len(itemErrs) > 1 {
			t.Fatalf("fail-fast returned %d item errors", len(itemErrs))
		}
		if len(itemErrs) == 1 {
			ie := itemErrs[0]
			if c.sink != "all" && err != error(ie) {
				t.Fatalf("fail-fast error is %T %v, want the *ItemError itself", err, err)
			}
			o := byInput[ie.Input]
			h.mu.Lock()
			_, raised := h.raised[[2]int64{int64(o.failed), faultValue(c, o)}]
			h.mu.Unlock()
			if !raised {
				t.Fatalf("fail-fast returned the error of input %d, whose fault was never raised", ie.Input)
			}
			if ctxp := h.ctx.Load(); ctxp != nil {
				if cause := context.Cause(*ctxp); cause != error(ie) {
					t.Fatalf("context.Cause of the run is %v, want the returned error %v", cause, ie)
				}
			}
		}
		if isSourceErr(err) && len(itemErrs) > 0 {
			t.Fatalf("fail-fast returned both a source error and an item error: %v", err)
		}
	}
	if !c.cont && c.sink != "all" && errors.Is(err, errCancel) && err != errCancel {
		t.Fatalf("fail-fast run cancelled by its caller returned %#v, not the cause itself", err)
	}
	if c.cont && !stopped {
		// Continue: every failure is returned, cancelled or not.
		var failed int64
		for _, st := range stages {
			failed += st.Counts().Failed
		}
		if failed != int64(len(itemErrs)) {
			t.Fatalf("the stages failed %d items, %d item errors were returned", failed, len(itemErrs))
		}
	}
	if errors.Is(err, errCancel) && !cancelled {
		t.Fatalf("the error names the cancellation, but the context was not cancelled: %v", err)
	}

	// A run that nothing interrupted is exactly the model: under fail-fast
	// a nil error says so, under continue an error without the cancellation.
	interrupted := stopped || errors.Is(err, errCancel) || (!c.cont && err != nil)
	if !interrupted {
		if totalCancelled != 0 {
			t.Fatalf("uninterrupted run counted %d items cancelled", totalCancelled)
		}
		if res.delivered != len(want) {
			t.Fatalf("delivered %d results, the model %d", res.delivered, len(want))
		}
		if c.srcWeight {
			if w := src.Weight; w != weights[0] {
				t.Fatalf("source weight %d, the model %d", w, weights[0])
			}
		}
		for i, st := range stages[1 : len(stages)-1] {
			if s := c.stages[i]; s.weighted && s.kind != "ondone" {
				if w := st.Counts().Weight; w != weights[i+1] {
					t.Fatalf("stage %s weight %d, the model %d", st.Name(), w, weights[i+1])
				}
			}
		}
		if src.Out != int64(len(model)) {
			t.Fatalf("source emitted %d items, the model %d", src.Out, len(model))
		}
		for i, st := range stages[1:] {
			k := st.Counts()
			if k.Failed != nFailed[i+1] || k.Dropped != nDropped[i+1] {
				t.Fatalf("stage %s failed %d dropped %d, the model %d and %d", st.Name(), k.Failed, k.Dropped, nFailed[i+1], nDropped[i+1])
			}
		}
		if len(itemErrs) != modelFailures {
			t.Fatalf("returned %d item errors, the model fails %d inputs", len(itemErrs), modelFailures)
		}
		if (c.genErrAt >= 0) != isSourceErr(err) {
			t.Fatalf("source fault at %d, error %v", c.genErrAt, err)
		}
	}
}

// faultValue is the value the faulting stage saw for o.
func faultValue(c *spec, o outcome) int64 {
	v := o.input
	for i, s := range c.stages {
		if i+1 == o.failed {
			break
		}
		if s.kind == "map" || s.kind == "orderedmap" {
			v += s.add
		}
	}
	return v
}

func sumMap(m map[int]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// walkErrs calls fn for every leaf of a tree of joined errors.
func walkErrs(err error, fn func(error)) {
	if err == nil {
		return
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			walkErrs(e, fn)
		}
		return
	}
	fn(err)
}
