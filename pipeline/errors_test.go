package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

func explode(_ context.Context, s string) (int, error) {
	if s == "bad item" {
		panic("boom")
	}
	return len(s), nil
}

// The one-line form of a panic's error names the item (a string quoted)
// and where the panic happened; %+v adds the stack.
func TestPanicErrorFormats(t *testing.T) {
	p := pipeline.New()
	_, err := sink.ByInput(context.Background(), stage.Map(stage.FromSlice(p, []string{"ok", "bad item"}), explode))
	var pe *pipeline.PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v is not a panic", err)
	}
	line := fmt.Sprintf("%v", err)
	if want := `pipeline: stage "explode": item "bad item": panic: boom (at errors_test.go:17)`; line != want {
		t.Errorf("%%v = %q\nwant   %q", line, want)
	}
	if s := fmt.Sprint(err); s != line {
		t.Errorf("Sprint = %q, %%v = %q", s, line)
	}
	full := fmt.Sprintf("%+v", err)
	if !strings.HasPrefix(full, line+"\n") || !strings.Contains(full, "goroutine ") || !strings.Contains(full, "pipeline_test.explode") {
		t.Errorf("%%+v does not add the stack after the line:\n%s", full)
	}
	if got := fmt.Sprintf("%+v", pe); !strings.Contains(got, "pipeline_test.explode") {
		t.Errorf("%%+v of the PanicError itself has no stack:\n%s", got)
	}
}

// Inputs that are not strings print as %v does.
func TestItemErrorNamesInput(t *testing.T) {
	ie := &pipeline.ItemError[int]{Input: 42, Stage: "s", Err: errors.New("no")}
	if got, want := ie.Error(), `pipeline: stage "s": item 42: no`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
