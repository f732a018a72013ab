package knobs_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/flowbar/flowbar/internal/knobs"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRead(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want knobs.Set
	}{
		{"", knobs.Set{}},
		{"sizing", knobs.Set{NoSizing: true}},
		{" early , direct,", knobs.Set{NoEarly: true, NoDirect: true}},
		{"share,presize,lookahead", knobs.Set{NoShare: true, NoPresize: true, NoLookahead: true}},
		{strings.Join(knobs.Names, ","), knobs.Set{true, true, true, true, true, true}},
	} {
		t.Setenv(knobs.Env, tc.env)
		if got := knobs.Read(); got != tc.want {
			t.Errorf("%s=%q: Read() = %+v, want %+v", knobs.Env, tc.env, got, tc.want)
		}
	}
}

func TestReadEachName(t *testing.T) {
	seen := map[knobs.Set]string{}
	for _, name := range knobs.Names {
		t.Setenv(knobs.Env, name)
		got := knobs.Read()
		if got == (knobs.Set{}) {
			t.Errorf("%s=%q switches nothing off", knobs.Env, name)
		}
		if other, ok := seen[got]; ok {
			t.Errorf("%s=%q and %q switch off the same heuristics", knobs.Env, name, other)
		}
		seen[got] = name
	}
}

func TestReadUnknownPanics(t *testing.T) {
	t.Setenv(knobs.Env, "sizing,fusion")
	defer func() {
		msg := fmt.Sprint(recover())
		if !strings.HasPrefix(msg, "pipeline: FLOWBAR_KNOBS: unknown heuristic \"fusion\"") || !strings.Contains(msg, "lookahead") {
			t.Errorf("panic %q, want one naming the unknown heuristic and the known ones", msg)
		}
	}()
	knobs.Read()
	t.Error("Read did not panic on an unknown heuristic")
}

func ExampleRead() {
	os.Setenv(knobs.Env, "sizing,lookahead")
	defer os.Unsetenv(knobs.Env)
	k := knobs.Read()
	fmt.Println(k.NoSizing, k.NoEarly, k.NoLookahead)
	// Output: true false true
}
