package stage_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/flowbar/flowbar/internal/meterstest"
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// conn is a per-worker value: it checks that it is used by one goroutine at
// a time, never after Close, and closed once.
type conn struct {
	id     int
	busy   atomic.Bool
	closed atomic.Int32
	used   atomic.Int64
	err    error // what Close returns
}

func (c *conn) Close() error {
	c.closed.Add(1)
	return c.err
}

// conns is the setup of a MapWith test and what it made.
type conns struct {
	mu       sync.Mutex
	made     []*conn
	failAt   int // the setup call (from 1) that fails; 0 never
	panicAt  int // the setup call that panics; 0 never
	closeErr error
}

func (cs *conns) setup(context.Context) (*conn, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	n := len(cs.made) + 1
	c := &conn{id: n, err: cs.closeErr}
	cs.made = append(cs.made, c)
	switch n {
	case cs.failAt:
		return nil, errDial
	case cs.panicAt:
		panic("dial panicked")
	}
	return c, nil
}

var errDial = errors.New("dial refused")

// use is the per-item function: it fails if the value is shared, closed or
// nil.
func use(_ context.Context, c *conn, x int) (int, error) {
	if c == nil {
		return 0, errors.New("nil value")
	}
	if !c.busy.CompareAndSwap(false, true) {
		return 0, fmt.Errorf("conn %d used by two workers at once", c.id)
	}
	defer c.busy.Store(false)
	if c.closed.Load() != 0 {
		return 0, fmt.Errorf("conn %d used after Close", c.id)
	}
	c.used.Add(1)
	return 100*x + c.id, nil
}

// checkClosed checks that every value setup made was closed exactly once,
// and that at most workers were made.
func (cs *conns) checkClosed(t *testing.T, workers int) {
	t.Helper()
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if len(cs.made) > workers {
		t.Errorf("setup ran %d times for %d workers", len(cs.made), workers)
	}
	for _, c := range cs.made {
		want := int32(1)
		if c.id == cs.failAt || c.id == cs.panicAt {
			want = 0 // setup failed: no value to close
		}
		if got := c.closed.Load(); got != want {
			t.Errorf("conn %d closed %d times, want %d", c.id, got, want)
		}
	}
}

func TestMapWith(t *testing.T) {
	for _, ordered := range []bool{false, true} {
		for _, workers := range []int{1, 8} {
			t.Run(fmt.Sprintf("ordered=%v/workers=%d", ordered, workers), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					const n = 400
					cs := &conns{}
					p := pipeline.New()
					mapWith := stage.MapWith[int, int, int, *conn]
					if ordered {
						mapWith = stage.OrderedMapWith[int, int, int, *conn]
					}
					slow := func(ctx context.Context, c *conn, x int) (int, error) {
						time.Sleep(time.Millisecond) // so that every worker takes items
						return use(ctx, c, x)
					}
					s := mapWith(stage.FromSlice(p, ints(n)), cs.setup, slow, stage.WithWorkers(workers))
					got, err := sink.Slice(context.Background(), s)
					if err != nil {
						t.Fatal(err)
					}
					if len(got) != n {
						t.Fatalf("%d results, want %d", len(got), n)
					}
					var xs []int
					for _, v := range got {
						xs = append(xs, v/100)
						if id := v % 100; id < 1 || id > len(cs.made) {
							t.Fatalf("result %d from conn %d, which setup did not make", v, id)
						}
					}
					if ordered || workers == 1 {
						if !slices.IsSorted(xs) {
							t.Errorf("results out of input order")
						}
					} else {
						slices.Sort(xs)
					}
					if !slices.Equal(xs, ints(n)) {
						t.Errorf("results are not one per input")
					}
					if len(cs.made) != workers {
						// Every worker took items: items take 1ms and are
						// shared with idle workers.
						t.Errorf("setup ran %d times, want once per worker (%d)", len(cs.made), workers)
					}
					cs.checkClosed(t, workers)
					meterstest.Check(t, p)
				})
			})
		}
	}
}

// A panic in fn fails its item; the worker keeps its value (setup is not
// called again) and closes it once at the end.
func TestMapWithPanicKeepsValue(t *testing.T) {
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			const n = 300
			cs := &conns{}
			p := pipeline.New(pipeline.WithContinueOnError())
			s := stage.MapWith(stage.FromSlice(p, ints(n)), cs.setup, func(ctx context.Context, c *conn, x int) (int, error) {
				if x%7 == 0 {
					panic(fmt.Sprintf("boom %d", x))
				}
				return use(ctx, c, x)
			}, stage.WithWorkers(workers))
			got, err := sink.Slice(context.Background(), s)
			ies := pipeline.ItemErrors[int](err)
			if len(got)+len(ies) != n || len(ies) != (n+6)/7 {
				t.Fatalf("%d results and %d errors, want %d errors of %d items: %v", len(got), len(ies), (n+6)/7, n, err)
			}
			for _, ie := range ies {
				var pe *pipeline.PanicError
				if ie.Input%7 != 0 || !errors.As(ie, &pe) {
					t.Errorf("error %v", ie)
				}
			}
			cs.checkClosed(t, workers)
			meterstest.Check(t, p)
		})
	}
}

// On cancellation every value is closed once, after the last call that
// used it.
func TestMapWithCancelled(t *testing.T) {
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cs := &conns{}
			p := pipeline.New()
			s := stage.MapWith(stage.FromSlice(p, ints(10000)), cs.setup, func(ctx context.Context, c *conn, x int) (int, error) {
				if x == 200 {
					cancel()
					<-ctx.Done()
				}
				return use(ctx, c, x)
			}, stage.WithWorkers(workers))
			_, err := sink.Slice(ctx, s)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error %v, want context.Canceled", err)
			}
			cs.checkClosed(t, workers)
			meterstest.Check(t, p)
		})
	}
}

