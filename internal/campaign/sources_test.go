package campaign

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"pgregory.net/rapid"

	"github.com/flowbar/flowbar/internal/nobody"
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// The source campaign: the real sources (stage.Walk over a generated tree,
// stage.Lines and FileLines over generated text, stage.CSV, CSVReader and
// FileCSV over generated records) feed a map with injected faults into a
// random sink, under both error policies and random cancellation. Every
// run is checked against a model computed from what was generated: each
// item the source should find reaches the sink once with the right value,
// or fails with its own input, or is counted cancelled; the meters balance;
// the declared totals are the generated ones; no goroutine is left behind.

// defaultSourceCases is the number of cases each source test checks in a
// plain test run (the trees, files and pipes make a case dearer than one of
// TestCampaign); FLOWBAR_SOAK, -soak and -rapid.checks set it as for the
// rest of the campaign.
const defaultSourceCases = 120

// sourceCases makes rapid check defaultSourceCases cases in the test t
// unless a case count was asked for.
func sourceCases(t *testing.T) {
	asked := os.Getenv("FLOWBAR_SOAK") != "" || *soak > 0 || os.Getenv("RAPID_CHECKS") != "" ||
		slices.ContainsFunc(os.Args, func(a string) bool { return strings.Contains(a, "rapid.checks") })
	f := flag.Lookup("rapid.checks")
	if asked || f == nil || f.Value.String() != strconv.Itoa(defaultCases) {
		return
	}
	old := f.Value.String()
	if err := f.Value.Set(strconv.Itoa(defaultSourceCases)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Value.Set(old) })
}

// srcSinks are the sinks a source case may end in. "byinput" becomes
// "bykey" for CSV records, which are not comparable.
var srcSinks = []string{"byinput", "bykey", "count", "foreach", "first", "all", "slice"}

// srcCase is what a source case draws besides its input.
type srcCase struct {
	seed      uint64
	cont      bool
	workers   int
	chunk     int // WithChunkSize; 0 the default
	errPM     int // per-mille chance that the map fails an item
	panicPM   int
	slowPM    int
	sink      string
	stopAfter int    // foreach, first, all: stop after this many results; -1 never
	cancel    string // none, before, after (the k-th map call), results (the k-th result a foreach or all sink gets), timer
	cancelAt  int    // after: the call; timer: µs
}

func genSrcCase(t *rapid.T) *srcCase {
	c := &srcCase{
		seed:    rapid.Uint64().Draw(t, "seed"),
		cont:    rapid.Bool().Draw(t, "cont"),
		workers: rapid.SampledFrom([]int{1, 1, 2, 3, 8}).Draw(t, "workers"),
		chunk:   rapid.SampledFrom([]int{0, 0, 1, 3}).Draw(t, "chunk"),
		errPM:   rapid.SampledFrom([]int{0, 0, 20, 100, 300}).Draw(t, "errPM"),
		panicPM: rapid.SampledFrom([]int{0, 0, 20, 100}).Draw(t, "panicPM"),
		slowPM:  rapid.SampledFrom([]int{0, 50, 200}).Draw(t, "slowPM"),
		sink:    rapid.SampledFrom(srcSinks).Draw(t, "sink"),
		cancel:  rapid.SampledFrom([]string{"none", "none", "none", "before", "after", "results", "timer"}).Draw(t, "cancel"),
	}
	c.stopAfter = -1
	switch c.sink {
	case "foreach", "first", "all":
		if rapid.Bool().Draw(t, "stops") {
			c.stopAfter = rapid.IntRange(1, 10).Draw(t, "stopAfter")
		}
	}
	switch c.cancel {
	case "after", "results":
		if c.cancel == "results" && c.sink != "foreach" && c.sink != "all" {
			c.cancel = "after" // the sink gives no result before it returns
		}
		c.cancelAt = rapid.IntRange(1, 10).Draw(t, "cancelAt")
	case "timer":
		c.cancelAt = rapid.IntRange(0, 3000).Draw(t, "cancelAt")
	}
	return c
}

// faultOf is the map's fault for the item named key: a function of the
// case's seed and the key, so that the model knows it.
func (c *srcCase) faultOf(key string) fault {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s", c.seed, key)
	r := int(h.Sum64() % 1000)
	switch {
	case r < c.errPM:
		return fErr
	case r < c.errPM+c.panicPM:
		return fPanic
	case r < c.errPM+c.panicPM+c.slowPM:
		return fDelay
	}
	return fNone
}

// srcInjected is the error the map returns for the item named key.
type srcInjected struct{ key string }

func (e *srcInjected) Error() string { return "injected error for " + e.key }

// srcPanic is what the map panics with for the item named key.
type srcPanic struct{ key string }

// srcHarness runs the map's faults and watches the calls.
type srcHarness struct {
	c      *srcCase
	cancel context.CancelCauseFunc
	calls  atomic.Int64
	// late counts the calls whose context was already cancelled when they
	// began: each worker may have taken an item just before the
	// cancellation, no more.
	late atomic.Int64
	// active and maxActive count the calls running at once.
	active, maxActive atomic.Int64
}

func (h *srcHarness) call(ctx context.Context, key string) error {
	if ctx.Err() != nil {
		h.late.Add(1)
	}
	a := h.active.Add(1)
	defer h.active.Add(-1)
	for m := h.maxActive.Load(); a > m && !h.maxActive.CompareAndSwap(m, a); m = h.maxActive.Load() {
	}
	if n := h.calls.Add(1); h.c.cancel == "after" && n == int64(h.c.cancelAt) {
		h.cancel(errCancel)
	}
	switch h.c.faultOf(key) {
	case fErr:
		return &srcInjected{key}
	case fPanic:
		panic(srcPanic{key})
	case fDelay:
		select {
		case <-time.After(200 * time.Microsecond):
		case <-ctx.Done():
		}
	}
	return nil
}

// pair is one result a sink delivered.
type pair[S any] struct {
	in S
	v  string
}

// outcome is what a source case's run delivered.
type outcome[S any] struct {
	got       []pair[S] // in arrival order where the sink keeps it
	ordered   bool
	counted   bool // the sink returned a count, not results
	delivered int
	err       error
	stopped   bool // the consumer stopped early on purpose
}

// srcModel is what a source case should deliver: the source's items in
// the order it emits them.
type srcModel[S any] struct {
	items []S
	// srcFails says that the source fails this item (an unreadable
	// directory, a malformed record).
	srcFails func(S) bool
	// want is the map's value for a success.
	want func(S) string
	// readErr says whether err is the source's own error (a failed read),
	// which ends it; nil when it has none.
	readErr func(error) bool
}

// sourceRun is one run of a source case: build the map and the sink on
// src, run them under the case's cancellation, check the promises common to
// every source, and return what was delivered for the caller's own checks.
type sourceRun[S any] struct {
	c     *srcCase
	h     *srcHarness
	p     *pipeline.Pipeline
	src   *pipeline.Stream[S, S]
	key   func(S) string
	work  func(ctx context.Context, in S) (string, error)
	model srcModel[S]
	// byInput collects into a map keyed by input (nil: the input is not
	// comparable, and "byinput" means ByKey by the item's key).
	byInput func(ctx context.Context, s *pipeline.Stream[S, string]) (map[string]pair[S], error)
	parent  context.Context
}

