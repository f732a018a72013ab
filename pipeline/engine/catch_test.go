package engine_test

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/flowbar/flowbar/pipeline/engine"
)

func TestCatch(t *testing.T) {
	ran := false
	if pe := engine.Catch(func() { ran = true }); pe != nil || !ran {
		t.Fatalf("no panic: %v, ran %v", pe, ran)
	}
	errBoom := errors.New("boom")
	pe := engine.Catch(func() { panic(errBoom) })
	if pe == nil || pe.Value != errBoom || !errors.Is(pe, errBoom) {
		t.Fatalf("panic(err): %v", pe)
	}
	if !strings.HasPrefix(pe.Location, "catch_test.go:") || !strings.Contains(string(pe.Stack), "TestCatch") {
		t.Errorf("location %q, stack:\n%s", pe.Location, pe.Stack)
	}
	var re runtime.Error
	pe = engine.Catch(func() { at([]int{1, 2, 3}, 3) }) // a run-time error
	if pe == nil || !errors.As(pe, &re) {
		t.Errorf("run-time error: %v", pe)
	}
	pe = engine.Catch(func() { panic(nil) })
	var pn *runtime.PanicNilError
	if pe == nil || !errors.As(pe, &pn) {
		t.Errorf("panic(nil): %v", pe)
	}
}

// at returns xs[i].
func at(xs []int, i int) int { return xs[i] }
