package engine

// The edge bounds, for the tests of package engine_test.
const (
	EdgeChunks = edgeChunks
	EdgeItems  = edgeItems
)

// Expired is the channel an idle worker's wait ends on once it has found a
// sibling's chunk to share.
var Expired = expired
