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

	"github.com/cenkalti/backoff/v5"

	"github.com/flowbar/flowbar/internal/meterstest"
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

var errFlaky = errors.New("flaky")

// attempts records the calls of a function per item and when they began,
// safe from many workers.
type attempts struct {
	mu    sync.Mutex
	calls map[int][]time.Time
}

func newAttempts() *attempts { return &attempts{calls: map[int][]time.Time{}} }

// call records a call for x and returns its number, from 1.
func (a *attempts) call(x int) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls[x] = append(a.calls[x], time.Now())
	return len(a.calls[x])
}

func (a *attempts) of(x int) []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls[x]
}

// all returns the start of every call, sorted.
func (a *attempts) all() []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	var ts []time.Time
	for _, c := range a.calls {
		ts = append(ts, c...)
	}
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	return ts
}

// Items that fail a few times and then succeed are retried, with a backoff
// between attempts, and the retries are counted on the stage.
func TestRetrySucceedsAfterTransientFailures(t *testing.T) {
	for _, workers := range []int{1, 8} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const n = 60
				a := newAttempts()
				p := pipeline.New()
				out := stage.Map(stage.FromSlice(p, ints(n)), func(_ context.Context, x int) (int, error) {
					if a.call(x) <= x%3 { // x%3 failures first
						return 0, errFlaky
					}
					return 2 * x, nil
				}, stage.WithWorkers(workers), stage.WithRetry(3, nil), stage.WithBackoff(10*time.Millisecond, 100*time.Millisecond))
				m, err := sink.ByInput(context.Background(), out)
				if err != nil {
					t.Fatal(err)
				}
				var retries int64
				for x := range n {
					if m[x] != 2*x {
						t.Errorf("item %d: %d, want %d", x, m[x], 2*x)
					}
					calls := a.of(x)
					if len(calls) != x%3+1 {
						t.Errorf("item %d: %d calls, want %d", x, len(calls), x%3+1)
					}
					retries += int64(x % 3)
					for i := 1; i < len(calls); i++ {
						// The backoff starts at 10ms, drawn within ±50%.
						if d := calls[i].Sub(calls[i-1]); d < 5*time.Millisecond {
							t.Errorf("item %d: attempt %d began %v after the one before, want a backoff of at least 5ms", x, i+1, d)
						}
					}
				}
				if got := p.Stages()[1].Counts().Retries; got != retries {
					t.Errorf("Retries = %d, want %d", got, retries)
				}
				meterstest.Check(t, p)
			})
		})
	}
}

// An item that fails on every attempt fails once, with a RetryError that
// counts the attempts and wraps the last error, named by its item.
func TestRetryGivesUp(t *testing.T) {
	for _, workers := range []int{1, 8} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const n = 40
				a := newAttempts()
				p := pipeline.New(pipeline.WithContinueOnError())
				out := stage.Map(stage.FromSlice(p, ints(n)), func(_ context.Context, x int) (int, error) {
					a.call(x)
					if x%4 == 0 {
						return 0, fmt.Errorf("item %d: %w", x, errFlaky)
					}
					return x, nil
				}, stage.WithName("fetch"), stage.WithWorkers(workers), stage.WithRetry(3, nil))
				m, err := sink.ByInput(context.Background(), out)
				if len(m) != n-n/4 {
					t.Errorf("%d results, want %d", len(m), n-n/4)
				}
				ies := pipeline.ItemErrors[int](err)
				if len(ies) != n/4 {
					t.Fatalf("%d item errors, want %d: %v", len(ies), n/4, err)
				}
				for _, ie := range ies {
					var re *stage.RetryError
					if !errors.As(ie, &re) || re.Attempts != 3 {
						t.Errorf("%v: no RetryError with 3 attempts", ie)
					}
					if !errors.Is(ie, errFlaky) {
						t.Errorf("%v does not wrap the function's error", ie)
					}
					want := fmt.Sprintf(`pipeline: stage "fetch": item %d: after 3 attempts: item %d: flaky`, ie.Input, ie.Input)
					if ie.Error() != want {
						t.Errorf("error %q, want %q", ie.Error(), want)
					}
					if got := len(a.of(ie.Input)); got != 3 {
						t.Errorf("item %d: %d calls, want 3", ie.Input, got)
					}
				}
				c := p.Stages()[1].Counts()
				if c.Retries != 2*n/4 || c.Failed != n/4 {
					t.Errorf("counts %+v: want Retries %d, Failed %d", c, 2*n/4, n/4)
				}
				meterstest.Check(t, p)
			})
		})
	}
}

