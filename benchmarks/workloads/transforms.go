package workloads

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// The sizes of the transform families.
const (
	// FlatMapInputs items each become FlatMapFan outputs.
	FlatMapInputs = 250_000
	FlatMapFan    = 4
	// BatchItems items are grouped into batches of TransformBatch, a
	// partial batch going on after BatchWait.
	BatchItems     = 1_000_000
	TransformBatch = 100
	BatchWait      = time.Millisecond
	// MergeItems items come from MergeParts sources.
	MergeItems = 1_000_000
	MergeParts = 2
)

// FlowbarEmit is, for the FlatMap family, flowbar's FlatMapEmit, whose
// function emits its outputs one by one instead of returning a slice.
const FlowbarEmit = "flowbar-emit"

// TransformFamilies returns the families of the transforms other than a
// map: FlatMap, Batch, Merge and MapBatch, each against a hand-written
// goroutine-and-channel equivalent ([Chan]).
func TransformFamilies() []Family {
	return []Family{FlatMap(), Batch(), Merge(), MapBatch()}
}

// expand is the FlatMap family's function: x becomes FlatMapFan values.
func expand(x int) []int {
	out := make([]int, FlatMapFan)
	for j := range out {
		out[j] = x*FlatMapFan + j
	}
	return out
}

// SumCount is what the FlatMap and Batch families compute: the number of
// values that reached the end (N), their sum (Sum) and the sum of the
// inputs they carry (Inputs).
type SumCount struct{ N, Sum, Inputs int }

// checkSum compares got with want.
func checkSum(got, want SumCount) error {
	if got != want {
		return fmt.Errorf("got %d values summing to %d (inputs %d), want %d summing to %d (inputs %d)",
			got.N, got.Sum, got.Inputs, want.N, want.Sum, want.Inputs)
	}
	return nil
}

// FlatMap is every one of 250,000 integers turned into 4 (a slice of them)
// with GOMAXPROCS workers, the outputs counted and summed with their inputs:
// what it costs to move the outputs of an expansion.
func FlatMap() Family {
	return Family{
		Name: "FlatMap", Impls: []string{Chan, ChanBatch, Flowbar, FlowbarEmit}, Reference: Chan, Items: FlatMapInputs * FlatMapFan,
		New: func() func(string) func() error {
			xs := Ints(FlatMapInputs)
			var want SumCount
			for _, x := range xs {
				for _, v := range expand(x) {
					want.N++
					want.Sum += v
					want.Inputs += x
				}
			}
			return func(impl string) func() error {
				got := FlatMapRun(impl, xs, runtime.GOMAXPROCS(0))
				return func() error { return checkSum(got, want) }
			}
		},
	}
}

// FlatMapRun runs the FlatMap family's work over xs with the given
// implementation and number of workers. It panics on an unknown
// implementation name.
func FlatMapRun(impl string, xs []int, workers int) SumCount {
	switch impl {
	case Chan:
		return chanFlatMap(xs, workers)
	case ChanBatch:
		return chanBatchFlatMap(xs, workers)
	case Flowbar, FlowbarEmit:
		p := pipeline.New()
		src := stage.FromSlice(p, xs)
		var s *pipeline.Stream[int, int]
		if impl == Flowbar {
			s = stage.FlatMap(src, func(_ context.Context, x int) ([]int, error) { return expand(x), nil }, stage.WithWorkers(workers))
		} else {
			s = stage.FlatMapEmit(src, func(_ context.Context, x int, emit func(int) bool) error {
				for _, v := range expand(x) {
					if !emit(v) {
						break
					}
				}
				return nil
			}, stage.WithWorkers(workers))
		}
		var got SumCount
		err := sink.ForEach(context.Background(), s, func(x, v int) error {
			got.N++
			got.Sum += v
			got.Inputs += x
			return nil
		})
		if err != nil {
			panic(fmt.Sprintf("workloads: flowbar run failed: %v", err))
		}
		return got
	}
	panic(fmt.Sprintf("workloads: FlatMapRun: unknown implementation %q", impl))
}