// newSrcRun returns the pipeline of a case, its harness and its context,
// with the function that cancels it.
func newSrcRun[S any](c *srcCase) (*pipeline.Pipeline, *srcHarness, context.Context, context.CancelCauseFunc) {
	var opts []pipeline.Option
	if c.cont {
		opts = append(opts, pipeline.WithContinueOnError())
	}
	if c.chunk > 0 {
		opts = append(opts, pipeline.WithChunkSize(c.chunk))
	}
	parent, cancel := context.WithCancelCause(context.Background())
	return pipeline.New(opts...), &srcHarness{c: c, cancel: cancel}, parent, cancel
}

func (r *sourceRun[S]) run(t *rapid.T, ignore goleak.Option) *outcome[S] {
	c, h := r.c, r.h
	mapped := stage.Map(r.src, func(ctx context.Context, in S) (string, error) {
		if err := h.call(ctx, r.key(in)); err != nil {
			return "", err
		}
		return r.work(ctx, in)
	}, stage.WithWorkers(c.workers), stage.WithName("work"))
	res := &outcome[S]{ordered: true}
	ctx := r.parent
	run := func() {
		switch c.sink {
		case "byinput", "bykey":
			var m map[string]pair[S]
			if c.sink == "byinput" && r.byInput != nil {
				m, res.err = r.byInput(ctx, mapped)
			} else {
				var byKey map[string]string
				byKey, res.err = sink.ByKey(ctx, mapped, func(in S, _ string) string { return r.key(in) })
				m = map[string]pair[S]{}
				for k, v := range byKey {
					var zero S
					m[k] = pair[S]{zero, v}
				}
			}
			keys := slices.Sorted(func(yield func(string) bool) {
				for k := range m {
					if !yield(k) {
						return
					}
				}
			})
			for _, k := range keys {
				res.got = append(res.got, m[k])
			}
			res.ordered, res.delivered = false, len(m)
			if c.sink == "bykey" || r.byInput == nil {
				// The input is not known: mark the pairs with their keys.
				for i, k := range keys {
					res.got[i] = pair[S]{r.fromKey(k), res.got[i].v}
				}
			}
		case "count":
			res.delivered, res.err = sink.Count(ctx, mapped)
			res.counted = true
		case "slice":
			vs, err := sink.Slice(ctx, mapped)
			res.err, res.delivered = err, len(vs)
			used := map[string]bool{} // equal values are told apart in the model's order
			for _, v := range vs {
				res.got = append(res.got, pair[S]{r.fromValue(v, used), v})
			}
		case "foreach":
			res.err = sink.ForEach(ctx, mapped, func(in S, v string) error {
				res.got = append(res.got, pair[S]{in, v})
				res.delivered++
				if c.cancel == "results" && res.delivered == c.cancelAt {
					h.cancel(errCancel)
				}
				if res.delivered == c.stopAfter {
					res.stopped = true
					return pipeline.ErrStop
				}
				return nil
			})
		case "first":
			n := c.stopAfter
			if n < 0 {
				n = math.MaxInt
			}
			first, err := sink.First(ctx, mapped, n)
			for _, x := range first {
				res.got = append(res.got, pair[S]{x.Input, x.Value})
			}
			res.err, res.delivered = err, len(first)
			res.stopped = len(first) == n
		case "all":
			var errs []error
			for x, err := range sink.All(ctx, mapped) {
				if err != nil {
					errs = append(errs, err)
					continue
				}
				res.got = append(res.got, pair[S]{x.Input, x.Value})
				res.delivered++
				if c.cancel == "results" && res.delivered == c.cancelAt {
					h.cancel(errCancel)
				}
				if res.delivered == c.stopAfter {
					res.stopped = true
					break
				}
			}
			res.err = errors.Join(errs...)
		}
	}

	if c.cancel == "before" {
		h.cancel(errCancel)
	}
	var timer *time.Timer
	if c.cancel == "timer" {
		timer = time.AfterFunc(time.Duration(c.cancelAt)*time.Microsecond, func() { h.cancel(errCancel) })
	}
	done := make(chan any)
	var running []string
	go func() {
		defer func() { done <- recover() }()
		run()
		running = libraryGoroutines()
	}()
	select {
	case v := <-done:
		if v != nil {
			t.Fatalf("the run panicked: %v", v)
		}
		if len(running) > 0 {
			t.Fatalf("%d goroutines still in flowbar's code when the sink returned:\n%s", len(running), strings.Join(running, "\n\n"))
		}
	case <-time.After(runBound):
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("run did not return within %v (deadlock?)\n%s", runBound, buf)
	}
	if timer != nil {
		timer.Stop()
	}
	if err := goleak.Find(ignore); err != nil {
		t.Fatalf("goroutines left behind: %v", err)
	}
	r.check(t, res)
	return res
}

// libraryGoroutines returns the stacks of the goroutines other than the
// caller's that are in flowbar's code (a frame of its stage, pipeline or
// sink packages), at once: the sink returns only once every goroutine of
// the run has exited, so none may be left, even one on its way out, when
// the sink returns. (goleak, which waits for goroutines to end, does not
// see one that outlives the sink by microseconds.)
func libraryGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var found []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 {
			continue // the caller
		}
		for _, pkg := range []string{"flowbar/flowbar/stage.", "flowbar/flowbar/pipeline.", "flowbar/flowbar/pipeline/engine.", "flowbar/flowbar/sink."} {
			if strings.Contains(g, "github.com/"+pkg) {
				found = append(found, g)
				break
			}
		}
	}
	return found
}

// fromKey and fromValue give the input of a result whose sink did not
// tell it: the model's item of that key, or of that value.
func (r *sourceRun[S]) fromKey(k string) S {
	for _, it := range r.model.items {
		if r.key(it) == k {
			return it
		}
	}
	var zero S
	return zero
}

func (r *sourceRun[S]) fromValue(v string, used map[string]bool) S {
	for _, it := range r.model.items {
		k := r.key(it)
		if f := r.c.faultOf(k); f == fErr || f == fPanic || used[k] || r.model.srcFails(it) {
			continue
		}
		if r.model.want(it) == v {
			used[k] = true
			return it
		}
	}
	var zero S
	return zero
}

