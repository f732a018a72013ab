package stage_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/flowbar/flowbar/internal/meterstest"
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// batchLog records the batches a MapBatch function was called with.
type batchLog struct {
	mu      sync.Mutex
	batches [][]int
}

func (l *batchLog) add(xs []int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.batches = append(l.batches, slices.Clone(xs))
}

func TestMapBatchKeysByInput(t *testing.T) {
	for _, workers := range []int{1, 8} {
		for _, size := range []int{1, 7, 64} {
			t.Run(fmt.Sprintf("workers=%d/size=%d", workers, size), func(t *testing.T) {
				const n = 1000
				var log batchLog
				p := pipeline.New()
				s := stage.MapBatch(stage.FromSlice(p, ints(n)), size, 0, func(_ context.Context, xs []int) ([]string, error) {
					log.add(xs)
					out := make([]string, len(xs))
					for i, x := range xs {
						out[i] = fmt.Sprint(10 * x)
					}
					return out, nil
				}, stage.WithWorkers(workers), stage.WithName("bulk"))
				m, err := sink.ByInput(context.Background(), s)
				if err != nil {
					t.Fatal(err)
				}
				if len(m) != n {
					t.Fatalf("%d results, want %d", len(m), n)
				}
				for x, v := range m {
					if v != fmt.Sprint(10*x) {
						t.Errorf("input %d: %q", x, v)
					}
				}
				// Each worker's batches are full but its last one.
				partial := 0
				var all []int
				for _, b := range log.batches {
					if len(b) == 0 || len(b) > size {
						t.Errorf("a batch of %d items, size %d", len(b), size)
					}
					if len(b) < size {
						partial++
					}
					all = append(all, b...)
				}
				if partial > workers {
					t.Errorf("%d partial batches for %d workers", partial, workers)
				}
				if workers == 1 && !slices.Equal(all, ints(n)) {
					t.Errorf("one worker: batches %v are not the input in order", log.batches)
				}
				slices.Sort(all)
				if !slices.Equal(all, ints(n)) {
					t.Errorf("the batches do not hold every input once")
				}
				meterstest.Check(t, p)
				// Counted in items, and the sink's total known from the start.
				for _, st := range p.Stages()[1:] {
					if c := st.Counts(); c.In != n || c.Out != n || c.Emitted != n {
						t.Errorf("stage %s counts %+v, want %d items", st.Name(), c, n)
					}
				}
				if total, final := p.Stages()[2].Total(); total != n || !final {
					t.Errorf("sink total %d, %v; want %d, true", total, final, n)
				}
			})
		}
	}
}