// Which errors are retried: the default retries all but cancellations,
// deadlines and backoff.Permanent; a predicate chooses.
func TestRetryPredicate(t *testing.T) {
	errNotFound := errors.New("not found")
	tests := []struct {
		name      string
		err       error
		retryable func(error) bool
		calls     int
	}{
		{"default retries an error", errFlaky, nil, 3},
		{"default: permanent", backoff.Permanent(errFlaky), nil, 1},
		{"default: cancellation", fmt.Errorf("get: %w", context.Canceled), nil, 1},
		{"default: someone else's deadline", context.DeadlineExceeded, nil, 1},
		{"predicate says no", errNotFound, func(err error) bool { return !errors.Is(err, errNotFound) }, 1},
		{"predicate says yes", errFlaky, func(err error) bool { return !errors.Is(err, errNotFound) }, 3},
		{"predicate cannot retry a permanent error", backoff.Permanent(errFlaky), func(error) bool { return true }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				calls := 0
				p := pipeline.New()
				out := stage.Map(stage.FromSlice(p, []int{7}), func(context.Context, int) (int, error) {
					calls++
					return 0, tt.err
				}, stage.WithWorkers(1), stage.WithRetry(3, tt.retryable))
				_, err := sink.Slice(context.Background(), out)
				if calls != tt.calls {
					t.Errorf("%d calls, want %d", calls, tt.calls)
				}
				var re *stage.RetryError
				if !errors.As(err, &re) || re.Attempts != tt.calls {
					t.Fatalf("error %v: want a RetryError with %d attempts", err, tt.calls)
				}
				var pe *backoff.PermanentError
				if errors.As(err, &pe) {
					t.Errorf("error %v still holds a backoff.PermanentError", err)
				}
				if !strings.Contains(err.Error(), fmt.Sprintf("item 7: after %d attempt", tt.calls)) {
					t.Errorf("error %q does not say the attempts", err)
				}
				if got := p.Stages()[1].Counts().Retries; got != int64(tt.calls-1) {
					t.Errorf("Retries = %d, want %d", got, tt.calls-1)
				}
			})
		})
	}
}

// A run cancelled while items wait out a backoff returns at once: the
// items are counted as cancelled, not failed, and not retried again.
func TestRetryCancelledDuringBackoff(t *testing.T) {
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var mu sync.Mutex
				calls := 0
				p := pipeline.New(pipeline.WithContinueOnError())
				out := stage.Map(stage.FromSlice(p, ints(8)), func(context.Context, int) (int, error) {
					mu.Lock()
					calls++
					mu.Unlock()
					return 0, errFlaky
				}, stage.WithWorkers(workers), stage.WithRetry(5, nil), stage.WithBackoff(time.Hour, time.Hour))
				done := make(chan error)
				start := time.Now()
				go func() {
					_, err := sink.Slice(ctx, out)
					done <- err
				}()
				synctest.Wait() // every worker waits out a backoff
				cancel()
				err := <-done
				if took := time.Since(start); took != 0 {
					t.Errorf("the run took %v after the cancellation, want no wait", took)
				}
				if !errors.Is(err, context.Canceled) {
					t.Errorf("error %v, want context.Canceled", err)
				}
				if ies := pipeline.ItemErrors[int](err); len(ies) != 0 {
					t.Errorf("items failed: %v", ies)
				}
				c := p.Stages()[1].Counts()
				if c.Failed != 0 || c.Out != 0 || c.Cancelled != c.In || calls != workers {
					t.Errorf("counts %+v after %d calls: want every item taken cancelled and one call per worker", c, calls)
				}
				meterstest.Check(t, p)
			})
		})
	}
}

