package monitor

import (
	"math"
	"sort"
)

// Epsilon is the smallest share a bin gets when PSI is computed: a bin
// empty on one side would make ln(a/e) infinite. 0.0001 is the usual
// choice of scorecard practice.
const Epsilon = 1e-4

// Cuts returns the interior bin edges of at most bins equal-count bins of
// the baseline's values: the values at ranks n·i/bins of the sorted
// baseline, repeats dropped. Bin 0 is (-inf, cut[0]), bin i is
// [cut[i-1], cut[i]), the last [cut[len-1], +inf).
func Cuts(baseline []float64, bins int) []float64 {
	if len(baseline) == 0 || bins < 2 {
		return nil
	}
	s := append([]float64(nil), baseline...)
	sort.Float64s(s)
	var cuts []float64
	for i := 1; i < bins; i++ {
		c := s[len(s)*i/bins]
		if c == s[0] || (len(cuts) > 0 && c == cuts[len(cuts)-1]) {
			continue
		}
		cuts = append(cuts, c)
	}
	return cuts
}

// Histogram is the share of values in each bin of cuts (len(cuts)+1
// bins); no values give all zeros.
func Histogram(values, cuts []float64) []float64 {
	out := make([]float64, len(cuts)+1)
	if len(values) == 0 {
		return out
	}
	for _, v := range values {
		out[sort.Search(len(cuts), func(i int) bool { return cuts[i] > v })]++
	}
	for i := range out {
		out[i] /= float64(len(values))
	}
	return out
}

// Shares is the share of each category among labels, over categories (in
// that order).
func Shares(labels, categories []string) []float64 {
	out := make([]float64, len(categories))
	if len(labels) == 0 {
		return out
	}
	at := map[string]int{}
	for i, c := range categories {
		at[c] = i
	}
	for _, l := range labels {
		if i, ok := at[l]; ok {
			out[i]++
		}
	}
	for i := range out {
		out[i] /= float64(len(labels))
	}
	return out
}

// Categories lists the categories of the baseline (in order of first
// appearance) and then those only the window has.
func Categories(baseline, window []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, vs := range [][]string{baseline, window} {
		for _, v := range vs {
			if !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	return out
}

// PSI is the Population Stability Index of actual against expected shares
// of the same bins: Σ (a − e)·ln(a / e), each share floored at Epsilon.
func PSI(expected, actual []float64) float64 {
	var psi float64
	for i := range expected {
		e, a := math.Max(expected[i], Epsilon), math.Max(actual[i], Epsilon)
		psi += (a - e) * math.Log(a/e)
	}
	return psi
}

// KS is the two-sample Kolmogorov–Smirnov statistic: the largest distance
// between the empirical distribution functions of a and b (0 when either
// is empty).
func KS(a, b []float64) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	x := append([]float64(nil), a...)
	y := append([]float64(nil), b...)
	sort.Float64s(x)
	sort.Float64s(y)
	var d float64
	i, j := 0, 0
	for i < len(x) && j < len(y) {
		v := math.Min(x[i], y[j])
		for i < len(x) && x[i] == v {
			i++
		}
		for j < len(y) && y[j] == v {
			j++
		}
		d = math.Max(d, math.Abs(float64(i)/float64(len(x))-float64(j)/float64(len(y))))
	}
	return d
}

// KSCategorical is the Kolmogorov–Smirnov statistic of categories, which
// have no order: the supremum of |P(A) − Q(A)| over every set A of
// categories (KS's half-lines generalised to all events), which is the
// total variation distance ½·Σ|p − q|.
func KSCategorical(expected, actual []float64) float64 {
	var d float64
	for i := range expected {
		d += math.Abs(expected[i] - actual[i])
	}
	return d / 2
}