// Each item of a batch that fails fails with its own input: an error, a
// panic, or outputs that are not as many as the inputs.
func TestMapBatchFailures(t *testing.T) {
	errBad := errors.New("bad")
	for _, workers := range []int{1, 8} {
		for _, size := range []int{1, 10} {
			t.Run(fmt.Sprintf("continue/workers=%d/size=%d", workers, size), func(t *testing.T) {
				const n = 600
				var log batchLog
				fn := func(_ context.Context, xs []int) ([]int, error) {
					log.add(xs)
					out := slices.Clone(xs)
					switch {
					case slices.Contains(xs, 130):
						return nil, errBad
					case slices.Contains(xs, 270):
						panic(fmt.Sprintf("boom %d", xs[0]))
					case slices.Contains(xs, 450):
						return out[1:], nil
					case slices.Contains(xs, 520):
						return append(out, 0), nil
					}
					return out, nil
				}
				p := pipeline.New(pipeline.WithContinueOnError())
				s := stage.MapBatch(stage.FromSlice(p, ints(n)), size, 0, fn, stage.WithWorkers(workers), stage.WithName("bulk"))
				m, err := sink.ByInput(context.Background(), s)
				failed := map[int]error{}
				for _, ie := range pipeline.ItemErrors[int](err) {
					if ie.Stage != "bulk" {
						t.Errorf("error of %d names stage %q", ie.Input, ie.Stage)
					}
					if _, dup := failed[ie.Input]; dup {
						t.Errorf("input %d failed twice", ie.Input)
					}
					failed[ie.Input] = ie.Err
				}
				nFailed := 0
				for _, b := range log.batches {
					var check func(error) bool
					switch {
					case slices.Contains(b, 130):
						check = func(e error) bool { return errors.Is(e, errBad) }
					case slices.Contains(b, 270):
						check = func(e error) bool {
							var pe *pipeline.PanicError
							return errors.As(e, &pe) && pe.Value == fmt.Sprintf("boom %d", b[0]) && len(pe.Stack) > 0
						}
					case slices.Contains(b, 450):
						msg := fmt.Sprintf("stage: MapBatch: a batch of %d item%s returned %d outputs", len(b), map[bool]string{true: "s"}[len(b) != 1], len(b)-1)
						check = func(e error) bool { return e != nil && e.Error() == msg }
					case slices.Contains(b, 520):
						msg := fmt.Sprintf("stage: MapBatch: a batch of %d item%s returned %d outputs", len(b), map[bool]string{true: "s"}[len(b) != 1], len(b)+1)
						check = func(e error) bool { return e != nil && e.Error() == msg }
					}
					for _, x := range b {
						if check == nil {
							if failed[x] != nil {
								t.Errorf("input %d failed: %v", x, failed[x])
							}
							if v, ok := m[x]; !ok || v != x {
								t.Errorf("input %d: result %d, %v", x, v, ok)
							}
							continue
						}
						nFailed++
						if !check(failed[x]) {
							t.Errorf("input %d: error %v", x, failed[x])
						}
						if _, ok := m[x]; ok {
							t.Errorf("input %d failed and has a result", x)
						}
					}
				}
				if len(failed) != nFailed || len(m)+nFailed != n {
					t.Errorf("%d failed and %d results; want %d and %d", len(failed), len(m), nFailed, n-nFailed)
				}
				meterstest.Check(t, p)
				if c := p.Stages()[1].Counts(); c.Failed != int64(nFailed) || c.Out != int64(n-nFailed) {
					t.Errorf("counts %+v, want %d failed", c, nFailed)
				}
			})
		}
		t.Run(fmt.Sprintf("fail-fast/workers=%d", workers), func(t *testing.T) {
			p := pipeline.New()
			s := stage.MapBatch(stage.FromSlice(p, ints(600)), 10, 0, func(_ context.Context, xs []int) ([]int, error) {
				if slices.Contains(xs, 130) {
					return nil, errBad
				}
				return xs, nil
			}, stage.WithWorkers(workers))
			_, err := sink.ByInput(context.Background(), s)
			var ie *pipeline.ItemError[int]
			if !errors.As(err, &ie) || err != error(ie) || !errors.Is(err, errBad) || !strings.Contains(err.Error(), fmt.Sprint(ie.Input)) {
				t.Fatalf("error %v, want an item's", err)
			}
			meterstest.Check(t, p)
		})
	}
}

// A partial batch goes to the function once its first item has waited
// maxWait; a full one at once; the last one at the end of the input.
func TestMapBatchMaxWait(t *testing.T) {
	type call struct {
		at    time.Duration
		batch []int
	}
	tests := []struct {
		size    int
		maxWait time.Duration
		want    []call
	}{
		{3, time.Second, []call{{0, []int{0, 1, 2}}, {time.Second, []int{3}}, {11 * time.Second, []int{4}}, {20 * time.Second, []int{5, 6}}}},
		{100, time.Second, []call{{time.Second, []int{0, 1, 2, 3}}, {11 * time.Second, []int{4}}, {20 * time.Second, []int{5, 6}}}},
		{100, 0, []call{{20 * time.Second, []int{0, 1, 2, 3, 4, 5, 6}}}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("size=%d/wait=%v", tt.size, tt.maxWait), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				p := pipeline.New()
				// Four items, a pause of 10s, one more, a pause of 10s, the
				// last two.
				src := stage.Generate(p, func(ctx context.Context, emit func(int) bool) error {
					for i := range 7 {
						if i == 4 || i == 5 {
							time.Sleep(10 * time.Second)
						}
						if !emit(i) {
							return ctx.Err()
						}
					}
					return nil
				})
				var got []call
				s := stage.MapBatch(src, tt.size, tt.maxWait, func(_ context.Context, xs []int) ([]int, error) {
					got = append(got, call{time.Since(start), slices.Clone(xs)})
					return xs, nil
				}, stage.WithWorkers(1))
				m, err := sink.ByInput(context.Background(), s)
				if err != nil || len(m) != 7 {
					t.Fatalf("%d results, error %v", len(m), err)
				}
				if !slices.EqualFunc(got, tt.want, func(a, b call) bool { return a.at == b.at && slices.Equal(a.batch, b.batch) }) {
					t.Errorf("calls %v, want %v", got, tt.want)
				}
				meterstest.Check(t, p)
			})
		})
	}
}

