package stage

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cenkalti/backoff/v5"
	"golang.org/x/time/rate"

	"github.com/flowbar/flowbar/pipeline/engine"
)

// resilientOpts are the options that wrap each call of a stage's function
// (see the package documentation for how they combine).
const resilientOpts = optRetry | optBackoff | optTimeout | optRate

// resilience is what the options WithRetry, WithBackoff, WithTimeout and
// WithRate set.
type resilience struct {
	attempts  int              // WithRetry: calls in all; 0 without WithRetry
	retryable func(error) bool // WithRetry: nil means [DefaultRetryable]
	initial   time.Duration    // WithBackoff: 0 means backoff's default
	maxWait   time.Duration    // WithBackoff: 0 means backoff's default
	timeout   time.Duration    // WithTimeout: 0 means none
	perSecond float64          // WithRate: 0 means none
	burst     int
	// limiter is the stage's rate limiter, shared by its workers; made by
	// build.
	limiter *rate.Limiter
}

// WithRetry calls the stage's function up to attempts times in all for an
// item whose call fails with an error that retryable accepts; nil
// retryable means [DefaultRetryable]. Between attempts the worker waits an
// exponential backoff (see [WithBackoff]); each retry is added to the
// stage's Counts.Retries, which progress bars show as "N retried". An item
// that still fails fails with a [*RetryError] that wraps the last error and
// says how many attempts were made ("after 3 attempts: ..."), whatever the
// reason it stopped: errors.As finds the count. A panic is never retried:
// it fails the item at once, as without the option. Errors wrapped with
// backoff.Permanent (github.com/cenkalti/backoff/v5) are never retried, and
// neither is any error once the run is cancelled. An item that succeeds at
// once costs a few nanoseconds more than without the option. How retries
// combine with [WithTimeout] and [WithRate] is in the package
// documentation. The default is one attempt and no RetryError. It panics if
// attempts is less than 1.
func WithRetry(attempts int, retryable func(err error) bool) Option {
	if attempts < 1 {
		panic(fmt.Sprintf("stage: WithRetry: %d attempts is less than 1", attempts))
	}
	return func(c *config) {
		c.set |= optRetry
		c.res.attempts, c.res.retryable = attempts, retryable
	}
}

// WithBackoff sets the wait between the attempts of [WithRetry]: it starts
// near initial and grows by half each retry up to max, each wait drawn at
// random within ±50% (the exponential backoff of
// github.com/cenkalti/backoff/v5). The default is its default: 500ms
// growing to 60s. A stage given WithBackoff without WithRetry panics when it
// is built; so do an initial below 1ns or a max below initial.
func WithBackoff(initial, max time.Duration) Option {
	if initial <= 0 || max < initial {
		panic(fmt.Sprintf("stage: WithBackoff: initial %v and max %v: want 0 < initial <= max", initial, max))
	}
	return func(c *config) {
		c.set |= optBackoff
		c.res.initial, c.res.maxWait = initial, max
	}
}

// WithTimeout gives each call of the stage's function a context whose
// deadline is limit after the call starts (with [WithRetry], each attempt
// has its own). A call that returns an error after its deadline has passed
// fails with a [*TimeoutError] ("timed out after 2s: ..."), for which
// errors.Is(err, context.DeadlineExceeded) holds, and which the item's
// error names with its input. Go cannot stop a function: one that ignores
// its context runs on, and one that returns a value late keeps it. A
// deadline costs a context and a timer per call, about half a microsecond:
// nothing beside a request, much beside a function of nanoseconds. The
// default is no deadline but the run's. It panics if limit is not positive.
func WithTimeout(limit time.Duration) Option {
	if limit <= 0 {
		panic(fmt.Sprintf("stage: WithTimeout: limit %v is not positive", limit))
	}
	return func(c *config) { c.set |= optTimeout; c.res.timeout = limit }
}

// WithRate limits the calls of the stage's function to perSecond on
// average, all workers together, with bursts of up to burst calls (a token
// bucket from golang.org/x/time/rate). A worker waits for its token before
// each call, and each attempt of [WithRetry] is a call; the wait ends at
// once when the run is cancelled. The limiter is shared, so each call costs
// a lock (a few hundred nanoseconds when the workers contend). The default
// is no limit. It panics if
// perSecond is not positive (or is infinite or NaN) or burst is less than 1.
func WithRate(perSecond float64, burst int) Option {
	if !(perSecond > 0) || math.IsInf(perSecond, 1) {
		panic(fmt.Sprintf("stage: WithRate: %v per second is not a positive rate", perSecond))
	}
	if burst < 1 {
		panic(fmt.Sprintf("stage: WithRate: burst %d is less than 1", burst))
	}
	return func(c *config) { c.set |= optRate; c.res.perSecond, c.res.burst = perSecond, burst }
}

