package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"

	"github.com/sourcegraph/conc/panics"
)

// ItemError is the error of one item: the pipeline's original input that the
// item came from, the stage that failed and what the stage's function
// returned (or a [*PanicError] when it panicked).
//
// Under fail-fast (the default) the first ItemError cancels the run and is
// returned by the sink. Under continue-on-error every failure is kept and the
// sink returns them joined with [errors.Join]; [ItemErrors] lists them.
type ItemError[S any] struct {
	// Input is the pipeline's original input for the failed item.
	Input S
	// Stage is the name of the stage whose function failed.
	Stage string
	// Err is the error returned by the stage's function, or a *PanicError.
	Err error
}

// Error reports the stage, the item (a string input quoted) and the cause.
func (e *ItemError[S]) Error() string {
	return fmt.Sprintf("pipeline: stage %q: item %s: %v", e.Stage, formatInput(e.Input), e.Err)
}

// Format prints Error for %v and %s; %+v adds the stack of a panic in the
// chain of causes.
func (e *ItemError[S]) Format(f fmt.State, verb rune) { formatError(f, verb, e) }

// Unwrap returns the stage function's error.
func (e *ItemError[S]) Unwrap() error { return e.Err }

func (e *ItemError[S]) inputType() reflect.Type { return reflect.TypeFor[S]() }

// withCause returns a copy of e whose Err also carries cause.
func (e *ItemError[S]) withCause(cause error) error {
	return &ItemError[S]{Input: e.Input, Stage: e.Stage, Err: errors.Join(e.Err, cause)}
}

func formatInput(v any) string {
	switch v.(type) {
	case string, []byte:
		return fmt.Sprintf("%q", v)
	}
	return fmt.Sprint(v)
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
	// Location is the file and line of the panic ("hash.go:42"), or "".
	Location string
}

// Error reports the panic value and where it happened; %+v adds the stack.
func (e *PanicError) Error() string {
	if e.Location == "" {
		return fmt.Sprintf("panic: %v", e.Value)
	}
	return fmt.Sprintf("panic: %v (at %s)", e.Value, e.Location)
}

// Format prints Error for %v and %s; %+v adds the stack.
func (e *PanicError) Format(f fmt.State, verb rune) { formatError(f, verb, e) }

// Unwrap returns the panic value when it is an error, so that errors.Is and
// errors.As see through a panic(err).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

func formatError(f fmt.State, verb rune, err error) {
	switch {
	case verb == 'v' && f.Flag('+'):
		fmt.Fprint(f, err.Error())
		var pe *PanicError
		if errors.As(err, &pe) && len(pe.Stack) > 0 {
			fmt.Fprintf(f, "\n%s", strings.TrimRight(string(pe.Stack), "\n"))
		}
	case verb == 'q':
		fmt.Fprintf(f, "%q", err.Error())
	default:
		fmt.Fprint(f, err.Error())
	}
}

// newPanicError builds the error of panic value v; call it from the deferred
// function that recovered v.
func newPanicError(v any) *PanicError {
	rec := panics.NewRecovered(2, v)
	return &PanicError{Value: v, Stack: rec.Stack, Location: panicLocation(rec.Callers)}
}

// panicLocation returns file:line of the frame that called panic (or faulted).
func panicLocation(callers []uintptr) string {
	frames := runtime.CallersFrames(callers)
	afterPanic := false
	for {
		f, more := frames.Next()
		if afterPanic && !strings.HasPrefix(f.Function, "runtime.") {
			return fmt.Sprintf("%s:%d", filepath.Base(f.File), f.Line)
		}
		if f.Function == "runtime.gopanic" || strings.HasPrefix(f.Function, "runtime.panic") || f.Function == "runtime.sigpanic" {
			afterPanic = true
		}
		if !more {
			return ""
		}
	}
}

// anyItemError is an ItemError of any input type.
type anyItemError interface{ inputType() reflect.Type }

// ItemErrors lists the per-item errors in err, in the order they were
// recorded: err itself when it is an [*ItemError], or the ItemErrors joined
// in it. Errors of other kinds (a cancelled context, a source's error) are
// skipped. S must be the pipeline input type of the stages that failed; it
// panics if err holds an ItemError of another input type (a stage after a
// batch, whose input is a slice of inputs), which would otherwise be left
// out silently.
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
		if other, ok := err.(anyItemError); ok {
			panic(fmt.Sprintf("pipeline: ItemErrors[%v]: the error holds item errors for pipeline input type %v; use ItemErrors[%v]",
				reflect.TypeFor[S](), other.inputType(), other.inputType()))
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

// failedHookPanic returns the failure record err of an item that failed
// upstream, with the panic of stage's failure hook joined to its cause.
func failedHookPanic(err error, stage string, pe *PanicError) error {
	type itemError interface{ withCause(error) error }
	hook := fmt.Errorf("stage %q: failure callback: %w", stage, pe)
	if ie, ok := err.(itemError); ok {
		return ie.withCause(hook)
	}
	return errors.Join(err, hook)
}

// isCancellation reports whether err is the consequence of the run's
// cancellation (the function saw the cancelled context) rather than a
// failure of its own.
func isCancellation(r *run, err error) bool {
	if _, ok := err.(*PanicError); ok {
		return false
	}
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, context.Cause(r.ctx))
}