// waitOr sleeps d, or returns the context's error if it ends first.
func waitOr(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A call that outlives WithTimeout's limit fails with a TimeoutError that
// names the limit and is a context.DeadlineExceeded; the others succeed.
func TestTimeout(t *testing.T) {
	for _, workers := range []int{1, 8} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const n = 30
				p := pipeline.New(pipeline.WithContinueOnError())
				out := stage.Map(stage.FromSlice(p, ints(n)), func(ctx context.Context, x int) (int, error) {
					if dl, ok := ctx.Deadline(); !ok || time.Until(dl) != 2*time.Second {
						return 0, fmt.Errorf("deadline %v, %v: want in 2s", dl, ok)
					}
					d := time.Second
					if x%3 == 0 {
						d = 5 * time.Second
					}
					if err := waitOr(ctx, d); err != nil {
						return 0, fmt.Errorf("get %d: %w", x, err)
					}
					return x, nil
				}, stage.WithName("get"), stage.WithWorkers(workers), stage.WithTimeout(2*time.Second))
				m, err := sink.ByInput(context.Background(), out)
				if len(m) != n-n/3 {
					t.Errorf("%d results, want %d", len(m), n-n/3)
				}
				ies := pipeline.ItemErrors[int](err)
				if len(ies) != n/3 {
					t.Fatalf("%d item errors, want %d: %v", len(ies), n/3, err)
				}
				for _, ie := range ies {
					var te *stage.TimeoutError
					if !errors.As(ie, &te) || te.Limit != 2*time.Second {
						t.Errorf("%v: no TimeoutError of 2s", ie)
					}
					if !errors.Is(ie, context.DeadlineExceeded) {
						t.Errorf("%v is not a context.DeadlineExceeded", ie)
					}
					want := fmt.Sprintf(`pipeline: stage "get": item %d: timed out after 2s: get %d: context deadline exceeded`, ie.Input, ie.Input)
					if ie.Error() != want {
						t.Errorf("error %q, want %q", ie.Error(), want)
					}
				}
				meterstest.Check(t, p)
			})
		})
	}
}

// A function that returns a value after its deadline keeps it, and one that
// returns its own error after it times out.
func TestTimeoutIgnoredContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pipeline.New(pipeline.WithContinueOnError())
		out := stage.Map(stage.FromSlice(p, []int{0, 1}), func(_ context.Context, x int) (int, error) {
			time.Sleep(time.Minute)
			if x == 1 {
				return 0, errFlaky
			}
			return 10, nil
		}, stage.WithWorkers(2), stage.WithTimeout(time.Second))
		m, err := sink.ByInput(context.Background(), out)
		if m[0] != 10 || len(m) != 1 {
			t.Errorf("results %v, want map[0:10]", m)
		}
		var te *stage.TimeoutError
		if !errors.As(err, &te) || !errors.Is(err, errFlaky) || !strings.Contains(err.Error(), "item 1: timed out after 1s: flaky") {
			t.Errorf("error %v: want item 1 timed out, wrapping its error", err)
		}
	})
}

// With WithRetry, the timeout is per attempt: an attempt that times out is
// retried (a TimeoutError is retryable by default) with a fresh deadline.
func TestTimeoutPerAttempt(t *testing.T) {
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const n = 12
				a := newAttempts()
				p := pipeline.New(pipeline.WithContinueOnError())
				out := stage.Map(stage.FromSlice(p, ints(n)), func(ctx context.Context, x int) (int, error) {
					k := a.call(x)
					if dl, _ := ctx.Deadline(); time.Until(dl) != time.Second {
						return 0, fmt.Errorf("attempt %d: deadline in %v, want 1s", k, time.Until(dl))
					}
					d := time.Millisecond
					if k <= x%3 || x == 11 { // x%3 slow attempts first; 11 always slow
						d = time.Hour
					}
					return x, waitOr(ctx, d)
				}, stage.WithWorkers(workers), stage.WithTimeout(time.Second), stage.WithRetry(3, nil), stage.WithBackoff(time.Millisecond, time.Millisecond))
				m, err := sink.ByInput(context.Background(), out)
				if len(m) != n-1 {
					t.Errorf("%d results, want %d", len(m), n-1)
				}
				ies := pipeline.ItemErrors[int](err)
				if len(ies) != 1 || ies[0].Input != 11 {
					t.Fatalf("errors %v, want item 11's", err)
				}
				if got := ies[0].Error(); !strings.HasSuffix(got, "item 11: after 3 attempts: timed out after 1s") {
					t.Errorf("error %q", got)
				}
				var retries int64 = 2 // item 11
				for x := range n - 1 {
					retries += int64(x % 3)
				}
				if got := p.Stages()[1].Counts().Retries; got != retries {
					t.Errorf("Retries = %d, want %d", got, retries)
				}
				meterstest.Check(t, p)
			})
		})
	}
}

