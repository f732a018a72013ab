package engine

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// queueWaiter is a consumer's side of a wait, counting its calls.
type queueWaiter struct {
	idles, wakes int
	tick         <-chan time.Time
}

func (w *queueWaiter) idle() { w.idles++ }
func (w *queueWaiter) wake() <-chan time.Time {
	w.wakes++
	return w.tick
}

func newQueueRun(ctx context.Context) *run {
	return &run{p: &Pipeline{}, ctx: ctx}
}

func putN(t *testing.T, q *sourceQueue[int, int], r *run, st *Stage, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if !q.put(r, Item[int, int]{Input: i, Value: i}, 1, 2) {
			t.Fatalf("put %d: refused", i)
		}
	}
}

// A consumer takes queued items as a chunk, at most its share of what is
// queued (guided self-scheduling) and at most what it wants, in order; the
// source counts items in (and their weight) as they are queued, every
// countEvery items, and out as they are taken, never more out than in.
func TestSourceQueueTakesChunks(t *testing.T) {
	st := &Stage{}
	q := newSourceQueue[int, int](st)
	q.setConsumers(2)
	r := newQueueRun(context.Background())
	putN(t, q, r, st, 0, 1000)
	if in := st.m.in.Load(); in != 1000/countEvery*countEvery {
		t.Errorf("%d counted in after 1000 queued, want %d", in, 1000/countEvery*countEvery)
	}
	var buf []Item[int, int]
	w := &queueWaiter{}
	var got []int
	for _, want := range []int{512, 512, 512, 1} {
		b, ok := q.next(r, &buf, want, w)
		if !ok {
			t.Fatal("next: ended")
		}
		got = append(got, len(b))
		if in, w := st.m.in.Load(), st.m.weight.Load(); in != 1000 || w != 2000 {
			t.Errorf("%d in, weight %d once items are taken, want 1000 and 2000", in, w)
		}
		if b[0].Input != int(st.m.out.Load())-len(b) {
			t.Fatalf("chunk starts at %d after %d taken", b[0].Input, st.m.out.Load()-int64(len(b)))
		}
	}
	// 1000 queued, 2 consumers: 250, then 750/4 = 187, 563/4 = 140, then 1.
	if want := []int{250, 187, 140, 1}; !equalInts(got, want) {
		t.Errorf("chunks of %v, want %v", got, want)
	}
	if w.idles != 0 || w.wakes != 0 {
		t.Errorf("waited (%d idle, %d wake) with items queued", w.idles, w.wakes)
	}
	q.close()
	for {
		b, ok := q.next(r, &buf, 512, w)
		if !ok {
			break
		}
		if len(b) == 0 {
			t.Fatal("an empty chunk")
		}
	}
	if n := st.m.out.Load(); n != 1000 {
		t.Errorf("%d counted out, want 1000", n)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// An item queued while a consumer waits wakes it at once; the consumer
// hands on what it holds (idle) before it waits, and its wake channel ends
// the wait with no items.
func TestSourceQueueWakesAWaitingConsumer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &Stage{}
		q := newSourceQueue[int, int](st)
		r := newQueueRun(t.Context())
		start := time.Now()
		go func() {
			time.Sleep(time.Second)
			putN(t, q, r, st, 0, 1)
		}()
		var buf []Item[int, int]
		w := &queueWaiter{}
		b, ok := q.next(r, &buf, 512, w)
		if !ok || len(b) != 1 || b[0].Input != 0 {
			t.Fatalf("next = %v, %v", b, ok)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("the item came after %v, want 1s", d)
		}
		if w.idles != 1 || w.wakes != 1 {
			t.Errorf("%d idle and %d wake calls before the wait, want 1 and 1", w.idles, w.wakes)
		}
		tick := make(chan time.Time, 1)
		tick <- time.Now()
		w.tick = tick
		if b, ok := q.next(r, &buf, 512, w); !ok || len(b) != 0 {
			t.Errorf("next after a tick = %v, %v; want no items and true", b, ok)
		}
		q.close()
		if _, ok := q.next(r, &buf, 512, w); ok {
			t.Error("next after close: not ended")
		}
	})
}

// The producer waits once sourceBuffer items are queued, counting the
// time as blocked, until the consumers have taken half of them; a
// cancelled run ends its wait with the item not queued.
func TestSourceQueueIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &Stage{}
		q := newSourceQueue[int, int](st)
		ctx, cancel := context.WithCancel(t.Context())
		r := newQueueRun(ctx)
		putN(t, q, r, st, 0, sourceBuffer)
		done := make(chan bool)
		go func() { done <- q.put(r, Item[int, int]{Input: sourceBuffer}, 1, 2) }()
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("put past the bound did not wait")
		default:
		}
		var buf []Item[int, int]
		w := &queueWaiter{}
		time.Sleep(time.Second)
		q.next(r, &buf, sourceBuffer/2-1, w) // below half: still full
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("the producer was woken above half")
		default:
		}
		q.next(r, &buf, 1, w)
		if !<-done {
			t.Fatal("put refused")
		}
		if b := time.Duration(st.m.blocked.Load()); b != time.Second {
			t.Errorf("blocked %v, want 1s", b)
		}
		putN(t, q, r, st, sourceBuffer+1, sourceBuffer/2-1)
		go func() { done <- q.put(r, Item[int, int]{Input: -1}, 1, 2) }()
		synctest.Wait()
		cancel()
		if <-done {
			t.Error("put after cancellation: queued")
		}
		q.close()
		n := 0
		for {
			b, ok := q.next(r, &buf, 512, w)
			if !ok {
				break
			}
			for _, it := range b {
				if it.Input == -1 {
					t.Error("the refused item was queued")
				}
			}
			n += len(b)
		}
		if n != sourceBuffer {
			t.Errorf("%d items left, want %d", n, sourceBuffer)
		}
	})
}