// check checks what every source case promises.
func (r *sourceRun[S]) check(t *rapid.T, res *outcome[S]) {
	c, h, m := r.c, r.h, r.model
	stages := r.p.Stages()
	if len(stages) != 3 {
		t.Fatalf("%d stages, want source, map and sink", len(stages))
	}
	src, work, snk := stages[0], stages[1], stages[2]
	srcName := src.Name()
	cancelled := r.parent.Err() != nil

	// Meters: every stage balances, took in what the one before emitted,
	// handed on what it emitted, finished, and knows its final total.
	for i, st := range stages {
		k := st.Counts()
		if !k.Balanced() {
			t.Fatalf("stage %s unbalanced: %+v", st.Name(), k)
		}
		if i > 0 && k.In != stages[i-1].Counts().Emitted {
			t.Fatalf("stage %s took in %d, %s emitted %d", st.Name(), k.In, stages[i-1].Name(), stages[i-1].Counts().Emitted)
		}
		if k.Emitted != k.Out {
			t.Fatalf("stage %s emitted %d, handed on %d", st.Name(), k.Emitted, k.Out)
		}
		if !st.Finished() {
			t.Fatalf("stage %s not finished after the run", st.Name())
		}
		if total, final := st.Total(); !final || total != k.In {
			t.Fatalf("stage %s Total() = %d, %v after the run; In = %d", st.Name(), total, final, k.In)
		}
	}
	ks, kw, kk := src.Counts(), work.Counts(), snk.Counts()
	if ks.Dropped != 0 || ks.Cancelled != 0 || ks.In != ks.Out+ks.Failed {
		t.Fatalf("source counts %+v", ks)
	}
	if ks.In > int64(len(m.items)) {
		t.Fatalf("the source emitted %d items, the model has %d", ks.In, len(m.items))
	}
	if kk.Out != int64(res.delivered) {
		t.Fatalf("sink Out=%d, %d results delivered", kk.Out, res.delivered)
	}
	if ks.Out != kw.Failed+kw.Cancelled+kw.Dropped+kk.Failed+kk.Cancelled+kk.Out {
		t.Fatalf("conservation: the source handed on %d; the map ended %+v, the sink %+v", ks.Out, kw, kk)
	}
	if c.cancel == "before" && (ks.In != 0 || !errors.Is(res.err, errCancel)) {
		t.Fatalf("cancelled before the start: the source emitted %d, error %v", ks.In, res.err)
	}
	if n := h.late.Load(); n > int64(c.workers) {
		t.Fatalf("%d calls began after the run was cancelled, with %d workers", n, c.workers)
	}
	if n := h.maxActive.Load(); n > int64(c.workers) {
		t.Fatalf("%d calls ran at once on %d workers", n, c.workers)
	}

	// Results: each a success of the model with its value, none twice, in
	// the source's order when one worker did the work.
	idx := map[string]int{}
	for i, it := range m.items {
		idx[r.key(it)] = i
	}
	delivered := map[string]bool{}
	last := -1
	for _, pr := range res.got {
		k := r.key(pr.in)
		i, ok := idx[k]
		if !ok {
			t.Fatalf("result %q for %v, which the model does not have", pr.v, pr.in)
		}
		it := m.items[i]
		if m.srcFails(it) || c.faultOf(k) == fErr || c.faultOf(k) == fPanic {
			t.Fatalf("result %q for %v, which the model fails", pr.v, pr.in)
		}
		if want := m.want(it); pr.v != want {
			t.Fatalf("result for %v is %q, the model %q", pr.in, pr.v, want)
		}
		if delivered[k] {
			t.Fatalf("%v delivered twice", pr.in)
		}
		delivered[k] = true
		if res.ordered && c.workers == 1 {
			if i < last {
				t.Fatalf("one worker delivered %v after a later item", pr.in)
			}
			last = i
		}
	}

	// Errors: item errors of the source's failures or of the map's
	// faults, each once and never for a delivered item; the source's own
	// error; the cancellation.
	var ies []*pipeline.ItemError[S]
	var other []error
	walkErrs(res.err, func(e error) {
		if ie, ok := e.(*pipeline.ItemError[S]); ok {
			ies = append(ies, ie)
			return
		}
		if errors.Is(e, errCancel) || (m.readErr != nil && m.readErr(e)) {
			return
		}
		other = append(other, e)
	})
	if len(other) > 0 {
		t.Fatalf("unexpected errors: %v", other)
	}
	if listed := pipeline.ItemErrors[S](res.err); len(listed) != len(ies) {
		t.Fatalf("ItemErrors lists %d errors, the error holds %d", len(listed), len(ies))
	}
	failed := map[string]bool{}
	for _, ie := range ies {
		k := r.key(ie.Input)
		i, ok := idx[k]
		if !ok {
			t.Fatalf("error for %v, which the model does not have: %v", ie.Input, ie)
		}
		if failed[k] {
			t.Fatalf("%v failed twice", ie.Input)
		}
		failed[k] = true
		if delivered[k] {
			t.Fatalf("%v both delivered and failed", ie.Input)
		}
		if !strings.Contains(ie.Error(), any(ie.Input).(fmt.Stringer).String()) {
			t.Fatalf("the error of %v does not name it: %v", ie.Input, ie)
		}
		switch ie.Stage {
		case srcName:
			if !m.srcFails(m.items[i]) {
				t.Fatalf("the source failed %v, which the model does not fail: %v", ie.Input, ie)
			}
		case work.Name():
			var inj *srcInjected
			var pe *pipeline.PanicError
			switch c.faultOf(k) {
			case fErr:
				if !errors.As(ie.Err, &inj) || inj.key != k {
					t.Fatalf("%v failed with %v, want its injected error", ie.Input, ie.Err)
				}
			case fPanic:
				if !errors.As(ie.Err, &pe) || pe.Value != (srcPanic{k}) || len(pe.Stack) == 0 {
					t.Fatalf("%v failed with %v, want its injected panic with a stack", ie.Input, ie.Err)
				}
			default:
				t.Fatalf("the map failed %v, which has no fault: %v", ie.Input, ie.Err)
			}
		default:
			t.Fatalf("error names stage %q: %v", ie.Stage, ie)
		}
	}
	if !c.cont {
		if len(ies) > 1 {
			t.Fatalf("fail-fast returned %d item errors", len(ies))
		}
		if len(ies) == 1 && c.sink != "all" && res.err != error(ies[0]) {
			t.Fatalf("fail-fast returned %T %v, want the item error itself", res.err, res.err)
		}
		if len(ies) == 1 && ies[0].Stage == srcName {
			// The first failure of the source is the first in its order:
			// the source went no further than it.
			first := slices.IndexFunc(m.items, m.srcFails)
			if k := r.key(ies[0].Input); k != r.key(m.items[first]) {
				t.Fatalf("fail-fast stopped at the source's failure of %v, the first is %v", ies[0].Input, m.items[first])
			}
			if ks.In != int64(first+1) {
				t.Fatalf("fail-fast: the source emitted %d items, its first failure is item %d", ks.In, first+1)
			}
		}
	} else if !res.stopped {
		if kw.Failed+ks.Failed+kk.Failed != int64(len(ies)) {
			t.Fatalf("the stages failed %d items, %d item errors returned", kw.Failed+ks.Failed+kk.Failed, len(ies))
		}
	}
	if errors.Is(res.err, errCancel) && !cancelled {
		t.Fatalf("the error names the cancellation, the context was not cancelled: %v", res.err)
	}

	// A run that nothing interrupted is the model: every item of the
	// source delivered or failed with its input.
	readFailed := m.readErr != nil && m.readErr(res.err)
	interrupted := res.stopped || errors.Is(res.err, errCancel) || (!c.cont && (len(ies) > 0 || readFailed))
	if interrupted {
		return
	}
	if ks.In != int64(len(m.items)) {
		t.Fatalf("uninterrupted run: the source emitted %d items, the model %d", ks.In, len(m.items))
	}
	var cancelledItems int64
	for _, st := range stages {
		cancelledItems += st.Counts().Cancelled
	}
	if cancelledItems != 0 {
		t.Fatalf("uninterrupted run counted %d items cancelled", cancelledItems)
	}
	var ok, bad int
	for _, it := range m.items {
		k := r.key(it)
		f := c.faultOf(k)
		if m.srcFails(it) || f == fErr || f == fPanic {
			bad++
			if !failed[k] {
				t.Fatalf("uninterrupted run: %v did not fail", it)
			}
			continue
		}
		ok++
		if !res.counted && !delivered[k] {
			t.Fatalf("uninterrupted run: %v was not delivered", it)
		}
	}
	if res.delivered != ok || len(ies) != bad {
		t.Fatalf("uninterrupted run delivered %d and failed %d, the model %d and %d", res.delivered, len(ies), ok, bad)
	}
}

