package pipeline

import (
	"github.com/sourcegraph/conc/panics"

	"errors"
	"fmt"
)

// ErrStopped is the cancellation cause of a run whose sink stopped reading
// before the input was exhausted: a range loop that breaks, or a sink
// function that asked to stop. User functions still in flight see it through
// [context.Cause]. A sink that stops early on purpose does not return it.
var ErrStopped = errors.New("pipeline: stopped by the consumer")

// ItemError is the error of one item: the pipeline's original input that the
// item came from, the stage that failed and what the stage's function
// returned (or a [*PanicError] when it panicked).
//
// Under fail-fast (the default) the first ItemError cancels the run and is
// returned by the sink. Under [WithContinueOnError] every failure is kept and the
// sink returns them joined with [errors.Join]; [ItemErrors] lists them.
type ItemError[S any] struct {
	// Input is the pipeline's original input for the failed item.
	Input S
	// Stage is the name of the stage whose function failed.
	Stage string
	// Err is the error returned by the stage's function, or a *PanicError.
	Err error
}

// Error reports the stage, the item and the cause.
func (e *ItemError[S]) Error() string {
	return fmt.Sprintf("pipeline: stage %q: item %v: %v", e.Stage, e.Input, e.Err)
}

// Unwrap returns the stage function's error.
func (e *ItemError[S]) Unwrap() error { return e.Err }

// withCause returns a copy of e whose Err also carries cause.
func (e *ItemError[S]) withCause(cause error) error {
	return &ItemError[S]{Input: e.Input, Stage: e.Stage, Err: errors.Join(e.Err, cause)}
}

// PanicError is the error a panic in a user function becomes. The run goes
// on (or stops, under fail-fast) as for any other error; the process does not
// crash.
type PanicError struct {
	// Value is the value passed to panic.
	Value any
	// Stack is the stack of the goroutine that panicked, as formatted by
	// runtime/debug.Stack.
	Stack []byte
}

// Error reports the panic value; the stack is in the Stack field.
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns the panic value when it is an error, so that errors.Is and
// errors.As see through a panic(err).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// ItemErrors lists the per-item errors in err, in the order they were
// recorded: err itself when it is an [*ItemError], or the ItemErrors joined in
// it. Errors of other kinds (a cancelled context, a source's error) are
// skipped. S must be the pipeline's source type.
func ItemErrors[S any](err error) []*ItemError[S] {
	var out []*ItemError[S]
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if ie, ok := err.(*ItemError[S]); ok {
			out = append(out, ie)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	return out
}

// stack returns the stack of the panicking goroutine; call it from the
// deferred function that recovered v.
func stack(v any) []byte {
	rec := panics.NewRecovered(2, v)
	return rec.Stack
}
