package campaign

import (
	"context"
	"runtime"
	"runtime/metrics"
	"testing"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// heapBound is the live heap a streaming run may reach, whatever its length.
// Each edge holds a fixed number of chunks of at most DefaultChunkSize
// items, and the source buffer SourceBuffer items: a few hundred KiB of
// 16-byte items; the bound leaves room for the test binary's own heap.
const heapBound = 16 << 20

// streamPeakHeap streams n items through generate -> map -> filter ->
// for-each and returns the highest live heap seen (as of the last garbage
// collection, forced every 64Ki items so that the figure is the live heap,
// not garbage).
func streamPeakHeap(t *testing.T, n int64) (peak uint64, consumed int64) {
	t.Helper()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	runtime.GC()
	p := pipeline.New()
	src := stage.Generate(p, func(ctx context.Context, emit func(int64) bool) error {
		for i := range n {
			if !emit(i) {
				return ctx.Err()
			}
		}
		return nil
	})
	sq := stage.Map(src, func(_ context.Context, x int64) (float64, error) { return float64(x) * 1.5, nil }, stage.WithWorkers(4))
	kept := stage.Filter(sq, func(v float64) bool { return int64(v)%3 != 0 }, stage.WithWorkers(2))
	err := sink.ForEach(context.Background(), kept, func(_ int64, _ float64) error {
		consumed++
		if consumed%(1<<16) == 0 {
			runtime.GC()
			peak = max(peak, read())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	peak = max(peak, read())
	for _, st := range p.Stages() {
		if k := st.Counts(); !k.Balanced() {
			t.Fatalf("stage %s unbalanced: %+v", st.Name(), k)
		}
	}
	return peak, consumed
}

// TestBoundedMemory streams 10,000,000 items (FLOWBAR_LONG=1; 300,000
// otherwise) through map -> filter -> for-each and checks that the live heap
// stays under a fixed bound, and that it does not grow with the input: a
// run ten times shorter peaks within a few MiB of the long one.
func TestBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams millions of items")
	}
	n := int64(300_000)
	if long() {
		n = 10_000_000
	}
	short, _ := streamPeakHeap(t, n/10)
	peak, consumed := streamPeakHeap(t, n)
	t.Logf("streamed %d items (%d kept): peak live heap %.2f MiB; a run of %d items: %.2f MiB (bound %d MiB)",
		n, consumed, float64(peak)/(1<<20), n/10, float64(short)/(1<<20), heapBound>>20)
	if peak > heapBound {
		t.Errorf("peak live heap %d bytes, bound %d", peak, heapBound)
	}
	if peak > short+4<<20 {
		t.Errorf("live heap grows with the input: %d bytes for %d items, %d for %d", peak, n, short, n/10)
	}
}
