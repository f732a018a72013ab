package engine

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// shareInbox returns an inbox shared by n workers of one stage, and its
// workers.
func shareInbox(n int) (*inbox[int, int], []*Worker[int, int, int, int]) {
	r := &run{p: &Pipeline{}, ctx: context.Background()}
	spec := &opState[int, int, int, int]{inputs: 1}
	b := &inbox[int, int]{share: true, slots: make([]atomic.Pointer[Chunk[int, int]], n), settled: make(chan struct{})}
	ws := make([]*Worker[int, int, int, int], n)
	for i := range ws {
		ws[i] = &Worker[int, int, int, int]{r: r, id: i, in: b, spec: spec}
	}
	return b, ws
}

// A chunk taken privately (its items looked fast, no sibling was idle)
// whose owner is inside a slow item when an idle sibling asks for a share:
// the owner cannot share before that item ends, so once the chunk has been
// asked for half a budget the sibling claims the items past the owner's
// lease, as a chunk shared from the start. Before, the idle workers waited
// for the slow item to end, and the next ones all stayed with the owner
// until then. Every item is taken exactly once.
func TestIdleWorkerClaimsWhatASlowOwnerHolds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 64
		b, ws := shareInbox(3)
		owner, sib, third := ws[0], ws[1], ws[2]
		items := make([]Item[int, int], n)
		for i := range items {
			items[i] = Item[int, int]{Input: i, Value: i}
		}
		c := owner.publish(items)
		if !c.private() {
			t.Fatal("a chunk taken with no sibling idle and no cost known is shared from the start")
		}
		b.slots[0].Store(c)
		taken := make([]int, n)
		// The owner takes its first item: a slow one, say.
		taken[c.ownTake().Input]++

		sib.ask()
		if s := sib.steal(); s != nil {
			t.Fatal("claimed the moment it asked: the owner may be about to share")
		}
		time.Sleep(time.Duration(budget))
		s := sib.steal()
		if s == nil {
			t.Fatal("nothing claimed from an owner asked a budget ago")
		}
		if s.mode.Load() != chunkShared || s.owner != sib.id {
			t.Fatalf("claimed chunk: mode %d, owner %d; want shared, %d", s.mode.Load(), s.owner, sib.id)
		}
		if got, want := s.items[0].Input, n/8; got != want {
			t.Errorf("claimed from item %d, want %d (the end of the owner's first lease)", got, want)
		}
		if !c.stolen.Load() {
			t.Error("the owner's chunk is not marked stolen: its memory would be reused")
		}
		b.slots[1].Store(s)
		// A third idle worker joins the claimed chunk at its first look:
		// its items have been slow since the owner's chunk was asked.
		if j := third.steal(); j != s {
			t.Errorf("the third worker joined %p, want the claimed chunk %p", j, s)
		}
		for it := s.take(true); it != nil; it = s.take(true) {
			taken[it.Input]++
		}
		// The owner's next item: it shares the rest of its lease.
		owned := 1
		for it := c.ownTake(); it != nil; it = c.ownTake() {
			taken[it.Input]++
			owned++
		}
		if c.mode.Load() != chunkShared || owned != n/8 {
			t.Errorf("owner's chunk: mode %d, %d items taken from it; want shared, %d", c.mode.Load(), owned, n/8)
		}
		if again := third.steal(); again != nil {
			t.Errorf("found %d more items once every item was taken", len(again.items))
		}
		for i, k := range taken {
			if k != 1 {
				t.Errorf("item %d taken %d times", i, k)
			}
		}
	})
}

// An owner that takes its next lease first keeps its items: the claim
// fails, and an owner whose rest was claimed ends its chunk at its lease.
func TestClaimRacesTheOwnersLease(t *testing.T) {
	_, ws := shareInbox(2)
	owner, sib := ws[0], ws[1]
	items := make([]Item[int, int], 16)
	for i := range items {
		items[i] = Item[int, int]{Input: i}
	}
	c := owner.publish(items)
	for range 2 { // the first lease
		c.ownTake()
	}
	c.ownTake() // the second lease
	if s := sib.claim(c); s == nil || s.items[0].Input != 4 || len(s.items) != 12 {
		t.Fatalf("claimed %v, want the 12 items from 4", s)
	}
	got := 3
	for it := c.ownTake(); it != nil; it = c.ownTake() {
		got++
	}
	if got != 4 {
		t.Errorf("the owner took %d items, want 4 (its two leases)", got)
	}
}

// endingInlet reports the end of the input, but calls the waiter's wake
// first, as an inlet about to block does, then during: the input ends
// during the wait, while during runs.
type endingInlet struct{ during func() }

func (e endingInlet) next(_ *run, _ *[]Item[int, int], _ int, w waiter) ([]Item[int, int], bool) {
	w.idle()
	w.wake()
	e.during()
	return nil, false
}

func (endingInlet) release([]Item[int, int]) {}

// A worker whose wait for input claims a sibling's items (wake stashes
// them) while the input ends in the same wait gets the claimed items from
// fetch, not the end: they entered the stage with the owner's chunk, and
// no one else would work on them or count them.
func TestFetchReturnsWhatWakeClaimedAsTheInputEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 64
		b, ws := shareInbox(2)
		owner, sib := ws[0], ws[1]
		items := make([]Item[int, int], n)
		for i := range items {
			items[i] = Item[int, int]{Input: i, Value: i}
		}
		c := owner.publish(items)
		b.slots[0].Store(c)
		c.ownTake() // the owner is inside its first item, a slow one
		// While the sibling waits, the owner ends its lease, finds the
		// rest claimed and is done with the chunk.
		b.in = endingInlet{during: func() {
			for c.ownTake() != nil {
			}
			b.slots[0].Store(nil)
		}}
		sib.ask()
		time.Sleep(time.Duration(budget)) // asked half a budget ago and more: claimable
		got, ok, _ := sib.fetch(nil)
		if !ok || got == nil {
			t.Fatal("fetch reported the end; the items claimed while waiting are lost")
		}
		if got.items[0].Input != n/8 || len(got.items) != n-n/8 {
			t.Errorf("fetch returned items %d.. (%d), want the claimed %d.. (%d)", got.items[0].Input, len(got.items), n/8, n-n/8)
		}
		if sib.stash != nil {
			t.Error("the claimed chunk is still stashed")
		}
	})
}
