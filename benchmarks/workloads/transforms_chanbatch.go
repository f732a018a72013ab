package workloads

import "sync"

// The ChanBatch implementations of the transform families are their
// references rewritten for an input known to be a slice, moving sub-slices
// through the channels instead of single items: the fastest a hand-written
// pool gets, shown beside the targets, which are set against [Chan].

// chanBatchFlatMap is chanFlatMap moving BatchSize inputs, and their
// outputs, per message.
func chanBatchFlatMap(xs []int, workers int) SumCount {
	in := make(chan []int, chanBuffer)
	out := make(chan []pair[int, int], chanBuffer)
	go func() {
		defer close(in)
		for lo := 0; lo < len(xs); lo += BatchSize {
			in <- xs[lo:min(lo+BatchSize, len(xs))]
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for batch := range in {
				res := make([]pair[int, int], 0, len(batch)*FlatMapFan)
				for _, x := range batch {
					for _, v := range expand(x) {
						res = append(res, pair[int, int]{x, v})
					}
				}
				out <- res
			}
		})
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	var got SumCount
	for res := range out {
		for _, p := range res {
			got.N++
			got.Sum += p.v
			got.Inputs += p.k
		}
	}
	return got
}

// chanBatchMerge is chanMerge sending sub-slices of BatchSize items of
// each source.
func chanBatchMerge(split [][]int, n int) map[int]int {
	out := make(chan []int, chanBuffer)
	var wg sync.WaitGroup
	for _, part := range split {
		wg.Go(func() {
			for lo := 0; lo < len(part); lo += BatchSize {
				out <- part[lo:min(lo+BatchSize, len(part))]
			}
		})
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	m := make(map[int]int, n)
	for xs := range out {
		for _, x := range xs {
			m[x] = x
		}
	}
	return m
}

// chanBatchMapBatch cuts the input into batches of size up front (no
// timer: the input is all there), sends them to the workers, which call
// the function and send each batch's results as one message.
func chanBatchMapBatch(xs []int, workers, size int) map[int]int {
	in := make(chan []int, chanBuffer)
	out := make(chan []pair[int, int], chanBuffer)
	go func() {
		defer close(in)
		for lo := 0; lo < len(xs); lo += size {
			in <- xs[lo:min(lo+size, len(xs))]
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for batch := range in {
				vs := squares(batch)
				res := make([]pair[int, int], len(batch))
				for i, x := range batch {
					res[i] = pair[int, int]{x, vs[i]}
				}
				out <- res
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
