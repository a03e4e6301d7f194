package hpo

import (
	"math"
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
		p := newParzen(pts, dims, 1, multivariate)
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
