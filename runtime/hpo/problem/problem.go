package problem

import (
	"fmt"
	"math"
	"strconv"

	"github.com/kubeline/kubeline/runtime/hpo"
)

// Problem is a function to minimise over a search space.
type Problem struct {
	Name  string
	Space hpo.Space
	// Min is the global minimum of f over Space.
	Min float64
	// Argmin is where Min is reached.
	Argmin hpo.Assignment
	// f takes the parameters in Space's order: numbers as themselves,
	// categorical values as their index in the list.
	f func(x []float64) float64
}

// Value evaluates the problem at an assignment.
func (p Problem) Value(a hpo.Assignment) (float64, error) {
	x := make([]float64, len(p.Space))
	for i, par := range p.Space {
		v, ok := a[par.Name]
		if !ok {
			return 0, fmt.Errorf("%s: assignment lacks %s", p.Name, par.Name)
		}
		if par.Type == hpo.Categorical {
			x[i] = -1
			for j, l := range par.List {
				if l == v {
					x[i] = float64(j)
				}
			}
			if x[i] < 0 {
				return 0, fmt.Errorf("%s: %s = %q is not in its list", p.Name, par.Name, v)
			}
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %s = %q: %w", p.Name, par.Name, v, err)
		}
		if f < par.Min || f > par.Max || (par.Type == hpo.Int && f != math.Trunc(f)) {
			return 0, fmt.Errorf("%s: %s = %v is outside its space", p.Name, par.Name, f)
		}
		x[i] = f
	}
	return p.f(x), nil
}

// All returns the benchmark's problems: Branin, Hartmann6, Rosenbrock4 and
// Mixed.
func All() []Problem { return []Problem{Branin(), Hartmann6(), Rosenbrock4(), Mixed()} }

func doubles(lo, hi []float64) hpo.Space {
	s := make(hpo.Space, len(lo))
	for i := range s {
		s[i] = hpo.Parameter{Name: fmt.Sprintf("x%d", i+1), Type: hpo.Double, Min: lo[i], Max: hi[i]}
	}
	return s
}

func assignment(s hpo.Space, v ...string) hpo.Assignment {
	a := hpo.Assignment{}
	for i, p := range s {
		a[p.Name] = v[i]
	}
	return a
}

// Branin on x1 ∈ [−5, 10], x2 ∈ [0, 15]; minimum 0.397887 at (π, 2.275)
// and two other points.
func Branin() Problem {
	s := doubles([]float64{-5, 0}, []float64{10, 15})
	return Problem{Name: "branin", Space: s, Min: 0.397887, Argmin: assignment(s, "3.141592653589793", "2.275"), f: branin}
}

func branin(x []float64) float64 {
	a, b, c := 1.0, 5.1/(4*math.Pi*math.Pi), 5/math.Pi
	r, s, t := 6.0, 10.0, 1/(8*math.Pi)
	u := x[1] - b*x[0]*x[0] + c*x[0] - r
	return a*u*u + s*(1-t)*math.Cos(x[0]) + s
}

// Hartmann6 on [0, 1]^6; minimum −3.32237.
func Hartmann6() Problem {
	s := doubles(make([]float64, 6), []float64{1, 1, 1, 1, 1, 1})
	return Problem{Name: "hartmann6", Space: s, Min: -3.32237,
		Argmin: assignment(s, "0.20169", "0.150011", "0.476874", "0.275332", "0.311652", "0.6573"), f: hartmann6}
}

var hartmannAlpha = []float64{1.0, 1.2, 3.0, 3.2}

func hartmann6(x []float64) float64 {
	a := [4][6]float64{
		{10, 3, 17, 3.5, 1.7, 8}, {0.05, 10, 17, 0.1, 8, 14},
		{3, 3.5, 1.7, 10, 17, 8}, {17, 8, 0.05, 10, 0.1, 14}}
	p := [4][6]float64{
		{1312, 1696, 5569, 124, 8283, 5886}, {2329, 4135, 8307, 3736, 1004, 9991},
		{2348, 1451, 3522, 2883, 3047, 6650}, {4047, 8828, 8732, 5743, 1091, 381}}
	s := 0.0
	for i := 0; i < 4; i++ {
		in := 0.0
		for j := 0; j < 6; j++ {
			d := x[j] - p[i][j]*1e-4
			in += a[i][j] * d * d
		}
		s += hartmannAlpha[i] * math.Exp(-in)
	}
	return -s
}

// Rosenbrock4 on [−5, 10]^4; minimum 0 at (1, 1, 1, 1).
func Rosenbrock4() Problem {
	s := doubles([]float64{-5, -5, -5, -5}, []float64{10, 10, 10, 10})
	return Problem{Name: "rosenbrock4", Space: s, Min: 0, Argmin: assignment(s, "1", "1", "1", "1"), f: rosenbrock}
}

func rosenbrock(x []float64) float64 {
	s := 0.0
	for i := 0; i+1 < len(x); i++ {
		s += 100*math.Pow(x[i+1]-x[i]*x[i], 2) + math.Pow(1-x[i], 2)
	}
	return s
}
