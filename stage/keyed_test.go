package stage_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/flowbar/flowbar/internal/meterstest"
	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// event is an item of a keyed stream: its key and its place in the input.
type event struct{ key, seq int }

func eventKey(e event) int { return e.key }

// events returns n events whose keys are drawn from keys: uniformly, or,
// skewed, nine in ten with key 0.
func events(n, keys int, skewed bool) []event {
	out := make([]event, n)
	x := uint32(12345)
	for i := range out {
		x = x*1664525 + 1013904223
		k := int(x>>8) % keys
		if skewed && x%10 != 0 {
			k = 0
		}
		out[i] = event{key: k, seq: i}
	}
	return out
}

// orderRecorder records, per key, the sequence numbers fn sees, and fails
// if two items of a key are ever worked on at once.
type orderRecorder struct {
	mu      sync.Mutex
	seen    map[int][]int
	running sync.Map // key -> *atomic.Int32
	overlap atomic.Int64
}

func (r *orderRecorder) fn(_ context.Context, e event) (event, error) {
	c, _ := r.running.LoadOrStore(e.key, new(atomic.Int32))
	n := c.(*atomic.Int32)
	if n.Add(1) > 1 {
		r.overlap.Add(1)
	}
	r.mu.Lock()
	if r.seen == nil {
		r.seen = map[int][]int{}
	}
	r.seen[e.key] = append(r.seen[e.key], e.seq)
	r.mu.Unlock()
	n.Add(-1)
	return e, nil
}

// inOrder reports the first key whose sequence numbers are not increasing.
func inOrder(byKey map[int][]int) (int, bool) {
	for k, seqs := range byKey {
		for i := 1; i < len(seqs); i++ {
			if seqs[i] <= seqs[i-1] {
				return k, false
			}
		}
	}
	return 0, true
}

func TestMapByKeyKeepsEachKeysOrder(t *testing.T) {
	for _, skewed := range []bool{false, true} {
		for _, keys := range []int{1, 5, 1000} {
			for _, workers := range []int{1, 2, 8} {
				t.Run(fmt.Sprintf("skewed=%v/keys=%d/workers=%d", skewed, keys, workers), func(t *testing.T) {
					const n = 5000
					p := pipeline.New()
					rec := &orderRecorder{}
					out := stage.MapByKey(stage.FromSlice(p, events(n, keys, skewed)), eventKey, rec.fn, stage.WithWorkers(workers), stage.WithName("agg"))
					got, err := sink.Slice(context.Background(), out)
					if err != nil {
						t.Fatal(err)
					}
					if len(got) != n {
						t.Fatalf("%d results, want %d", len(got), n)
					}
					if k, ok := inOrder(rec.seen); !ok {
						t.Errorf("key %d: fn saw %v, not in input order", k, rec.seen[k])
					}
					if o := rec.overlap.Load(); o > 0 {
						t.Errorf("two items of one key were worked on at once %d times", o)
					}
					handed := map[int][]int{}
					for _, e := range got {
						handed[e.key] = append(handed[e.key], e.seq)
					}
					if k, ok := inOrder(handed); !ok {
						t.Errorf("key %d: results handed on as %v, not in input order", k, handed[k])
					}
					meterstest.Check(t, p)
					names := []string{}
					for _, st := range p.Stages() {
						names = append(names, st.Name())
					}
					if strings.Join(names, " ") != "source0 agg/keys agg sink3" {
						t.Errorf("stages %v", names)
					}
					if total, final := p.Stages()[2].Total(); total != n || !final {
						t.Errorf("total %d, %v; want %d, true", total, final, n)
					}
				})
			}
		}
	}
}

// After an as-completed stage, "input order" is the order in which items
// reach the keyed stage: the order an OnDone right before it sees.
func TestMapByKeyInputOrderAfterAsCompleted(t *testing.T) {
	for _, workers := range []int{1, 8} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			p := pipeline.New()
			shuffled := stage.Map(stage.FromSlice(p, events(3000, 20, false)), func(_ context.Context, e event) (event, error) {
				for range e.seq % 17 * 100 { // uneven work: completion order differs
				}
				return e, nil
			}, stage.WithWorkers(4))
			arrived := map[int][]int{}
			passed := stage.OnDone(shuffled, func(_ event, e event, _ error) { arrived[e.key] = append(arrived[e.key], e.seq) })
			var mu sync.Mutex
			seen := map[int][]int{}
			out := stage.MapByKey(passed, eventKey, func(_ context.Context, e event) (event, error) {
				mu.Lock()
				seen[e.key] = append(seen[e.key], e.seq)
				mu.Unlock()
				return e, nil
			}, stage.WithWorkers(workers))
			if _, err := sink.Count(context.Background(), out); err != nil {
				t.Fatal(err)
			}
			for k, want := range arrived {
				if fmt.Sprint(seen[k]) != fmt.Sprint(want) {
					t.Fatalf("key %d: fn saw %v, items arrived as %v", k, seen[k], want)
				}
			}
			meterstest.Check(t, p)
		})
	}
}