// chanFlatMap is the reference: one feeder, workers that send each output
// of an item with its input, one collector.
func chanFlatMap(xs []int, workers int) SumCount {
	in := make(chan int, chanBuffer)
	out := make(chan pair[int, int], chanBuffer)
	go func() {
		defer close(in)
		for _, x := range xs {
			in <- x
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for x := range in {
				for _, v := range expand(x) {
					out <- pair[int, int]{x, v}
				}
			}
		})
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	var got SumCount
	for p := range out {
		got.N++
		got.Sum += p.v
		got.Inputs += p.k
	}
	return got
}

// Batch is a million integers grouped into batches of 100 (a partial batch
// going on after 1 ms), the batches' items counted and summed: what it costs
// to group items.
func Batch() Family {
	return Family{
		Name: "Batch", Impls: []string{Chan, Flowbar}, Reference: Chan, Items: BatchItems,
		New: func() func(string) func() error {
			xs := Ints(BatchItems)
			want := SumCount{N: len(xs)}
			for _, x := range xs {
				want.Sum += x
				want.Inputs += x
			}
			return func(impl string) func() error {
				got := BatchRun(impl, xs, TransformBatch, BatchWait)
				return func() error { return checkSum(got, want) }
			}
		},
	}
}

// BatchRun groups xs into batches of at most size with the given
// implementation, a partial batch going on after maxWait, and returns the
// count and sum of the batches' values and inputs. It panics on an unknown
// implementation name, and if a batch is empty or larger than size.
func BatchRun(impl string, xs []int, size int, maxWait time.Duration) SumCount {
	var got SumCount
	add := func(inputs, vs []int) {
		if len(vs) == 0 || len(vs) > size || len(inputs) != len(vs) {
			panic(fmt.Sprintf("workloads: a batch of %d values and %d inputs, size %d", len(vs), len(inputs), size))
		}
		got.N += len(vs)
		for i, v := range vs {
			got.Sum += v
			got.Inputs += inputs[i]
		}
	}
	switch impl {
	case Chan:
		for b := range chanBatch(xs, size, maxWait) {
			add(b, b)
		}
		return got
	case Flowbar:
		p := pipeline.New()
		s := stage.Batch(stage.FromSlice(p, xs), size, maxWait)
		if err := sink.ForEach(context.Background(), s, func(in, vs []int) error { add(in, vs); return nil }); err != nil {
			panic(fmt.Sprintf("workloads: flowbar run failed: %v", err))
		}
		return got
	}
	panic(fmt.Sprintf("workloads: BatchRun: unknown implementation %q", impl))
}

// chanBatch is the reference batcher: a feeder, and a goroutine that groups
// the items it receives into batches, sending a full batch at once and a
// partial one when its first item has waited maxWait, with a timer.
func chanBatch(xs []int, size int, maxWait time.Duration) <-chan []int {
	in := make(chan int, chanBuffer)
	out := make(chan []int, chanBuffer/size+1)
	go func() {
		defer close(in)
		for _, x := range xs {
			in <- x
		}
	}()
	go func() {
		defer close(out)
		timer := time.NewTimer(maxWait)
		timer.Stop()
		var batch []int
		flush := func() {
			if len(batch) > 0 {
				out <- batch
				batch = nil
			}
			timer.Stop()
		}
		for {
			select {
			case x, ok := <-in:
				if !ok {
					flush()
					return
				}
				if batch == nil {
					batch = make([]int, 0, size)
					timer.Reset(maxWait)
				}
				batch = append(batch, x)
				if len(batch) == size {
					flush()
				}
			case <-timer.C:
				flush()
			}
		}
	}()
	return out
}

// Merge is a million integers from two sources, merged and collected into
// a map keyed by input: what a fan-in costs.
func Merge() Family {
	return Family{
		Name: "Merge", Impls: []string{Chan, ChanBatch, Flowbar}, Reference: Chan, Items: MergeItems,
		New: func() func(string) func() error {
			xs := Ints(MergeItems)
			return func(impl string) func() error {
				m := MergeRun(impl, xs, MergeParts)
				return func() error { return checkMap(m, xs, func(x int) int { return x }) }
			}
		},
	}
}

