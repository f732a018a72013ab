package main

import (
	"math"
	"slices"
)

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// medianCI returns the median of xs and a confidence interval for it that
// assumes nothing about how the values are distributed: the k-th smallest
// and k-th largest values, with the largest k for which the interval holds
// the true median with a probability of at least 95% (the number of values
// below the median being binomial(n, 1/2)). With 6 values it is the range
// of the values (96.9%), with 15 the 4th to the 12th (96.5%); with fewer
// than 6 values no interval reaches 95% and it is the range all the same.
func medianCI(xs []float64) (med, lo, hi float64) {
	n := len(xs)
	if n == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	k, below := 1, 0.0 // below: P(fewer than k+1 values lie below the median)
	for j := 0; j < n; j++ {
		below += binomial(n, j) / math.Exp2(float64(n))
		if below > 0.025 {
			break
		}
		k = j + 1
	}
	return median(s), s[k-1], s[n-k]
}

// binomial returns n choose k.
func binomial(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}
