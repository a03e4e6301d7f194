package problem

import (
	"math"
	"math/rand"
	"testing"

	"github.com/kubeline/kubeline/runtime/hpo"
)

// TestMinimum checks each problem's stated minimum: reached at Argmin, and
// no random point of the space goes below it.
func TestMinimum(t *testing.T) {
	for _, p := range All() {
		v, err := p.Value(p.Argmin)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(v-p.Min) > 1e-4 {
			t.Errorf("%s: value %.6f at the stated argmin, want %.6f", p.Name, v, p.Min)
		}
		r := rand.New(rand.NewSource(1))
		for i := 0; i < 20000; i++ {
			x := make([]float64, len(p.Space))
			for j := range x {
				x[j] = r.Float64()
			}
			a := p.Space.Decode(x)
			v, err := p.Value(a)
			if err != nil {
				t.Fatal(err)
			}
			if v < p.Min-1e-6 {
				t.Fatalf("%s: %v gives %.6f below the minimum %.6f", p.Name, a, v, p.Min)
			}
		}
	}
}

func TestMixedSpace(t *testing.T) {
	p := Mixed()
	counts := map[hpo.ParamType]int{}
	for _, par := range p.Space {
		counts[par.Type]++
	}
	if counts[hpo.Double] != 3 || counts[hpo.Int] != 2 || counts[hpo.Categorical] != 1 {
		t.Errorf("mixed space has %v, want 3 double, 2 int, 1 categorical", counts)
	}
	// The activation moves the best number of units: at units 6 (tanh's
	// best) tanh beats relu despite its larger offset.
	a := hpo.Assignment{"x1": "0.5", "x2": "0.5", "x3": "0.5", "units": "6", "depth": "5", "activation": "relu"}
	relu, _ := p.Value(a)
	a["activation"] = "tanh"
	tanh, _ := p.Value(a)
	if !(tanh < relu) {
		t.Errorf("tanh at units 6 = %.4f, relu = %.4f: want the activation to move the best units", tanh, relu)
	}
}

func TestValueErrors(t *testing.T) {
	p := Mixed()
	bad := []hpo.Assignment{
		{"x1": "0.5"},
		{"x1": "0.5", "x2": "0.5", "x3": "0.5", "units": "5", "depth": "5", "activation": "gelu"},
		{"x1": "0.5", "x2": "0.5", "x3": "0.5", "units": "5.5", "depth": "5", "activation": "relu"},
		{"x1": "2", "x2": "0.5", "x3": "0.5", "units": "5", "depth": "5", "activation": "relu"},
		{"x1": "x", "x2": "0.5", "x3": "0.5", "units": "5", "depth": "5", "activation": "relu"},
	}
	for _, a := range bad {
		if _, err := p.Value(a); err == nil {
			t.Errorf("%v: no error", a)
		}
	}
}
