// Command bulkinsert inserts rows into a store in bulk with stage.MapBatch:
// one call per batch of rows, as a database's multi-row INSERT or a bulk API
// takes them, while each row keeps its own result (the id the store gave
// it), keyed by the row itself. A live bar counts rows, not batches.
//
//	go run ./examples/bulkinsert                 # 100,000 rows, batches of 500, 4 workers
//	go run ./examples/bulkinsert -rows 1000000 -batch 1000 -workers 8
//
// The store here is in memory, with a latency per call and per row, and it
// rejects a whole batch that holds a row without a name, as a database
// rejects a transaction that breaks a constraint: each row of that batch
// then fails with its own error, and the other batches go on
// (pipeline.WithContinueOnError); each rejected batch is reported above the
// bar as it fails, through the board's Stdout. On Ctrl-C the run stops, the rows
// inserted so far are reported and the exit status is 130.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"time"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/progress"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// Row is one row to insert.
type Row struct {
	Name  string
	Email string
}

// Store is an in-memory table with the cost of a remote one: every call
// takes PerCall, and PerRow more for each row it inserts. It is safe for
// use from many goroutines.
type Store struct {
	PerCall, PerRow time.Duration

	mu    sync.Mutex
	rows  []Row
	calls int
}

// errNoName is the constraint a row without a name breaks.
var errNoName = errors.New("constraint violated: name is empty")

// InsertMany inserts rows in one call and returns their ids, in the rows'
// order. A batch with a row without a name is rejected as a whole, and
// nothing of it is inserted. It returns early with the context's error when
// ctx ends.
func (s *Store) InsertMany(ctx context.Context, rows []Row) ([]int64, error) {
	t := time.NewTimer(s.PerCall + time.Duration(len(rows))*s.PerRow)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	for i, r := range rows {
		if r.Name == "" {
			return nil, fmt.Errorf("row %d of the batch: %w", i, errNoName)
		}
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		s.rows = append(s.rows, r)
		ids[i] = int64(len(s.rows))
	}
	return ids, nil
}

// Calls returns the number of calls made so far.
func (s *Store) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// makeRows returns n rows; every 7,919th has no name.
func makeRows(n int) []Row {
	rows := make([]Row, n)
	for i := range rows {
		rows[i] = Row{Name: fmt.Sprintf("user%d", i), Email: fmt.Sprintf("user%d@example.com", i)}
		if i%7919 == 7918 {
			rows[i].Name = ""
		}
	}
	return rows
}

// insert inserts rows into store in batches of size with workers
// concurrent calls, observed by board (nil for no progress), reports each
// rejected batch on out as it fails, and returns the id of every row
// inserted, keyed by the row, and the rows that failed with their errors.
func insert(ctx context.Context, store *Store, rows []Row, size, workers int, board *progress.Board, out io.Writer) (map[Row]int64, []*pipeline.ItemError[Row], error) {
	opts := []pipeline.Option{pipeline.WithContinueOnError()}
	if board != nil {
		opts = append(opts, pipeline.WithObserver(board))
	}
	p := pipeline.New(opts...)
	ids := stage.MapBatch(stage.FromSlice(p, rows), size, 100*time.Millisecond, store.InsertMany,
		stage.WithWorkers(workers), stage.WithName("insert"))
	ids.Describe(func(r Row, id int64) string { return fmt.Sprintf("%s → id %d", r.Name, id) })
	// Every row of a rejected batch fails; the row that broke the
	// constraint tells.
	ids = stage.OnDone(ids, func(r Row, _ int64, err error) {
		if err != nil && r.Name == "" {
			fmt.Fprintf(out, "rejected a batch: %v\n", err)
		}
	}, stage.WithName("report"))
	got, err := sink.ByInput(ctx, ids)
	failed := pipeline.ItemErrors[Row](err)
	// What is left once the rows' own errors are set aside: the
	// cancellation, if any.
	var other []error
	for _, e := range joined(err) {
		if _, ok := e.(*pipeline.ItemError[Row]); !ok {
			other = append(other, e)
		}
	}
	return got, failed, errors.Join(other...)
}

// joined returns the errors joined in err, or err alone.
func joined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

func main() {
	n := flag.Int("rows", 100_000, "rows to insert")
	size := flag.Int("batch", 500, "rows per call")
	workers := flag.Int("workers", 4, "concurrent calls")
	flag.Parse()
	if *n < 0 || *size < 1 || *workers < 1 {
		fmt.Fprintln(os.Stderr, "bulkinsert: -rows must be at least 0, -batch and -workers at least 1")
		os.Exit(2)
	}
	// Ctrl-C cancels ctx; a second Ctrl-C kills the program at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	context.AfterFunc(ctx, stop)
	store := &Store{PerCall: 5 * time.Millisecond, PerRow: 5 * time.Microsecond}
	rows := makeRows(*n)
	start := time.Now()
	board := progress.New() // bars on stderr
	ids, failed, err := insert(ctx, store, rows, *size, *workers, board, board.Stdout())
	interrupted := ctx.Err() != nil
	stop()
	fmt.Printf("%d rows inserted in %d calls in %v; %d rows failed\n", len(ids), store.Calls(), time.Since(start).Round(time.Millisecond), len(failed))
	if len(failed) > 0 {
		fmt.Println("first failure:", failed[0])
	}
	if r := rows[0]; len(ids) > 0 {
		fmt.Printf("%s <%s> has id %d\n", r.Name, r.Email, ids[r])
	}
	switch {
	case interrupted:
		fmt.Fprintln(os.Stderr, "bulkinsert: interrupted")
		os.Exit(130)
	case err != nil:
		fmt.Fprintln(os.Stderr, "bulkinsert:", err)
		os.Exit(1)
	}
}