// Items of a partial batch held when the run is cancelled count as
// cancelled, and a function that returns the cancellation fails nothing.
func TestMapBatchCancelled(t *testing.T) {
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprintf("held/workers=%d", workers), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				p := pipeline.New()
				src := stage.Generate(p, func(ctx context.Context, emit func(int) bool) error {
					for i := range 5 {
						if !emit(i) {
							return ctx.Err()
						}
					}
					<-ctx.Done() // the batches hold 5 items when the run is cancelled
					return ctx.Err()
				})
				calls := 0
				s := stage.MapBatch(src, 10, 0, func(_ context.Context, xs []int) ([]int, error) {
					calls++
					return xs, nil
				}, stage.WithWorkers(workers))
				done := make(chan error)
				go func() {
					_, err := sink.ByInput(ctx, s)
					done <- err
				}()
				synctest.Wait()
				cancel()
				if err := <-done; err != context.Canceled {
					t.Fatalf("error %v", err)
				}
				if calls != 0 {
					t.Errorf("%d calls", calls)
				}
				meterstest.Check(t, p)
				if c := p.Stages()[1].Counts(); c.In != 5 || c.Cancelled != 5 {
					t.Errorf("counts %+v, want 5 in and 5 cancelled", c)
				}
			})
		})
		t.Run(fmt.Sprintf("in-call/workers=%d", workers), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				p := pipeline.New()
				s := stage.MapBatch(stage.FromSlice(p, ints(40)), 10, 0, func(ctx context.Context, xs []int) ([]int, error) {
					<-ctx.Done()
					return nil, ctx.Err()
				}, stage.WithWorkers(workers))
				done := make(chan error)
				go func() {
					_, err := sink.ByInput(ctx, s)
					done <- err
				}()
				synctest.Wait()
				cancel()
				if err := <-done; err != context.Canceled {
					t.Fatalf("error %v", err)
				}
				meterstest.Check(t, p)
				if c := p.Stages()[1].Counts(); c.Failed != 0 || c.Cancelled != c.In {
					t.Errorf("counts %+v, want every item taken in cancelled", c)
				}
			})
		})
	}
}

// Items that failed upstream pass by the batches; an item that stands for
// several pipeline items (after a Batch) counts as all of them.
func TestMapBatchPassesFailuresAndUnits(t *testing.T) {
	errBad := errors.New("bad")
	p := pipeline.New(pipeline.WithContinueOnError())
	s := stage.Map(stage.FromSlice(p, ints(100)), func(_ context.Context, x int) (int, error) {
		if x%7 == 0 {
			return 0, errBad
		}
		return x, nil
	}, stage.WithName("check"))
	batches := stage.Batch(s, 4, 0)
	sums := stage.MapBatch(batches, 3, 0, func(_ context.Context, bs [][]int) ([]int, error) {
		out := make([]int, len(bs))
		for i, b := range bs {
			for _, x := range b {
				out[i] += x
			}
		}
		return out, nil
	}, stage.WithWorkers(2), stage.WithName("sums"))
	total := 0
	err := sink.ForEach(context.Background(), sums, func(in []int, sum int) error {
		for _, x := range in {
			total += x
			sum -= x
		}
		if sum != 0 {
			return fmt.Errorf("batch %v: wrong sum", in)
		}
		return nil
	})
	want := 0
	for x := range 100 {
		if x%7 != 0 {
			want += x
		}
	}
	if got := len(pipeline.ItemErrors[int](err)); got != 15 || total != want {
		t.Errorf("%d errors (%v), total %d; want 15 and %d", got, err, total, want)
	}
	meterstest.Check(t, p)
	if c := p.Stages()[3].Counts(); c.In != 85 || c.Out != 85 || c.Failed != 0 {
		t.Errorf("sums counts %+v, want 85 items", c)
	}
}

func TestMapBatchMisuse(t *testing.T) {
	id := func(_ context.Context, xs []int) ([]int, error) { return xs, nil }
	tests := []struct {
		name  string
		build func()
		want  string
	}{
		{"nil", func() { stage.MapBatch[int, int, int](stage.FromSlice(pipeline.New(), ints(3)), 2, 0, nil) }, "stage: MapBatch: function is nil"},
		{"size 0", func() { stage.MapBatch(stage.FromSlice(pipeline.New(), ints(3)), 0, 0, id) }, "stage: MapBatch: size 0 is less than 1"},
		{"negative wait", func() { stage.MapBatch(stage.FromSlice(pipeline.New(), ints(3)), 2, -time.Second, id) }, "stage: MapBatch: maxWait -1s is negative"},
		{"window", func() { stage.MapBatch(stage.FromSlice(pipeline.New(), ints(3)), 2, 0, id, stage.WithWindow(2)) },
			"stage: MapBatch does not take WithWindow (it takes WithName, WithWorkers, WithUnit)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := panicMessage(tt.build); got != tt.want {
				t.Errorf("panic %q, want %q", got, tt.want)
			}
		})
	}
}