func TestMapByKeyErrors(t *testing.T) {
	boom := errors.New("boom")
	fn := func(_ context.Context, e event) (int, error) {
		switch {
		case e.seq == 13:
			return 0, boom
		case e.seq == 17:
			panic("seventeen")
		}
		return e.seq, nil
	}
	key := func(e event) int {
		if e.seq == 19 {
			panic("no key")
		}
		return e.key
	}
	for _, workers := range []int{1, 8} {
		t.Run(fmt.Sprintf("continue/workers=%d", workers), func(t *testing.T) {
			p := pipeline.New(pipeline.WithContinueOnError())
			out := stage.MapByKey(stage.FromSlice(p, events(100, 7, false)), key, fn, stage.WithWorkers(workers), stage.WithName("agg"))
			got, err := sink.ByInput(context.Background(), out)
			ies := pipeline.ItemErrors[event](err)
			if len(ies) != 3 || len(got) != 97 {
				t.Fatalf("%d failures, %d results; want 3 and 97: %v", len(ies), len(got), err)
			}
			for _, ie := range ies {
				var pe *pipeline.PanicError
				switch ie.Input.seq {
				case 13:
					if ie.Stage != "agg" || !errors.Is(ie, boom) {
						t.Errorf("item 13: %v", ie)
					}
				case 17:
					if ie.Stage != "agg" || !errors.As(ie, &pe) {
						t.Errorf("item 17: %v", ie)
					}
				case 19:
					if ie.Stage != "agg/keys" || !errors.As(ie, &pe) {
						t.Errorf("item 19: %v, want a panic in agg/keys", ie)
					}
				default:
					t.Errorf("unexpected failure %v", ie)
				}
			}
			meterstest.Check(t, p)
		})
		t.Run(fmt.Sprintf("failfast/workers=%d", workers), func(t *testing.T) {
			p := pipeline.New()
			out := stage.MapByKey(stage.FromSlice(p, events(100, 7, false)), eventKey, fn, stage.WithWorkers(workers))
			_, err := sink.ByInput(context.Background(), out)
			var ie *pipeline.ItemError[event]
			if !errors.As(err, &ie) || (ie.Input.seq != 13 && ie.Input.seq != 17) {
				t.Fatalf("err %v, want the failure of item 13 or 17", err)
			}
			meterstest.Check(t, p)
		})
	}
}

func TestMapByKeyCancellation(t *testing.T) {
	for _, how := range []string{"context", "failure"} {
		for _, workers := range []int{1, 8} {
			t.Run(fmt.Sprintf("%s/workers=%d", how, workers), func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				p := pipeline.New()
				src := stage.Generate(p, func(ctx context.Context, emit func(event) bool) error {
					for i := 0; ; i++ {
						if !emit(event{key: i % 31, seq: i}) {
							return ctx.Err()
						}
					}
				})
				stop := errors.New("stop")
				var after atomic.Int64
				out := stage.MapByKey(src, eventKey, func(ctx context.Context, e event) (int, error) {
					if ctx.Err() != nil {
						after.Add(1)
					}
					if e.seq == 2000 {
						if how == "failure" {
							return 0, stop
						}
						cancel()
					}
					return e.seq, nil
				}, stage.WithWorkers(workers))
				_, err := sink.Count(ctx, out)
				switch {
				case how == "context" && !errors.Is(err, context.Canceled):
					t.Fatalf("err %v, want context.Canceled", err)
				case how == "failure" && !errors.Is(err, stop):
					t.Fatalf("err %v, want the failure", err)
				}
				// No item starts once the failure has cancelled the run; the
				// other workers may each be inside a call that started just
				// before and sees the cancellation at its first look.
				if n := after.Load(); n > int64(workers-1) {
					t.Errorf("%d items saw the run cancelled when they started, want at most the %d in flight", n, workers-1)
				}
				meterstest.Check(t, p)
			})
		}
	}
}

func TestMapByKeyMisuse(t *testing.T) {
	p := pipeline.New()
	src := stage.FromSlice(p, events(3, 2, false))
	for _, c := range []struct {
		want string
		f    func()
	}{
		{"stage: MapByKey: key function is nil", func() { stage.MapByKey[event, event, int, int](src, nil, nil) }},
		{"stage: MapByKey: function is nil", func() { stage.MapByKey[event, event, int, int](src, eventKey, nil) }},
		{"stage: MapByKey does not take WithWindow", func() {
			stage.MapByKey(src, eventKey, func(_ context.Context, e event) (int, error) { return 0, nil }, stage.WithWindow(2))
		}},
	} {
		func() {
			defer func() {
				if v := recover(); !strings.Contains(fmt.Sprint(v), c.want) {
					t.Errorf("panic %v, want %q", v, c.want)
				}
			}()
			c.f()
		}()
	}
}