// MergeRun splits xs into parts consecutive ranges, one source each,
// merges them and collects the values by input. It panics on an unknown
// implementation name.
func MergeRun(impl string, xs []int, parts int) map[int]int {
	split := make([][]int, parts)
	for i := range parts {
		split[i] = xs[i*len(xs)/parts : (i+1)*len(xs)/parts]
	}
	switch impl {
	case Chan:
		return chanMerge(split, len(xs))
	case ChanBatch:
		return chanBatchMerge(split, len(xs))
	case Flowbar:
		p := pipeline.New()
		ins := make([]*pipeline.Stream[int, int], parts)
		for i, part := range split {
			ins[i] = stage.FromSlice(p, part)
		}
		m, err := sink.ByInput(context.Background(), stage.Merge(ins))
		if err != nil {
			panic(fmt.Sprintf("workloads: flowbar run failed: %v", err))
		}
		return m
	}
	panic(fmt.Sprintf("workloads: MergeRun: unknown implementation %q", impl))
}

// chanMerge is the reference fan-in: a goroutine per source sending into
// one channel, closed once a WaitGroup says every sender is done, and one
// collector.
func chanMerge(split [][]int, n int) map[int]int {
	out := make(chan pair[int, int], chanBuffer)
	var wg sync.WaitGroup
	for _, part := range split {
		wg.Go(func() {
			for _, x := range part {
				out <- pair[int, int]{x, x}
			}
		})
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	m := make(map[int]int, n)
	for p := range out {
		m[p.k] = p.v
	}
	return m
}

// MapBatch is x*x over a million integers computed in batches of 100 (a
// partial batch going on after 1 ms) by GOMAXPROCS workers, collected into a
// map keyed by input: what it costs to call a function on batches while
// results stay keyed by their own inputs.
func MapBatch() Family {
	return Family{
		Name: "MapBatch", Impls: []string{Chan, ChanBatch, Flowbar}, Reference: Chan, Items: BatchItems,
		New: func() func(string) func() error {
			xs := Ints(BatchItems)
			return func(impl string) func() error {
				m := MapBatchRun(impl, xs, runtime.GOMAXPROCS(0), TransformBatch, BatchWait)
				return func() error { return checkMap(m, xs, square) }
			}
		},
	}
}

// squares is the MapBatch family's function over a batch.
func squares(xs []int) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = x * x
	}
	return out
}

// MapBatchRun runs squares over xs in batches of at most size with the
// given implementation and number of workers, a partial batch going on
// after maxWait, and returns the results keyed by input. It panics on an
// unknown implementation name.
func MapBatchRun(impl string, xs []int, workers, size int, maxWait time.Duration) map[int]int {
	switch impl {
	case Chan:
		return chanMapBatch(xs, workers, size, maxWait)
	case ChanBatch:
		return chanBatchMapBatch(xs, workers, size)
	case Flowbar:
		p := pipeline.New()
		s := stage.MapBatch(stage.FromSlice(p, xs), size, maxWait, func(_ context.Context, xs []int) ([]int, error) {
			return squares(xs), nil
		}, stage.WithWorkers(workers))
		m, err := sink.ByInput(context.Background(), s)
		if err != nil {
			panic(fmt.Sprintf("workloads: flowbar run failed: %v", err))
		}
		return m
	}
	panic(fmt.Sprintf("workloads: MapBatchRun: unknown implementation %q", impl))
}

// chanMapBatch is the reference: a feeder; workers that each group the
// items they receive into a batch, call the function when it is full or
// when its first item has waited maxWait (a timer) and send the batch's
// results with their inputs as one message; one collector.
func chanMapBatch(xs []int, workers, size int, maxWait time.Duration) map[int]int {
	in := make(chan int, chanBuffer)
	out := make(chan []pair[int, int], chanBuffer/size+workers)
	go func() {
		defer close(in)
		for _, x := range xs {
			in <- x
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			timer := time.NewTimer(maxWait)
			timer.Stop()
			batch := make([]int, 0, size)
			flush := func() {
				timer.Stop()
				if len(batch) == 0 {
					return
				}
				vs := squares(batch)
				res := make([]pair[int, int], len(batch))
				for i, x := range batch {
					res[i] = pair[int, int]{x, vs[i]}
				}
				out <- res
				batch = batch[:0]
			}
			for {
				select {
				case x, ok := <-in:
					if !ok {
						flush()
						return
					}
					if len(batch) == 0 {
						timer.Reset(maxWait)
					}
					batch = append(batch, x)
					if len(batch) == size {
						flush()
					}
				case <-timer.C:
					flush()
				}
			}
		})
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	m := make(map[int]int, len(xs))
	for res := range out {
		for _, p := range res {
			m[p.k] = p.v
		}
	}
	return m
}