// WithRate spaces the calls of all workers together: burst at once, then
// one per 1/rate, and every attempt of a retry takes a token.
func TestRate(t *testing.T) {
	for _, workers := range []int{1, 8} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const n, burst = 20, 3
				a := newAttempts()
				start := time.Now()
				p := pipeline.New()
				out := stage.Map(stage.FromSlice(p, ints(n)), func(_ context.Context, x int) (int, error) {
					if a.call(x) == 1 && x%5 == 0 { // 4 items fail once
						return 0, errFlaky
					}
					return x, nil
				}, stage.WithWorkers(workers), stage.WithRate(10, burst), stage.WithRetry(2, nil), stage.WithBackoff(time.Nanosecond, time.Nanosecond))
				m, err := sink.ByInput(context.Background(), out)
				if err != nil || len(m) != n {
					t.Fatalf("%d results, %v", len(m), err)
				}
				calls := a.all()
				if len(calls) != n+4 {
					t.Fatalf("%d calls, want %d", len(calls), n+4)
				}
				for i, c := range calls {
					// Call i may start once i-burst+1 tokens have been
					// added at 10 per second (x/time/rate rounds its
					// float durations down by up to a nanosecond or so).
					earliest := time.Duration(max(0, i-burst+1))*100*time.Millisecond - time.Microsecond
					if c.Sub(start) < earliest {
						t.Errorf("call %d began at %v, want %v or later", i, c.Sub(start), earliest)
					}
				}
				if last := calls[len(calls)-1].Sub(start); last > time.Duration(n+4-burst)*100*time.Millisecond {
					t.Errorf("the last call began at %v: the limit held calls back more than it needed", last)
				}
				meterstest.Check(t, p)
			})
		})
	}
}

// A run cancelled while workers wait for a token returns at once, the
// waiting items counted as cancelled.
func TestRateCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		calls := 0
		p := pipeline.New()
		out := stage.Map(stage.FromSlice(p, ints(5)), func(context.Context, int) (int, error) {
			calls++
			return 0, nil
		}, stage.WithWorkers(1), stage.WithRate(1.0/3600, 1))
		done := make(chan error)
		go func() {
			_, err := sink.Slice(ctx, out)
			done <- err
		}()
		synctest.Wait() // the second item waits an hour for its token
		start := time.Now()
		cancel()
		err := <-done
		if took := time.Since(start); took != 0 {
			t.Errorf("the run took %v after the cancellation", took)
		}
		if !errors.Is(err, context.Canceled) || calls != 1 {
			t.Errorf("error %v after %d calls, want context.Canceled after 1", err, calls)
		}
		if c := p.Stages()[1].Counts(); c.Out != 1 || c.Failed != 0 {
			t.Errorf("counts %+v: want 1 out, none failed", c)
		}
		meterstest.Check(t, p)
	})
}

// The options panic when they are built wrong or given to a stage that
// does not take them.
func TestResilienceMisuse(t *testing.T) {
	id := func(_ context.Context, x int) (int, error) { return x, nil }
	tests := []struct {
		name, want string
		build      func(p *pipeline.Pipeline)
	}{
		{"retry 0", "stage: WithRetry: 0 attempts is less than 1", func(*pipeline.Pipeline) { stage.WithRetry(0, nil) }},
		{"backoff 0", "stage: WithBackoff: initial 0s", func(*pipeline.Pipeline) { stage.WithBackoff(0, time.Second) }},
		{"backoff max below", "stage: WithBackoff: initial 2s and max 1s", func(*pipeline.Pipeline) { stage.WithBackoff(2*time.Second, time.Second) }},
		{"timeout 0", "stage: WithTimeout: limit 0s is not positive", func(*pipeline.Pipeline) { stage.WithTimeout(0) }},
		{"rate 0", "stage: WithRate: 0 per second", func(*pipeline.Pipeline) { stage.WithRate(0, 1) }},
		{"burst 0", "stage: WithRate: burst 0 is less than 1", func(*pipeline.Pipeline) { stage.WithRate(1, 0) }},
		{"backoff alone", "stage: Map: WithBackoff without WithRetry", func(p *pipeline.Pipeline) {
			stage.Map(stage.FromSlice(p, ints(1)), id, stage.WithBackoff(time.Second, time.Second))
		}},
		{"filter takes no retry", "stage: Filter does not take WithRetry", func(p *pipeline.Pipeline) {
			stage.Filter(stage.FromSlice(p, ints(1)), func(int) bool { return true }, stage.WithRetry(2, nil))
		}},
		{"flatmap takes no rate", "stage: FlatMap does not take WithRate", func(p *pipeline.Pipeline) {
			stage.FlatMap(stage.FromSlice(p, ints(1)), func(context.Context, int) ([]int, error) { return nil, nil }, stage.WithRate(1, 1))
		}},
		{"unordered filtererr takes no window", "stage: FilterErr does not take WithWindow", func(p *pipeline.Pipeline) {
			stage.FilterErr(stage.FromSlice(p, ints(1)), func(context.Context, int) (bool, error) { return true, nil }, stage.WithWindow(2))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				v := recover()
				if s, _ := v.(string); !strings.HasPrefix(s, tt.want) {
					t.Errorf("panic %v, want %q", v, tt.want)
				}
			}()
			tt.build(pipeline.New())
		})
	}
}