// scratch returns a fresh directory under base for one case and the
// function that removes it.
func scratch(t *rapid.T, base string) (string, func()) {
	dir, err := os.MkdirTemp(base, "case")
	if err != nil {
		t.Fatal(err)
	}
	return dir, func() {
		_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if d != nil && d.IsDir() {
				_ = os.Chmod(path, 0o755)
			}
			return nil
		})
		_ = os.Chmod(dir, 0o755)
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
	}
}

// ---- Walk -----------------------------------------------------------------

// tree is a generated directory tree: each entry by its path relative to
// the root, with "/" between components.
type tree struct {
	files  map[string][]byte // regular files and their contents
	dirs   map[string]bool
	links  map[string]string // symbolic links and their targets (relative or absolute, maybe missing)
	locked map[string]bool   // directories that cannot be listed
}

var treeNames = []string{"a", "b", "c", "d", "e.txt", "f0", "f1", "z"}

// genTree draws a tree; lock is the chance in four that a directory of it
// cannot be listed (0 when that cannot be made).
func genTree(t *rapid.T, lock int) *tree {
	tr := &tree{files: map[string][]byte{}, dirs: map[string]bool{"": true}, links: map[string]string{}, locked: map[string]bool{}}
	taken := func(p string) bool {
		_, f := tr.files[p]
		_, l := tr.links[p]
		return f || l || tr.dirs[p]
	}
	n := rapid.IntRange(0, 25).Draw(t, "entries")
	for i := range n {
		dirs := slices.Sorted(func(yield func(string) bool) {
			for d := range tr.dirs {
				if !yield(d) {
					return
				}
			}
		})
		parent := rapid.SampledFrom(dirs).Draw(t, "parent")
		name := rapid.SampledFrom(treeNames).Draw(t, "name")
		path := name
		if parent != "" {
			path = parent + "/" + name
		}
		if taken(path) {
			continue
		}
		switch rapid.SampledFrom([]string{"file", "file", "file", "dir", "dir", "linkfile", "linkdir", "broken"}).Draw(t, "kind") {
		case "file":
			var size int
			switch rapid.IntRange(0, 9).Draw(t, "sizeKind") {
			case 0, 1:
				size = 0
			case 9:
				size = rapid.IntRange(1000, 200_000).Draw(t, "bigSize")
			default:
				size = rapid.IntRange(1, 300).Draw(t, "size")
			}
			b := make([]byte, size)
			for j := range b {
				b[j] = byte(i*31 + j*7 + j>>8)
			}
			tr.files[path] = b
		case "dir":
			tr.dirs[path] = true
		case "linkfile", "linkdir":
			// A link to an entry made so far (its target may be a file
			// or a directory); a link is never followed.
			var targets []string
			for f := range tr.files {
				targets = append(targets, f)
			}
			for d := range tr.dirs {
				targets = append(targets, d)
			}
			sort.Strings(targets)
			tr.links[path] = "/" + rapid.SampledFrom(targets).Draw(t, "target") // made absolute under the root
		case "broken":
			tr.links[path] = "missing-" + strconv.Itoa(i)
		}
	}
	if len(tr.dirs) > 1 && rapid.IntRange(0, 3).Draw(t, "lock") < lock {
		var ds []string
		for d := range tr.dirs {
			if d != "" {
				ds = append(ds, d)
			}
		}
		sort.Strings(ds)
		tr.locked[rapid.SampledFrom(ds).Draw(t, "locked")] = true
	}
	return tr
}

