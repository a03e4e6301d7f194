package problem

import (
	"math"

	"github.com/kubeline/kubeline/runtime/hpo"
)

// Mixed is a mixed-type problem shaped like a small model's tuning: three
// continuous parameters x1..x3 ∈ [0, 1] (Hartmann3), two integers
// units ∈ [1, 20] and depth ∈ [0, 8], and a categorical activation
// (relu, tanh, elu, sigmoid). The activation adds its own offset and moves
// the best number of units, so the categorical and the integer interact:
//
//	f = hartmann3(x) + offset[act] + 0.01 (units − best[act])² + 0.08 (depth − 2)²
//
// Minimum −3.86278 at x = (0.114614, 0.555649, 0.852547), units 15,
// depth 2, relu: like Hartmann's, the optimum is away from the centre of
// the space.
func Mixed() Problem {
	s := hpo.Space{
		{Name: "x1", Type: hpo.Double, Min: 0, Max: 1},
		{Name: "x2", Type: hpo.Double, Min: 0, Max: 1},
		{Name: "x3", Type: hpo.Double, Min: 0, Max: 1},
		{Name: "units", Type: hpo.Int, Min: 1, Max: 20},
		{Name: "depth", Type: hpo.Int, Min: 0, Max: 8},
		{Name: "activation", Type: hpo.Categorical, List: []string{"relu", "tanh", "elu", "sigmoid"}},
	}
	return Problem{Name: "mixed", Space: s, Min: -3.86278,
		Argmin: assignment(s, "0.114614", "0.555649", "0.852547", "15", "2", "relu"), f: mixed}
}

var (
	mixedOffset    = []float64{0, 0.4, 0.15, 0.9}
	mixedBestUnits = []float64{15, 6, 18, 3}
)

func mixed(x []float64) float64 {
	act := int(x[5])
	du, dd := x[3]-mixedBestUnits[act], x[4]-2
	return hartmann3(x[:3]) + mixedOffset[act] + 0.01*du*du + 0.08*dd*dd
}

func hartmann3(x []float64) float64 {
	a := [4][3]float64{{3, 10, 30}, {0.1, 10, 35}, {3, 10, 30}, {0.1, 10, 35}}
	p := [4][3]float64{{3689, 1170, 2673}, {4699, 4387, 7470}, {1091, 8732, 5547}, {381, 5743, 8828}}
	s := 0.0
	for i := 0; i < 4; i++ {
		in := 0.0
		for j := 0; j < 3; j++ {
			d := x[j] - p[i][j]*1e-4
			in += a[i][j] * d * d
		}
		s += hartmannAlpha[i] * math.Exp(-in)
	}
	return -s
}