// DefaultRetryable is the predicate [WithRetry] uses when given nil: every
// error is retried except cancellations and deadlines (context.Canceled,
// context.DeadlineExceeded) that are not a [*TimeoutError] of the stage's
// own [WithTimeout], which is retried.
func DefaultRetryable(err error) bool {
	var te *TimeoutError
	if errors.As(err, &te) {
		return true
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// RetryError is the error of an item that failed under [WithRetry]: the
// number of attempts made and the last attempt's error.
type RetryError struct {
	// Attempts is the number of calls made for the item, at least 1.
	Attempts int
	// Err is the error of the last attempt.
	Err error
}

// Error says how many attempts were made, then the last error.
func (e *RetryError) Error() string {
	if e.Attempts == 1 {
		return fmt.Sprintf("after 1 attempt: %v", e.Err)
	}
	return fmt.Sprintf("after %d attempts: %v", e.Attempts, e.Err)
}

// Unwrap returns the last attempt's error.
func (e *RetryError) Unwrap() error { return e.Err }

// TimeoutError is the error of a call that [WithTimeout] cut short: the
// limit and the error the function returned.
type TimeoutError struct {
	// Limit is the deadline the call was given.
	Limit time.Duration
	// Err is what the function returned, usually its context's error.
	Err error
}

// Error says "timed out after" the limit, then the function's error.
func (e *TimeoutError) Error() string {
	if e.Err == nil || e.Err == context.DeadlineExceeded || e.Err == errTimedOut {
		return fmt.Sprintf("timed out after %v", e.Limit)
	}
	return fmt.Sprintf("timed out after %v: %v", e.Limit, e.Err)
}

// Unwrap returns the function's error.
func (e *TimeoutError) Unwrap() error { return e.Err }

// Is reports true for context.DeadlineExceeded, whatever the function
// returned.
func (e *TimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// errTimedOut is the cause of a call's context whose WithTimeout deadline
// passed: a context.DeadlineExceeded that reads the same (a function that
// returns its context's cause, as net/http does, says "context deadline
// exceeded"), distinct from a deadline of the run's.
var errTimedOut = fmt.Errorf("%w", context.DeadlineExceeded)

// build checks the options for the constructor what and makes the rate
// limiter. It panics on WithBackoff without WithRetry.
func (r *resilience) build(what string, set int) {
	if set&optBackoff != 0 && set&optRetry == 0 {
		panic("stage: " + what + ": WithBackoff without WithRetry")
	}
	if r.perSecond > 0 {
		r.limiter = rate.NewLimiter(rate.Limit(r.perSecond), r.burst)
	}
}

// guard returns fn wrapped by the options: retries, rate limit, timeout. It
// returns fn itself when none is set. The result is safe for concurrent use
// when fn is.
func guard[In, Out any](r *resilience, fn func(context.Context, In) (Out, error)) func(context.Context, In) (Out, error) {
	if r.attempts == 0 && r.timeout == 0 && r.limiter == nil {
		return fn
	}
	once := func(ctx context.Context, v In) (Out, error) {
		if r.limiter != nil {
			if err := r.wait(ctx); err != nil {
				var zero Out
				return zero, err
			}
		}
		if r.timeout == 0 {
			return fn(ctx, v)
		}
		tctx, cancel := context.WithTimeoutCause(ctx, r.timeout, errTimedOut)
		defer cancel()
		out, err := fn(tctx, v)
		if err != nil && context.Cause(tctx) == errTimedOut {
			return out, &TimeoutError{Limit: r.timeout, Err: err}
		}
		return out, err
	}
	if r.attempts == 0 {
		return once
	}
	retryable := r.retryable
	if retryable == nil {
		retryable = DefaultRetryable
	}
	// permanent marks err for backoff.Retry when it is not to be retried.
	permanent := func(err error) error {
		var pe *backoff.PermanentError
		if !errors.As(err, &pe) && !retryable(err) {
			return backoff.Permanent(err)
		}
		return err
	}
	return func(ctx context.Context, v In) (Out, error) {
		// The first attempt runs before any of backoff's machinery, which
		// an item that succeeds at once then does not pay for.
		out, err := once(ctx, v)
		if err == nil {
			return out, nil
		}
		if r.attempts == 1 {
			return out, &RetryError{Attempts: 1, Err: err}
		}
		n := 1
		first := true
		op := func() (Out, error) {
			if first { // the first attempt's outcome, known already
				first = false
				return out, permanent(err)
			}
			n++
			out, err := once(ctx, v)
			if err == nil || n == r.attempts {
				return out, err
			}
			return out, permanent(err)
		}
		out, err = backoff.Retry(ctx, op,
			backoff.WithBackOff(r.newBackOff()),
			backoff.WithMaxTries(uint(r.attempts)),
			backoff.WithMaxElapsedTime(0),
			backoff.WithNotify(func(error, time.Duration) { engine.AddRetries(ctx, 1) }))
		if err != nil {
			var pe *backoff.PermanentError
			if errors.As(err, &pe) && err == error(pe) {
				err = pe.Err // backoff.Permanent returned on the last attempt
			}
			return out, &RetryError{Attempts: n, Err: err}
		}
		return out, nil
	}
}

// newBackOff returns the backoff for one item's attempts.
func (r *resilience) newBackOff() backoff.BackOff {
	b := backoff.NewExponentialBackOff()
	if r.initial > 0 {
		b.InitialInterval, b.MaxInterval = r.initial, r.maxWait
	}
	return b
}

// wait blocks until the rate limit lets a call start, or the run is
// cancelled (it then returns the cancellation's cause).
func (r *resilience) wait(ctx context.Context) error {
	res := r.limiter.Reserve()
	d := res.Delay()
	if d == 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		res.Cancel()
		return context.Cause(ctx)
	}
}
