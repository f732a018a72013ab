package remote

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestFleet: a worker counts as serving while it was heard from within
// three heartbeat periods.
func TestFleet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFleet(time.Second)
		if n := f.count(); n != 0 {
			t.Fatalf("count = %d before any heartbeat", n)
		}
		f.seen("a", 4)
		f.seen("b", 10)
		time.Sleep(2 * time.Second)
		f.seen("b", 10)
		if n, k := f.count(), f.inFlight(); n != 2 || k != 14 {
			t.Errorf("count, in flight = %d, %d after 2s, want 2, 14", n, k)
		}
		time.Sleep(1500 * time.Millisecond) // a: 3.5s ago; b: 1.5s ago
		if n, k := f.count(), f.inFlight(); n != 1 || k != 10 {
			t.Errorf("count, in flight = %d, %d once a is 3.5s silent, want 1, 10", n, k)
		}
		time.Sleep(2 * time.Second)
		if n, k := f.count(), f.inFlight(); n != 0 || k != 0 {
			t.Errorf("count, in flight = %d, %d once both are silent, want 0, 0", n, k)
		}
	})
}

// TestFraming: work and result bodies read back what was written, and a
// truncated body is an error, not a panic or a silent loss.
func TestFraming(t *testing.T) {
	var w, r []byte
	for id, s := range []string{"", "a", strings.Repeat("x", 300)} {
		w = appendWork(w, uint64(id*1000), []byte(s))
		r = appendResult(r, uint64(id*1000), byte(id%2), []byte(s))
	}
	var got []string
	if err := readWork(w, func(id uint64, data []byte) { got = append(got, string(data)) }); err != nil || len(got) != 3 || got[2] != strings.Repeat("x", 300) {
		t.Errorf("work: %v, %q", err, got)
	}
	var ids []uint64
	var sts []byte
	if err := readResult(r, func(id uint64, st byte, _ []byte) { ids, sts = append(ids, id), append(sts, st) }); err != nil || len(ids) != 3 || ids[2] != 2000 || !bytes.Equal(sts, []byte{0, 1, 0}) {
		t.Errorf("results: %v, %v, %v", err, ids, sts)
	}
	for cut := 1; cut < 5; cut++ {
		if err := readWork(w[:len(w)-cut], func(uint64, []byte) {}); !errors.Is(err, errFrame) {
			t.Errorf("work cut by %d: %v", cut, err)
		}
		if err := readResult(r[:len(r)-cut], func(uint64, byte, []byte) {}); !errors.Is(err, errFrame) {
			t.Errorf("results cut by %d: %v", cut, err)
		}
	}
}

// TestFingerprint: the fingerprint changes with the name, the types, the
// codec and the version, and only with them.
func TestFingerprint(t *testing.T) {
	base := newConfig("test", mapOpts, nil)
	v2 := newConfig("test", mapOpts, []Option{WithVersion("2")})
	batch := newConfig("test", mapOpts, []Option{WithBatchSize(3)})
	fp := fingerprint[int, int]("s", base)
	for what, other := range map[string]string{
		"name":    fingerprint[int, int]("t", base),
		"input":   fingerprint[int64, int]("s", base),
		"output":  fingerprint[int, string]("s", base),
		"version": fingerprint[int, int]("s", v2),
		"codec":   fingerprint[int, int]("s", newConfig("test", mapOpts, []Option{WithCodec(otherCodec{})})),
	} {
		if other == fp {
			t.Errorf("the fingerprint does not change with the %s", what)
		}
	}
	if fingerprint[int, int]("s", batch) != fp {
		t.Error("the fingerprint changes with the batch size")
	}
}

type otherCodec struct{ jsonCodec }

func (otherCodec) Name() string { return "json2" }

// TestBatchOf: message ids map back to their batch.
func TestBatchOf(t *testing.T) {
	for id, want := range map[string]uint64{"RUN.7": 7, "RUN.7.r0": 7, "RUN.12.r3": 12, "": ^uint64(0), "RUN.x": ^uint64(0)} {
		if got := batchOf(id); got != want {
			t.Errorf("batchOf(%q) = %d, want %d", id, got, want)
		}
	}
}

// TestCall: a panic in the stage's function becomes an error with its
// value and stack.
func TestCall(t *testing.T) {
	_, err := call(context.Background(), func(context.Context, int) (int, error) { panic("boom") }, 1)
	if err == nil || !strings.Contains(err.Error(), "panic: boom") || !strings.Contains(err.Error(), "internal_test.go") {
		t.Errorf("err = %v", err)
	}
}
