package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Every row ends inserted, with an id that is its own, or failed with its
// own input because its batch held a row without a name.
func TestInsert(t *testing.T) {
	for _, workers := range []int{1, 4} {
		for _, size := range []int{1, 100, 1000} {
			t.Run(fmt.Sprintf("workers=%d/batch=%d", workers, size), func(t *testing.T) {
				store := &Store{}
				rows := makeRows(20_000)
				var out bytes.Buffer
				ids, failed, err := insert(context.Background(), store, rows, size, workers, nil, &out)
				if err != nil {
					t.Fatal(err)
				}
				if len(ids)+len(failed) != len(rows) {
					t.Fatalf("%d inserted and %d failed of %d", len(ids), len(failed), len(rows))
				}
				if len(ids) != len(store.rows) {
					t.Errorf("%d ids for %d rows in the store", len(ids), len(store.rows))
				}
				for r, id := range ids {
					if id < 1 || int(id) > len(store.rows) || store.rows[id-1] != r {
						t.Fatalf("row %v has id %d, which is another row's", r, id)
					}
				}
				bad := 0
				for _, ie := range failed {
					if !errors.Is(ie, errNoName) || ie.Stage != "insert" {
						t.Errorf("row %v: error %v", ie.Input, ie)
					}
					if _, ok := ids[ie.Input]; ok {
						t.Errorf("row %v failed and has an id", ie.Input)
					}
					if ie.Input.Name == "" {
						bad++
					}
				}
				if bad != 2 { // rows 7918 and 15837
					t.Errorf("%d rows without a name failed, want 2", bad)
				}
				if got := strings.Count(out.String(), "rejected a batch: "); got != 2 {
					t.Errorf("%d batches reported rejected, want 2:\n%s", got, out.String())
				}
				if size == 1 && len(failed) != 2 {
					t.Errorf("batches of one: %d rows failed, want 2", len(failed))
				}
				if calls := store.Calls(); calls < len(rows)/size || calls > len(rows)/size+workers+2 {
					t.Errorf("%d calls for %d rows in batches of %d", calls, len(rows), size)
				}
			})
		}
	}
}

// A cancelled run returns the cancellation and inserts nothing more.
func TestInsertCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	store := &Store{}
	ids, failed, err := insert(ctx, store, makeRows(1000), 10, 2, nil, io.Discard)
	if !errors.Is(err, context.Canceled) || len(failed) != 0 || len(ids) != len(store.rows) {
		t.Fatalf("%d ids, %d failed, error %v", len(ids), len(failed), err)
	}
}
