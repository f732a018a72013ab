package stage_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"sync"
	"time"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// FilterErr keeps the items a lookup accepts; a failed lookup fails its
// item, named by its input.
func ExampleFilterErr() {
	banned := map[string]bool{"mallory": true}
	p := pipeline.New(pipeline.WithContinueOnError())
	users := stage.OrderedFilterErr(stage.FromSlice(p, []string{"alice", "mallory", "bob", "eve"}),
		func(_ context.Context, name string) (bool, error) {
			if name == "eve" {
				return false, errors.New("directory unavailable")
			}
			return !banned[name], nil
		})
	kept, err := sink.Slice(context.Background(), users)
	fmt.Println(kept)
	fmt.Println(err)
	// Output:
	// [alice bob]
	// pipeline: stage "filter1": item "eve": directory unavailable
}

// MapWith gives each worker a hasher of its own, made once and used for
// every item that worker runs.
func ExampleMapWith() {
	var mu sync.Mutex
	made := 0
	p := pipeline.New()
	sums := stage.MapWith(stage.FromSlice(p, []string{"a", "b", "c", "d"}),
		func(context.Context) (hash.Hash, error) {
			mu.Lock()
			made++
			mu.Unlock()
			return sha256.New(), nil
		},
		func(_ context.Context, h hash.Hash, s string) (string, error) {
			h.Reset()
			h.Write([]byte(s))
			return hex.EncodeToString(h.Sum(nil))[:8], nil
		}, stage.WithWorkers(2))
	m, err := sink.ByInput(context.Background(), sums)
	fmt.Println(m["a"], m["d"], err, made <= 2)
	// Output:
	// ca978112 18ac3e73 <nil> true
}

// WithRetry calls a flaky function again after a backoff; the stage counts
// the retries, and an item that still fails says how many attempts it had.
func ExampleWithRetry() {
	var mu sync.Mutex
	calls := map[int]int{}
	p := pipeline.New(pipeline.WithContinueOnError())
	out := stage.Map(stage.FromSlice(p, []int{1, 2, 3}), func(_ context.Context, x int) (int, error) {
		mu.Lock()
		calls[x]++
		n := calls[x]
		mu.Unlock()
		if x == 3 || n < 2 { // 1 and 2 fail once; 3 always fails
			return 0, fmt.Errorf("service busy (call %d)", n)
		}
		return 10 * x, nil
	}, stage.WithName("call"), stage.WithRetry(3, nil), stage.WithBackoff(time.Millisecond, 10*time.Millisecond))
	m, err := sink.ByInput(context.Background(), out)
	fmt.Println(m[1], m[2], len(m))
	fmt.Println(err)
	var re *stage.RetryError
	fmt.Println(errors.As(err, &re), re.Attempts)
	fmt.Println(p.Stages()[1].Counts().Retries, "retried")
	// Output:
	// 10 20 2
	// pipeline: stage "call": item 3: after 3 attempts: service busy (call 3)
	// true 3
	// 4 retried
}

// WithTimeout gives each call a deadline; a call that runs past it fails
// with an error that names the item and the limit.
func ExampleWithTimeout() {
	p := pipeline.New(pipeline.WithContinueOnError())
	out := stage.Map(stage.FromSlice(p, []string{"fast", "stuck"}), func(ctx context.Context, s string) (int, error) {
		if s == "stuck" {
			<-ctx.Done() // a call that only ends at its deadline
			return 0, ctx.Err()
		}
		return len(s), nil
	}, stage.WithName("get"), stage.WithTimeout(20*time.Millisecond))
	m, err := sink.ByInput(context.Background(), out)
	fmt.Println(m)
	fmt.Println(err)
	fmt.Println(errors.Is(err, context.DeadlineExceeded))
	// Output:
	// map[fast:4]
	// pipeline: stage "get": item "stuck": timed out after 20ms
	// true
}

// WithRate spaces the calls of all the stage's workers: here at most 200 a
// second after a burst of 2, so the 6 calls take 20ms or more (the spacing
// itself is checked by the package's tests, on a fake clock).
func ExampleWithRate() {
	p := pipeline.New()
	out := stage.OrderedMap(stage.FromSlice(p, []int{1, 2, 3, 4, 5, 6}), func(_ context.Context, x int) (int, error) {
		return x * x, nil
	}, stage.WithWorkers(3), stage.WithRate(200, 2))
	squares, err := sink.Slice(context.Background(), out)
	fmt.Println(squares, err)
	// Output:
	// [1 4 9 16 25 36] <nil>
}