// A worker whose setup fails fails every item it takes, each named, with
// setup's error; under continue-on-error the others finish the rest, and
// nothing is lost.
func TestMapWithSetupFails(t *testing.T) {
	tests := []struct {
		name             string
		workers          int
		failAt, panicAt  int
		wantAllFailed    bool
		wantPanicInError bool
	}{
		{"one worker", 1, 1, 0, true, false},
		{"one of four", 4, 2, 0, false, false},
		{"a panic, one of four", 4, 0, 3, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const n = 200
				cs := &conns{failAt: tt.failAt, panicAt: tt.panicAt}
				p := pipeline.New(pipeline.WithContinueOnError())
				s := stage.MapWith(stage.FromSlice(p, ints(n)), cs.setup, func(ctx context.Context, c *conn, x int) (int, error) {
					time.Sleep(time.Millisecond)
					return use(ctx, c, x)
				}, stage.WithName("db"), stage.WithWorkers(tt.workers))
				got, err := sink.Slice(context.Background(), s)
				ies := pipeline.ItemErrors[int](err)
				if len(got)+len(ies) != n || len(ies) == 0 {
					t.Fatalf("%d results and %d errors for %d items: %v", len(got), len(ies), n, err)
				}
				if tt.wantAllFailed && len(got) != 0 {
					t.Errorf("%d results from a worker whose setup failed", len(got))
				}
				for _, ie := range ies {
					var pe *pipeline.PanicError
					if tt.wantPanicInError != errors.As(ie, &pe) || !tt.wantPanicInError && !errors.Is(ie, errDial) {
						t.Errorf("error %v", ie)
					}
					if !strings.HasPrefix(ie.Error(), fmt.Sprintf(`pipeline: stage "db": item %d: worker setup failed: `, ie.Input)) {
						t.Errorf("error %q", ie.Error())
					}
				}
				cs.checkClosed(t, tt.workers)
				meterstest.Check(t, p)
			})
		})
	}
	t.Run("fail-fast", func(t *testing.T) {
		cs := &conns{failAt: 1}
		p := pipeline.New()
		s := stage.MapWith(stage.FromSlice(p, ints(100)), cs.setup, use, stage.WithWorkers(1))
		_, err := sink.Slice(context.Background(), s)
		var ie *pipeline.ItemError[int]
		if !errors.As(err, &ie) || ie.Input != 0 || !errors.Is(err, errDial) {
			t.Fatalf("error %v, want item 0's setup error", err)
		}
		meterstest.Check(t, p)
	})
}

// An error of Close is the stage's error: the sink returns it, with the
// item errors under continue-on-error, naming the stage.
func TestMapWithCloseError(t *testing.T) {
	errClose := errors.New("close failed")
	for _, cont := range []bool{false, true} {
		t.Run(fmt.Sprintf("continue=%v", cont), func(t *testing.T) {
			var opts []pipeline.Option
			if cont {
				opts = append(opts, pipeline.WithContinueOnError())
			}
			cs := &conns{closeErr: errClose}
			p := pipeline.New(opts...)
			s := stage.MapWith(stage.FromSlice(p, ints(50)), cs.setup, use, stage.WithName("db"), stage.WithWorkers(1))
			got, err := sink.Slice(context.Background(), s)
			// Under fail-fast the close error stops the run like an item
			// error: results the worker still held are cancelled.
			if cont && len(got) != 50 || len(got) > 50 {
				t.Errorf("%d results, want 50", len(got))
			}
			if !errors.Is(err, errClose) || !strings.Contains(err.Error(), `pipeline: stage "db": closing a worker's value: close failed`) {
				t.Errorf("error %v, want the close error", err)
			}
			cs.checkClosed(t, 1)
			meterstest.Check(t, p)
		})
	}
}

// A value that is not an io.Closer is left alone.
func TestMapWithNoCloser(t *testing.T) {
	p := pipeline.New()
	s := stage.MapWith(stage.FromSlice(p, []string{"a", "bb"}), func(context.Context) (*strings.Builder, error) {
		return new(strings.Builder), nil
	}, func(_ context.Context, b *strings.Builder, v string) (int, error) {
		b.Reset()
		b.WriteString(v)
		return b.Len(), nil
	}, stage.WithWorkers(1))
	m, err := sink.ByInput(context.Background(), s)
	if err != nil || m["a"] != 1 || m["bb"] != 2 {
		t.Fatalf("%v, %v", m, err)
	}
}

func TestMapWithNil(t *testing.T) {
	for _, tt := range []struct {
		name, want string
		build      func(in *pipeline.Stream[int, int])
	}{
		{"setup", "stage: MapWith: setup is nil", func(in *pipeline.Stream[int, int]) {
			stage.MapWith[int, int, int, *conn](in, nil, use)
		}},
		{"fn", "stage: OrderedMapWith: function is nil", func(in *pipeline.Stream[int, int]) {
			stage.OrderedMapWith[int, int, int, *conn](in, (&conns{}).setup, nil)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if v := recover(); fmt.Sprint(v) != tt.want {
					t.Errorf("panic %v, want %q", v, tt.want)
				}
			}()
			tt.build(stage.FromSlice(pipeline.New(), ints(1)))
		})
	}
}
