package engine

import "sync/atomic"

// Chunk is a run of items taken together from a stage's input. Its items
// are handed out one at a time. The worker that took it (its owner) takes
// them with a private index; once an idle worker of the same stage asks for
// a share, the owner turns the chunk shared at its next item, and from then
// on every worker takes the items not yet started with an atomic add.
type Chunk[S, T any] struct {
	items []Item[S, T]
	pos   int          // the owner's next item, while private
	mode  atomic.Int32 // chunkPrivate, chunkAsked or chunkShared
	next  atomic.Int64 // the next item, once shared
	owner int
	fast  bool // no failure record among the items: the owner's Next may skip the checks
	// stolen is set by a worker that takes items from a chunk it does not
	// own: the owner then neither reuses nor releases its memory.
	stolen atomic.Bool
	// seen and seenAt are where next stood when an idle worker last
	// looked, and when (clock).
	seen, seenAt atomic.Int64
}

// The modes of a chunk.
const (
	chunkPrivate int32 = iota // only the owner takes items
	chunkAsked                // an idle worker asked the owner to share
	chunkShared               // every worker of the stage takes items
)

// ownTake returns the owner's next item, or nil at the end of the chunk.
func (c *Chunk[S, T]) ownTake() *Item[S, T] {
	if c.mode.Load() == chunkPrivate {
		if c.pos >= len(c.items) {
			return nil
		}
		c.pos++
		return &c.items[c.pos-1]
	}
	if c.mode.Load() == chunkAsked {
		c.next.Store(int64(c.pos))
		c.mode.Store(chunkShared)
	}
	return c.sharedTake()
}

// private reports whether the owner takes the next item alone: no sibling
// has asked for a share. One load of the chunk's own cache line.
func (c *Chunk[S, T]) private() bool { return c.mode.Load() == chunkPrivate }

// sharedTake returns the next item of a shared chunk, or nil.
func (c *Chunk[S, T]) sharedTake() *Item[S, T] {
	if i := c.next.Add(1) - 1; i < int64(len(c.items)) {
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
func (c *Chunk[S, T]) left() int64 { return int64(len(c.items)) - c.next.Load() }