// make creates the tree under root.
func (tr *tree) make(t *rapid.T, root string) {
	osPath := func(p string) string { return filepath.Join(root, filepath.FromSlash(p)) }
	dirs := slices.Sorted(func(yield func(string) bool) {
		for d := range tr.dirs {
			if !yield(d) {
				return
			}
		}
	})
	for _, d := range dirs {
		if err := os.MkdirAll(osPath(d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for f, b := range tr.files {
		if err := os.WriteFile(osPath(f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for l, target := range tr.links {
		if strings.HasPrefix(target, "/") {
			target = osPath(target[1:])
		}
		if err := os.Symlink(target, osPath(l)); err != nil {
			t.Fatal(err)
		}
	}
	for d := range tr.locked {
		if err := os.Chmod(osPath(d), 0); err != nil {
			t.Fatal(err)
		}
	}
}

// walkModel lists what Walk should find, in lexical order: the regular
// files, and the locked directories as failures (their contents are not
// reached).
func (tr *tree) walkModel(root string) (items []stage.File, sizes map[string]int64) {
	sizes = map[string]int64{}
	children := map[string][]string{}
	add := func(p string) {
		parent, name := "", p
		if i := strings.LastIndex(p, "/"); i >= 0 {
			parent, name = p[:i], p[i+1:]
		}
		children[parent] = append(children[parent], name)
	}
	for f := range tr.files {
		add(f)
	}
	for d := range tr.dirs {
		if d != "" {
			add(d)
		}
	}
	var visit func(dir string)
	visit = func(dir string) {
		names := children[dir]
		sort.Strings(names)
		for _, n := range names {
			p := n
			if dir != "" {
				p = dir + "/" + n
			}
			path := filepath.Join(root, filepath.FromSlash(p))
			switch {
			case tr.locked[p]:
				items = append(items, stage.File{Path: path})
			case tr.dirs[p]:
				visit(p)
			default:
				items = append(items, stage.File{Path: path, Size: int64(len(tr.files[p]))})
				sizes[path] = int64(len(tr.files[p]))
			}
		}
	}
	visit("")
	return items, sizes
}

// canLockDirs reports whether a directory with no permissions stops this
// process from listing it (not as root).
func canLockDirs() bool { return os.Geteuid() != 0 && runtime.GOOS != "windows" }

func TestSourcesWalk(t *testing.T) {
	sourceCases(t)
	base := t.TempDir()
	lock := 0
	if canLockDirs() {
		lock = 1
	}
	rapid.Check(t, func(t *rapid.T) { walkCase(t, base, lock) })
}

// TestSourcesWalkUnreadable is TestSourcesWalk with a directory that cannot
// be listed in every tree that has one. Permissions do not stop root: as
// root, on Linux, the test runs again as nobody, as stage's own test of an
// unreadable directory does.
func TestSourcesWalkUnreadable(t *testing.T) {
	if nobody.Rerun(t, "TestSourcesWalkUnreadable") {
		return
	}
	if !canLockDirs() {
		t.Skip("permissions do not stop this user")
	}
	sourceCases(t)
	base := t.TempDir()
	rapid.Check(t, func(t *rapid.T) { walkCase(t, base, 4) })
}

func walkCase(t *rapid.T, base string, lock int) {
	ignore := goleak.IgnoreCurrent()
	tr := genTree(t, lock)
	countFirst := rapid.Bool().Draw(t, "countFirst")
	// The root: the tree, a link to it, a regular file or a link to one
	// (emitted alone), or a root that does not exist or is a broken link
	// (one failure naming it).
	rootKind := rapid.SampledFrom([]string{"tree", "tree", "tree", "tree", "tree", "tree", "link", "link", "file", "filelink", "missing", "brokenlink"}).Draw(t, "root")
	c := genSrcCase(t)
	dir, remove := scratch(t, base)
	defer remove()
	treeDir := filepath.Join(dir, "tree")
	if err := os.Mkdir(treeDir, 0o755); err != nil {
		t.Fatal(err)
	}
	tr.make(t, treeDir)
	root := treeDir
	symlink := func(target, link string) {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	var items []stage.File
	sizes := map[string]int64{}
	contents := map[string][]byte{}
	switch rootKind {
	case "tree", "link":
		if rootKind == "link" {
			root = filepath.Join(dir, "link")
			symlink(treeDir, root)
		}
		items, sizes = tr.walkModel(root)
		for _, it := range items {
			if _, ok := sizes[it.Path]; ok {
				rel, _ := filepath.Rel(root, it.Path)
				contents[it.Path] = tr.files[filepath.ToSlash(rel)]
			}
		}
	case "file", "filelink":
		b := []byte(strings.Repeat("root file\n", rapid.IntRange(0, 3000).Draw(t, "rootLines")))
		root = filepath.Join(dir, "root.txt")
		if err := os.WriteFile(root, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if rootKind == "filelink" {
			root = filepath.Join(dir, "rootlink")
			symlink(filepath.Join(dir, "root.txt"), root)
		}
		items = []stage.File{{Path: root, Size: int64(len(b))}}
		sizes[root], contents[root] = int64(len(b)), b
	case "missing", "brokenlink":
		root = filepath.Join(dir, "missing")
		if rootKind == "brokenlink" {
			root = filepath.Join(dir, "broken")
			symlink(filepath.Join(dir, "missing"), root)
		}
		items = []stage.File{{Path: root}}
	}
	var files, byteSum int64
	crcs := map[string]string{}
	for _, it := range items {
		if size, ok := sizes[it.Path]; ok {
			files++
			byteSum += size
			crcs[it.Path] = fmt.Sprintf("%d:%08x", size, crc32.ChecksumIEEE(contents[it.Path]))
		}
	}
	failures := int64(len(items)) - files // unreadable directories, a missing root

	nItems := int64(len(items))
	var early atomic.Value // the first total a map call found wrong
	pl, h, parent, cancel := newSrcRun[stage.File](c)
	defer cancel(nil)
	var opts []stage.Option
	if countFirst {
		opts = append(opts, stage.WithCountFirst())
	}
	r := &sourceRun[stage.File]{
		c: c, h: h, p: pl, parent: parent,
		src: stage.Walk(pl, root, append(opts, stage.WithName("walk"))...),
		key: func(f stage.File) string { return f.Path },
		work: func(ctx context.Context, f stage.File) (string, error) {
			if countFirst {
				// Every stage knows the tree's totals before its first item:
				// the walk's, its files and unreadable directories; the
				// map's, the files and the directories not yet failed.
				// (Once the walk has ended, early when the run stops, its
				// total is what it emitted.)
				n, final := pipeline.StageOf(ctx).Total()
				sn, sfinal := pl.Stages()[0].Total()
				w, declared := pl.Stages()[0].WeightTotal()
				if pl.Stages()[0].Finished() {
					sn, sfinal, n, final = nItems, true, files, true
				}
				if n < files || n > nItems || !final || sn != nItems || !sfinal || w != byteSum || !declared {
					early.CompareAndSwap(nil, fmt.Sprintf("WithCountFirst: at %s the map's total is %d, %v, the walk's %d, %v and %d bytes, %v; the tree has %d files, %d items and %d bytes",
						f.Path, n, final, sn, sfinal, w, declared, files, nItems, byteSum))
				}
			}
			if !f.Mode.IsRegular() {
				return "", fmt.Errorf("%s: mode %v is not a regular file's", f.Path, f.Mode)
			}
			b, err := os.ReadFile(f.Path)
			if err != nil {
				return "", err
			}
			if int64(len(b)) != f.Size {
				return "", fmt.Errorf("%s: read %d bytes, the walk says %d", f.Path, len(b), f.Size)
			}
			return fmt.Sprintf("%d:%08x", len(b), crc32.ChecksumIEEE(b)), nil
		},
		model: srcModel[stage.File]{
			items:    items,
			srcFails: func(f stage.File) bool { _, ok := sizes[f.Path]; return !ok },
			want:     func(f stage.File) string { return crcs[f.Path] },
		},
		byInput: func(ctx context.Context, s *pipeline.Stream[stage.File, string]) (map[string]pair[stage.File], error) {
			m, err := sink.ByInput(ctx, s)
			out := map[string]pair[stage.File]{}
			for f, v := range m {
				if size, ok := sizes[f.Path]; ok && f.Size != size {
					t.Fatalf("ByInput key %v has size %d, the file %d", f.Path, f.Size, size)
				}
				out[f.Path] = pair[stage.File]{f, v}
			}
			return out, err
		},
	}
	res := r.run(t, ignore)
	if msg := early.Load(); msg != nil {
		t.Fatal(msg)
	}

	// The source's own promises: the failures are the locked
	// directories' permission errors; the weight is the bytes of the files
	// it handed on, the first in lexical order; the totals it declares are
	// the tree's.
	for _, ie := range pipeline.ItemErrors[stage.File](res.err) {
		want := fs.ErrPermission
		if ie.Input.Path == root {
			want = fs.ErrNotExist
		}
		var pe *fs.PathError
		if ie.Stage == "walk" && (!errors.Is(ie.Err, want) || !errors.As(ie.Err, &pe)) {
			t.Fatalf("walk failed %s with %v, want a *fs.PathError for %v", ie.Input.Path, ie.Err, want)
		}
	}
	src := pl.Stages()[0]
	k := src.Counts()
	var weight, emitted int64
	for _, it := range items[:k.In] {
		if size, ok := sizes[it.Path]; ok {
			weight += size
			emitted++
		}
	}
	if k.Out != emitted || k.Weight != weight {
		t.Fatalf("walk handed on %d files weighing %d; the first %d items of the tree are %d files weighing %d", k.Out, k.Weight, k.In, emitted, weight)
	}
	wt, declared := src.WeightTotal()
	if declared && wt != byteSum {
		t.Fatalf("walk declared %d bytes, the tree has %d", wt, byteSum)
	}
	if countFirst && k.In > 0 && !declared {
		t.Fatalf("WithCountFirst: %d items emitted before the totals were declared", k.In)
	}
	if k.In == int64(len(items)) {
		if n, _ := src.Total(); n != files+failures {
			t.Fatalf("walk Total() = %d, the tree has %d files and %d entries that cannot be read", n, files, failures)
		}
	}
	if work := pl.Stages()[1]; k.In == int64(len(items)) && !errors.Is(res.err, errCancel) {
		if n, final := work.Total(); n != files || !final {
			t.Fatalf("map Total() = %d, %v; the tree has %d files", n, final, files)
		}
	}
}

// ---- Lines ----------------------------------------------------------------

// errRead is what a failing reader returns.
var errRead = errors.New("injected read error")

// lineText is generated text and the lines Lines should find in it.
type lineText struct {
	data  []byte
	lines []stage.Line
	ends  []int // the offset just after each line's ending
	// open says that the last line has no ending: only the end of the
	// input ends it.
	open bool
}

func genLines(t *rapid.T) *lineText {
	lt := &lineText{}
	n := rapid.IntRange(0, 30).Draw(t, "lines")
	var b []byte
	for i := range n {
		var size int
		switch rapid.IntRange(0, 12).Draw(t, "lineKind") {
		case 0, 1:
			size = 0
		case 2:
			size = rapid.IntRange(60<<10, 200<<10).Draw(t, "longLine")
		default:
			size = rapid.IntRange(1, 120).Draw(t, "lineLen")
		}
		text := make([]byte, size)
		for j := range text {
			text[j] = "abc xyz\t\"é,;"[(i+j*13)%13] // no line ending inside
		}
		b = append(b, text...)
		last := i == n-1
		switch {
		case last && rapid.Bool().Draw(t, "noFinalEOL"):
			if size == 0 {
				continue // an empty last line without an ending is no line
			}
			lt.open = true
		case rapid.IntRange(0, 3).Draw(t, "crlf") == 0:
			b = append(b, '\r', '\n')
		default:
			b = append(b, '\n')
		}
		lt.lines = append(lt.lines, stage.Line{Number: int64(len(lt.lines) + 1), Text: string(text)})
		lt.ends = append(lt.ends, len(b))
	}
	lt.data = b
	return lt
}

// plainReader hides a reader's Len; shortReader also returns at most max
// bytes a call; failReader fails once failAt bytes were read (also when
// that is all of them: it never reaches the end).
type plainReader struct{ r io.Reader }

func (p *plainReader) Read(b []byte) (int, error) { return p.r.Read(b) }

type shortReader struct {
	r   io.Reader
	max int
}

func (s *shortReader) Read(b []byte) (int, error) {
	if len(b) > s.max {
		b = b[:s.max]
	}
	return s.r.Read(b)
}

// A failReader with together set returns its last bytes with the error
// in the same call, as io.Reader allows.
type failReader struct {
	data     []byte
	off      int
	failAt   int
	together bool
}

func (f *failReader) Read(b []byte) (int, error) {
	if f.off >= f.failAt {
		return 0, errRead
	}
	n := copy(b, f.data[f.off:f.failAt])
	f.off += n
	if f.together && f.off == f.failAt {
		return n, errRead
	}
	return n, nil
}

// eofReader returns its last bytes with io.EOF in the same call.
type eofReader struct {
	data []byte
	off  int
	max  int
}

func (e *eofReader) Read(b []byte) (int, error) {
	if len(b) > e.max {
		b = b[:e.max]
	}
	n := copy(b, e.data[e.off:])
	e.off += n
	if e.off == len(e.data) {
		return n, io.EOF
	}
	return n, nil
}

func TestSourcesLines(t *testing.T) {
	sourceCases(t)
	base := t.TempDir()
	rapid.Check(t, func(t *rapid.T) { linesCase(t, base) })
}

// pipeReader returns the read end of a pipe a goroutine writes data into
// and closes, or, when stallAt >= 0, writes data[:stallAt] into and then
// holds open until finish is called: a Read then blocks until the run's
// cancellation interrupts it. finish closes the read end and waits for the
// writer.
func pipeReader(t *rapid.T, data []byte, stallAt int) (r *os.File, finish func()) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer w.Close()
		if stallAt < 0 {
			_, _ = w.Write(data) // fails once the read end is closed
			return
		}
		_, _ = w.Write(data[:stallAt])
		<-release
	}()
	return r, func() {
		close(release)
		r.Close()
		<-done
	}
}

// wholeLines is the number of lines of lt entirely in its first at bytes
// when the input goes on after them (the last line is whole only at the
// end of the input).
func wholeLines(lt *lineText, at int) int {
	whole := 0
	for whole < len(lt.ends) && lt.ends[whole] <= at {
		whole++
	}
	if lt.open && whole == len(lt.ends) {
		whole--
	}
	return whole
}

func linesCase(t *rapid.T, base string) {
	lt := genLines(t)
	how := rapid.SampledFrom([]string{"strings", "bytes", "plain", "short", "eof", "fail", "file", "osfile", "pipe", "stall"}).Draw(t, "reader")
	c := genSrcCase(t)
	if how == "stall" {
		// Only the cancellation ends a read that blocks.
		c.cancel = "timer"
		c.cancelAt = rapid.IntRange(0, 3000).Draw(t, "stallCancelAt")
	}
	pl, h, parent, cancel := newSrcRun[stage.Line](c)
	defer cancel(nil)

	lines := lt.lines
	size, knowsSize := int64(len(lt.data)), true
	failAt := -1
	var src *pipeline.Stream[stage.Line, stage.Line]
	opt := stage.WithName("lines")
	switch how {
	case "strings":
		src = stage.Lines(pl, strings.NewReader(string(lt.data)), opt)
	case "bytes":
		src = stage.Lines(pl, newBytesReader(lt.data), opt)
	case "plain":
		src = stage.Lines(pl, &plainReader{newBytesReader(lt.data)}, opt)
		knowsSize = false
	case "short":
		src = stage.Lines(pl, &shortReader{newBytesReader(lt.data), rapid.IntRange(1, 7000).Draw(t, "shortMax")}, opt)
		knowsSize = false
	case "eof":
		src = stage.Lines(pl, &eofReader{data: lt.data, max: rapid.IntRange(1, 100_000).Draw(t, "eofMax")}, opt)
		knowsSize = false
	case "fail":
		failAt = rapid.IntRange(0, len(lt.data)).Draw(t, "failAt")
		src = stage.Lines(pl, &failReader{data: lt.data, failAt: failAt, together: rapid.Bool().Draw(t, "together")}, opt)
		knowsSize = false
		lines = lines[:wholeLines(lt, failAt)] // a partial line is not emitted
	case "pipe", "stall":
		stallAt := -1
		if how == "stall" {
			stallAt = rapid.IntRange(0, len(lt.data)).Draw(t, "stallAt")
			lines = lines[:wholeLines(lt, stallAt)]
		}
		r, finish := pipeReader(t, lt.data, stallAt)
		defer finish()
		src = stage.Lines(pl, r, opt)
		knowsSize = false
	case "file", "osfile":
		dir, remove := scratch(t, base)
		defer remove()
		path := filepath.Join(dir, "text")
		if err := os.WriteFile(path, lt.data, 0o644); err != nil {
			t.Fatal(err)
		}
		if how == "file" {
			src = stage.FileLines(pl, path, opt)
		} else {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			src = stage.Lines(pl, f, opt)
		}
	}
	byNumber := func(l stage.Line) string { return strconv.FormatInt(l.Number, 10) }
	value := func(l stage.Line) string {
		return fmt.Sprintf("%d:%08x", len(l.Text), crc32.ChecksumIEEE([]byte(l.Text)))
	}
	r := &sourceRun[stage.Line]{
		c: c, h: h, p: pl, parent: parent, src: src,
		key: byNumber,
		work: func(ctx context.Context, l stage.Line) (string, error) {
			return value(l), nil
		},
		model: srcModel[stage.Line]{
			items:    lines,
			srcFails: func(stage.Line) bool { return false },
			want: func(l stage.Line) string {
				return value(lt.lines[l.Number-1])
			},
			readErr: func(err error) bool { return failAt >= 0 && errors.Is(err, errRead) },
		},
		byInput: func(ctx context.Context, s *pipeline.Stream[stage.Line, string]) (map[string]pair[stage.Line], error) {
			m, err := sink.ByInput(ctx, s)
			out := map[string]pair[stage.Line]{}
			for l, v := range m {
				out[byNumber(l)] = pair[stage.Line]{l, v}
			}
			return out, err
		},
	}
	res := r.run(t, goleak.IgnoreCurrent())

	// Every delivered line is the model's, text and number.
	for _, pr := range res.got {
		if pr.in.Number < 1 || pr.in.Number > int64(len(lines)) || pr.in != lines[pr.in.Number-1] {
			t.Fatalf("delivered %+v, not a line of the text", pr.in)
		}
	}
	src0 := pl.Stages()[0]
	k := src0.Counts()
	// The weight is the bytes read up to the last line emitted (the
	// line whose emit the cancellation refused was read too).
	lo := func(n int64) int64 {
		if n == 0 {
			return 0
		}
		return int64(lt.ends[n-1])
	}
	w := k.Weight
	if w != lo(k.Out) && (k.Out >= int64(len(lines)) || w != lo(k.Out+1)) {
		t.Fatalf("lines weighed %d after emitting %d lines; they end at byte %d", w, k.Out, lo(k.Out))
	}
	wt, declared := src0.WeightTotal()
	if declared != knowsSize || declared && wt != size {
		t.Fatalf("%s reader: weight total %d, %v; the text has %d bytes, its size known %v", how, wt, declared, size, knowsSize)
	}
	// A failed read ends the source with an error naming the last line.
	readFailed := errors.Is(res.err, errRead)
	if readFailed {
		if want := fmt.Sprintf("read after line %d:", len(lines)); !strings.Contains(res.err.Error(), want) || k.Out != int64(len(lines)) {
			t.Fatalf("read error %q after %d lines emitted, want it to say %q", res.err, k.Out, want)
		}
	}
	complete := !res.stopped && !errors.Is(res.err, errCancel) && (c.cont || len(pipeline.ItemErrors[stage.Line](res.err)) == 0)
	if complete {
		if how == "stall" {
			t.Fatalf("a read that blocks ended without the cancellation: %v", res.err)
		}
		if failAt >= 0 && !readFailed {
			t.Fatalf("the reader failed at byte %d of %d; the run returned %v", failAt, len(lt.data), res.err)
		}
		if !readFailed && w != size {
			t.Fatalf("complete run: lines weighed %d, the text has %d bytes", w, size)
		}
	}
}

// newBytesReader returns a reader with a Len method over b.
func newBytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// ---- CSV ------------------------------------------------------------------

// csvText is generated CSV data and the records CSV should find in it.
type csvText struct {
	data    []byte
	records []stage.Record
	bad     map[int64]bool // malformed records, by line
	ends    []int          // the offset just after each record
	header  int            // bytes of the header line, for a CSVReader that read it
}

// size is the length of record i's text.
func (ct *csvText) size(i int) int {
	if i == 0 {
		return ct.ends[0] - ct.header
	}
	return ct.ends[i] - ct.ends[i-1]
}

func genCSV(t *rapid.T, header bool) *csvText {
	ct := &csvText{bad: map[int64]bool{}}
	nf := rapid.IntRange(1, 4).Draw(t, "fields")
	var b []byte
	line := int64(1)
	eol := "\n"
	if rapid.Bool().Draw(t, "crlf") {
		eol = "\r\n"
	}
	field := func(i, j int) (raw, val string) {
		switch rapid.IntRange(0, 5).Draw(t, "fieldKind") {
		case 0:
			return `""`, ""
		case 1: // quoted, with a comma, a quote and maybe a line break
			v := fmt.Sprintf("q%d,%d \"x\"", i, j)
			if rapid.Bool().Draw(t, "multiline") {
				v += "\nnext"
			}
			return `"` + strings.ReplaceAll(v, `"`, `""`) + `"`, v
		default:
			v := fmt.Sprintf("v%d_%d", i, j)
			return v, v
		}
	}
	if header {
		h := make([]string, nf)
		for j := range h {
			h[j] = "h" + strconv.Itoa(j)
		}
		b = append(b, strings.Join(h, ",")+eol...)
		ct.header = len(b)
		line++
	}
	n := rapid.IntRange(0, 25).Draw(t, "records")
	for i := range n {
		kind := "ok"
		if i > 0 || header {
			kind = rapid.SampledFrom([]string{"ok", "ok", "ok", "ok", "fewer", "more", "barequote", "badquote"}).Draw(t, "recordKind")
		}
		count := nf
		switch kind {
		case "fewer":
			if nf == 1 {
				kind = "more"
				count = 2
			} else {
				count = nf - 1
			}
		case "more":
			count = nf + 1
		}
		raws := make([]string, count)
		vals := make([]string, count)
		for j := range count {
			raws[j], vals[j] = field(i, j)
		}
		switch kind {
		case "barequote":
			raws[count-1] = "ba\"re"
		case "badquote":
			// The reader gives up on the rest of the line: no field of
			// the record may go on to the next.
			raws[0] = `"bad"x`
			for j := range raws {
				if strings.Contains(raws[j], "\n") {
					raws[j] = "plain"
				}
			}
		}
		text := strings.Join(raws, ",") + eol
		rec := stage.Record{Line: line}
		if kind == "ok" {
			rec.Fields = vals
		} else {
			ct.bad[line] = true
		}
		ct.records = append(ct.records, rec)
		b = append(b, text...)
		ct.ends = append(ct.ends, len(b))
		line += int64(strings.Count(text, "\n"))
	}
	ct.data = b
	return ct
}

func TestSourcesCSV(t *testing.T) {
	sourceCases(t)
	base := t.TempDir()
	rapid.Check(t, func(t *rapid.T) { csvCase(t, base) })
}

func csvCase(t *rapid.T, base string) {
	how := rapid.SampledFrom([]string{"csv", "plain", "reader", "header", "file", "pipe", "stall", "fail"}).Draw(t, "reader")
	ct := genCSV(t, how == "header")
	c := genSrcCase(t)
	if how == "stall" {
		c.cancel = "timer" // only the cancellation ends a read that blocks
		c.cancelAt = rapid.IntRange(0, 3000).Draw(t, "stallCancelAt")
	}
	records := ct.records
	failed := false // the reader fails: a read error ends the source
	pl, h, parent, cancel := newSrcRun[stage.Record](c)
	defer cancel(nil)

	size, knowsSize := int64(len(ct.data)), true
	var src *pipeline.Stream[stage.Record, stage.Record]
	opt := stage.WithName("csv")
	switch how {
	case "csv":
		src = stage.CSV(pl, strings.NewReader(string(ct.data)), opt)
	case "plain":
		src = stage.CSV(pl, &plainReader{strings.NewReader(string(ct.data))}, opt)
		knowsSize = false
	case "reader":
		src = stage.CSVReader(pl, csv.NewReader(strings.NewReader(string(ct.data))), opt)
		knowsSize = false
	case "header":
		cr := csv.NewReader(strings.NewReader(string(ct.data)))
		if _, err := cr.Read(); err != nil {
			t.Fatal(err)
		}
		src = stage.CSVReader(pl, cr, opt)
		knowsSize = false
	case "file":
		dir, remove := scratch(t, base)
		defer remove()
		path := filepath.Join(dir, "data.csv")
		if err := os.WriteFile(path, ct.data, 0o644); err != nil {
			t.Fatal(err)
		}
		src = stage.FileCSV(pl, path, opt)
	case "pipe", "stall":
		stallAt := -1
		if how == "stall" {
			stallAt = rapid.IntRange(0, len(ct.data)).Draw(t, "stallAt")
			whole := 0
			for whole < len(ct.ends) && ct.ends[whole] <= stallAt {
				whole++
			}
			records = records[:whole]
		}
		r, finish := pipeReader(t, ct.data, stallAt)
		defer finish()
		src = stage.CSV(pl, r, opt)
		knowsSize = false
	case "fail":
		failAt := rapid.IntRange(0, len(ct.data)).Draw(t, "failAt")
		// encoding/csv reports the parse error of a malformed record cut
		// short by the failure when what was read of it shows it (a bare
		// quote): the reader fails at the start of a malformed record or
		// after it, never inside.
		for i, end := range ct.ends {
			if start := end - ct.size(i); ct.bad[ct.records[i].Line] && start < failAt && failAt < end {
				failAt = start
			}
		}
		whole := 0
		for whole < len(ct.ends) && ct.ends[whole] <= failAt {
			whole++
		}
		records, failed = records[:whole], true
		src = stage.CSV(pl, &failReader{data: ct.data, failAt: failAt, together: rapid.Bool().Draw(t, "together")}, opt)
		knowsSize = false
	}
	byLine := func(r stage.Record) string { return strconv.FormatInt(r.Line, 10) }
	value := func(r stage.Record) string { return strings.Join(r.Fields, "|") }
	want := map[string]string{}
	for _, rec := range ct.records {
		want[byLine(rec)] = value(rec)
	}
	r := &sourceRun[stage.Record]{
		c: c, h: h, p: pl, parent: parent, src: src,
		key: byLine,
		work: func(ctx context.Context, rec stage.Record) (string, error) {
			return value(rec), nil
		},
		model: srcModel[stage.Record]{
			items:    records,
			srcFails: func(rec stage.Record) bool { return ct.bad[rec.Line] },
			want:     func(rec stage.Record) string { return want[byLine(rec)] },
			readErr:  func(err error) bool { return failed && errors.Is(err, errRead) },
		},
	}
	res := r.run(t, goleak.IgnoreCurrent())

	// Every delivered record is the model's, fields and line; every
	// failure at the source is a parse error naming its line.
	for _, pr := range res.got {
		if pr.in.Line != 0 && (value(pr.in) != want[byLine(pr.in)] || ct.bad[pr.in.Line]) {
			t.Fatalf("delivered %+v, not a well-formed record of the data", pr.in)
		}
	}
	for _, ie := range pipeline.ItemErrors[stage.Record](res.err) {
		var pe *csv.ParseError
		if ie.Stage == "csv" && (!errors.As(ie.Err, &pe) || int64(pe.StartLine) != ie.Input.Line) {
			t.Fatalf("csv failed line %d with %v, want a parse error starting there", ie.Input.Line, ie.Err)
		}
		if want := fmt.Sprintf("line %d", ie.Input.Line); !strings.Contains(ie.Error(), want) {
			t.Fatalf("the error of line %d does not name it: %v", ie.Input.Line, ie)
		}
	}
	src0 := pl.Stages()[0]
	k := src0.Counts()
	wt, declared := src0.WeightTotal()
	if declared != knowsSize || declared && wt != size {
		t.Fatalf("%s: weight total %d, %v; the data has %d bytes, its size known %v", how, wt, declared, size, knowsSize)
	}
	if k.Weight > size {
		t.Fatalf("csv weighed %d bytes of %d", k.Weight, size)
	}
	if how == "stall" && !res.stopped && !errors.Is(res.err, errCancel) && (c.cont || len(pipeline.ItemErrors[stage.Record](res.err)) == 0) {
		t.Fatalf("a read that blocks ended without the cancellation: %v", res.err)
	}
	if failed && !res.stopped && !errors.Is(res.err, errCancel) && (c.cont || len(pipeline.ItemErrors[stage.Record](res.err)) == 0) && !errors.Is(res.err, errRead) {
		t.Fatalf("the reader failed; the run returned %v", res.err)
	}
	if how != "stall" && !failed && k.In == int64(len(ct.records)) && !errors.Is(res.err, errCancel) && !res.stopped && k.Weight != size {
		t.Fatalf("csv emitted every record and weighed %d bytes of %d", k.Weight, size)
	}
}
