package hpo

import (
	"math"
	"slices"
	"testing"
)

// TestParzenMasses: on a list or int coordinate the estimator gives each
// value a probability (they sum to 1), the observed values the most.
func TestParzenMasses(t *testing.T) {
	sp := Space{
		{Name: "c", Type: Categorical, List: []string{"a", "b", "c", "d", "e"}},
		{Name: "n", Type: Int, Min: 1, Max: 7},
		{Name: "x", Type: Double, Max: 1},
	}
	dims := newParzenDims(sp)
	var pts [][]float64
	for _, a := range []Assignment{{"c": "b", "n": "3", "x": "0.2"}, {"c": "b", "n": "4", "x": "0.3"}, {"c": "e", "n": "3", "x": "0.9"}} {
		x, err := sp.Encode(a)
		if err != nil {
			t.Fatal(err)
		}
		pts = append(pts, x)
	}
	for _, multivariate := range []bool{false, true} {
		p := newParzen(pts, []int{0, 1, 2}, dims, 1, multivariate)
		for i, m := range []float64{5, 7} {
			sum, best, arg := 0.0, 0.0, -1
			for c := 0; c < int(m); c++ {
				q := math.Exp(p.logp1(i, (float64(c)+0.5)/m))
				sum += q
				if q > best {
					best, arg = q, c
				}
			}
			if math.Abs(sum-1) > 1e-9 {
				t.Errorf("multivariate %v, coordinate %d: probabilities sum to %.12f", multivariate, i, sum)
			}
			if want := []int{1, 2}[i]; arg != want {
				t.Errorf("multivariate %v, coordinate %d: most likely value %d, want %d (observed most)", multivariate, i, arg, want)
			}
		}
		// The categorical kernel does not leak to neighbours: "a" and "c",
		// next to the observed "b", are as likely as the unobserved "d".
		pa, pc, pd := p.logp1(0, 0.1), p.logp1(0, 0.5), p.logp1(0, 0.7)
		if math.Abs(pa-pd) > 1e-12 || math.Abs(pc-pd) > 1e-12 {
			t.Errorf("multivariate %v: unobserved values differ: a %.4f c %.4f d %.4f", multivariate, pa, pc, pd)
		}
	}
}

// TestParzenListCounts: a univariate estimator gives a list value its
// count among the observations plus the prior weight, as goptuna does:
// b observed twice (2 + 1) / (3 + 5), e once 2/8, the others 1/8.
func TestParzenListCounts(t *testing.T) {
	sp := Space{{Name: "c", Type: Categorical, List: []string{"a", "b", "c", "d", "e"}}}
	p := newParzen([][]float64{{0.3}, {0.3}, {0.9}}, []int{0, 1, 2}, newParzenDims(sp), 1, false)
	for c, want := range []float64{1, 3, 1, 1, 2} {
		if got := math.Exp(p.logp1(0, (float64(c)+0.5)/5)); math.Abs(got-want/8) > 1e-12 {
			t.Errorf("value %d: probability %.6f, want %.6f", c, got, want/8)
		}
	}
}

// TestRecencyWeights: the 25 newest observations weigh 1, older ones rise
// from 1/n; listLogWeights follows trial positions, not the order of the
// points (best first).
func TestRecencyWeights(t *testing.T) {
	if w := recencyWeights(25); slices.Min(w) != 1 {
		t.Errorf("25 observations: %v, want all 1", w)
	}
	w := recencyWeights(30)
	want := []float64{1.0 / 30, 1.0/30 + 0.25*29/30, 1.0/30 + 0.5*29/30, 1.0/30 + 0.75*29/30, 1, 1}
	for k, v := range want {
		if math.Abs(w[k]-v) > 1e-12 {
			t.Errorf("30 observations: weight %d is %.4f, want %.4f", k, w[k], v)
		}
	}
	at := make([]int, 30)
	for k := range at {
		at[k] = 29 - k // best first = newest first
	}
	lw := listLogWeights(at, 1)
	if !(lw[29] < lw[28] && lw[0] == lw[4]) {
		t.Errorf("log weights %v: the oldest trial (last point) should weigh least", lw)
	}
}
