package engine

// The edge bounds, for the tests of package engine_test.
const (
	EdgeChunks = edgeChunks
	EdgeItems  = edgeItems
)
