package engine

import "sync/atomic"

// Chunk is a run of items taken together from a stage's input. Its items
// are handed out one at a time. The worker that took it (its owner) takes
// them with a private index; once an idle worker of the same stage asks for
// a share, the owner turns the chunk shared at its next item, and from then
// on every worker takes the items not yet started with an atomic add.
//
// The owner holds its private items by leases of an eighth of the chunk,
// each taken with a compare-and-swap of horizon: an asked owner that does
// not come to its next item (it is inside a slow one) cannot hand on the
// items after it, so the asking worker claims those past the lease for
// itself instead (see Worker.claim).
type Chunk[S, T any] struct {
	items []Item[S, T]
	pos   int          // the owner's next item, while private
	lim   int          // the end of the owner's lease: pos < lim
	end   int          // the end of the owner's items, set before it turns the chunk shared
	mode  atomic.Int32 // chunkPrivate, chunkAsked or chunkShared
	next  atomic.Int64 // the next item, once shared
	// horizon is lim while private, where a sibling may claim the rest of
	// the chunk; -1-h once claimed at h, and len(items) once nothing is
	// left to claim (the chunk is shared).
	horizon atomic.Int64
	owner   int
	fast    bool // no failure record among the items: the owner's Next may skip the checks
	// counted says that the items entered the stage with the chunk they
	// were claimed from.
	counted bool
	// stolen is set by a worker that takes items from a chunk it does not
	// own: the owner then neither reuses nor releases its memory.
	stolen atomic.Bool
	// seen and seenAt are where next stood when an idle worker last
	// looked, and when (clock); for a chunk asked for a share, seenAt is
	// when it was asked.
	seen, seenAt atomic.Int64
}

// The modes of a chunk.
const (
	chunkPrivate int32 = iota // only the owner takes items
	chunkAsked                // an idle worker asked the owner to share
	chunkShared               // every worker of the stage takes items
)

// lease readies c, fresh from the input, for its owner: the first lease,
// or every item when no sibling can claim them.
func (c *Chunk[S, T]) lease(claimable bool) {
	n := len(c.items)
	c.pos, c.end, c.lim = 0, n, n
	if claimable {
		c.lim = max(n/8, 1)
	}
	c.horizon.Store(int64(c.lim))
}

// ownTake returns the owner's next item, or nil at the end of the chunk.
func (c *Chunk[S, T]) ownTake() *Item[S, T] {
	if c.mode.Load() == chunkPrivate {
		if c.pos >= c.lim && !c.extend() {
			return nil
		}
		c.pos++
		return &c.items[c.pos-1]
	}
	if c.mode.Load() == chunkAsked {
		// Nothing past the lease can be claimed from now on; what was
		// claimed is no longer the owner's.
		if h := c.horizon.Swap(int64(len(c.items))); h < 0 {
			c.end = int(-1 - h)
		}
		c.next.Store(int64(c.pos))
		c.seen.Store(int64(c.pos))
		c.mode.Store(chunkShared)
	}
	return c.sharedTake()
}

// extend takes the owner's next lease, and reports false at the end of the
// chunk or once a sibling has claimed the rest.
func (c *Chunk[S, T]) extend() bool {
	n := len(c.items)
	if c.lim >= n {
		return false
	}
	next := min(c.lim+max(n/8, 1), n)
	if !c.horizon.CompareAndSwap(int64(c.lim), int64(next)) {
		return false
	}
	c.lim = next
	return true
}

// private reports whether the owner takes the next item alone: no sibling
// has asked for a share. One load of the chunk's own cache line.
func (c *Chunk[S, T]) private() bool { return c.mode.Load() == chunkPrivate }

// sharedTake returns the next item of a shared chunk, or nil.
func (c *Chunk[S, T]) sharedTake() *Item[S, T] {
	if i := c.next.Add(1) - 1; i < int64(c.end) {
		return &c.items[i]
	}
	return nil
}

// take is ownTake for the owner, sharedTake for another worker.
func (c *Chunk[S, T]) take(owner bool) *Item[S, T] {
	if owner {
		return c.ownTake()
	}
	return c.sharedTake()
}

// left is the number of items not yet started in a shared chunk.
func (c *Chunk[S, T]) left() int64 { return int64(c.end) - c.next.Load() }
