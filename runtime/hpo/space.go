package hpo

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrInvalid marks a bad search space or setting.
var ErrInvalid = errors.New("invalid")

// ParamType is a Katib parameter type.
type ParamType string

// Katib's parameter types.
const (
	Int         ParamType = "int"
	Double      ParamType = "double"
	Categorical ParamType = "categorical"
	Discrete    ParamType = "discrete"
)

// Distribution is how a numeric parameter is sampled.
type Distribution string

// Katib's distributions.
const (
	Uniform    Distribution = "uniform"
	LogUniform Distribution = "logUniform"
	Normal     Distribution = "normal"
	LogNormal  Distribution = "logNormal"
)

// Parameter is one dimension of a search space.
type Parameter struct {
	Name string
	Type ParamType
	// Min, Max bound int and double parameters (inclusive); Step > 0 makes
	// them a grid (int step defaults to 1).
	Min, Max, Step float64
	// List holds categorical and discrete values.
	List         []string
	Distribution Distribution
}

// Space is a search space.
type Space []Parameter

// Assignment gives each parameter a value, as Katib writes them (strings).
type Assignment map[string]string

// Validate reports every problem of a space at once.
func (s Space) Validate() error {
	var errs []string
	seen := map[string]bool{}
	for i, p := range s {
		at := fmt.Sprintf("parameters[%d] (%s)", i, p.Name)
		if p.Name == "" {
			errs = append(errs, at+": name is required")
		}
		if seen[p.Name] {
			errs = append(errs, at+": repeated name")
		}
		seen[p.Name] = true
		switch p.Type {
		case Int, Double:
			if p.Max < p.Min {
				errs = append(errs, at+": max is below min")
			}
			if len(p.List) > 0 {
				errs = append(errs, at+": a numeric parameter takes min and max, not a list")
			}
			if (p.Distribution == LogUniform || p.Distribution == LogNormal) && p.Min <= 0 {
				errs = append(errs, at+": a log distribution needs min > 0")
			}
		case Categorical, Discrete:
			if len(p.List) == 0 {
				errs = append(errs, at+": needs a list")
			}
		default:
			errs = append(errs, fmt.Sprintf("%s: unknown type %q", at, p.Type))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(errs, "; "))
	}
	return nil
}

// log reports whether p is searched on a log scale.
func (p Parameter) log() bool { return p.Distribution == LogUniform || p.Distribution == LogNormal }

// Encode maps an assignment into the unit cube, one coordinate per
// parameter: numeric values linearly (or on a log scale), list values and
// the values of a linear int or stepped parameter by index, centred in
// their bins.
func (s Space) Encode(a Assignment) ([]float64, error) {
	x := make([]float64, len(s))
	for i, p := range s {
		v, ok := a[p.Name]
		if !ok {
			return nil, fmt.Errorf("%w: assignment lacks %s", ErrInvalid, p.Name)
		}
		switch p.Type {
		case Int, Double:
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, fmt.Errorf("%w: %s = %q: %v", ErrInvalid, p.Name, v, err)
			}
			x[i] = p.unit(f)
		default:
			idx := -1
			for j, l := range p.List {
				if l == v {
					idx = j
				}
			}
			if idx < 0 {
				return nil, fmt.Errorf("%w: %s = %q is not in its list", ErrInvalid, p.Name, v)
			}
			x[i] = (float64(idx) + 0.5) / float64(len(p.List))
		}
	}
	return x, nil
}

func (p Parameter) unit(f float64) float64 {
	if n := p.bins(); n > 0 {
		k := math.Round((f - p.Min) / p.step())
		return (math.Min(math.Max(k, 0), n-1) + 0.5) / n
	}
	lo, hi := p.Min, p.Max
	if p.log() {
		lo, hi, f = math.Log(lo), math.Log(hi), math.Log(f)
	}
	if hi == lo {
		return 0.5
	}
	return clamp01((f - lo) / (hi - lo))
}

// Decode maps a unit-cube point back to an assignment: list values and the
// values of linear int and stepped parameters by bin (equal-width bins, so
// each value, the bounds included, is as likely as the others under a
// uniform draw), log-scaled ones rounded to their steps.
func (s Space) Decode(x []float64) Assignment {
	a := Assignment{}
	for i, p := range s {
		u := clamp01(x[i])
		switch p.Type {
		case Int, Double:
			a[p.Name] = p.Format(p.value(u))
		default:
			j := int(u * float64(len(p.List)))
			if j >= len(p.List) {
				j = len(p.List) - 1
			}
			a[p.Name] = p.List[j]
		}
	}
	return a
}

// step is the parameter's step: its own, 1 for an int without one, 0 for a
// continuous double.
func (p Parameter) step() float64 {
	if p.Type == Int && p.Step <= 0 {
		return 1
	}
	return p.Step
}

// bins is how many values a linear-scale int or stepped parameter has (0
// for continuous and log-scaled parameters, which are not binned).
func (p Parameter) bins() float64 {
	step := p.step()
	if step <= 0 || p.log() || (p.Type != Int && p.Type != Double) {
		return 0
	}
	return math.Floor((p.Max-p.Min)/step+1e-9) + 1
}

// value turns a unit coordinate into the parameter's value.
func (p Parameter) value(u float64) float64 {
	lo, hi := p.Min, p.Max
	if n := p.bins(); n > 0 {
		return roundGrid(math.Min(lo+math.Min(math.Floor(u*n), n-1)*p.step(), hi))
	}
	var v float64
	if p.log() {
		v = math.Exp(math.Log(lo) + u*(math.Log(hi)-math.Log(lo)))
	} else {
		v = lo + u*(hi-lo)
	}
	if step := p.step(); step > 0 {
		v = lo + math.Round((v-lo)/step)*step
		for v > hi+1e-9 {
			v -= step
		}
	}
	return math.Min(math.Max(v, lo), hi)
}

// Format writes a numeric value as Katib does: ints without a fraction.
func (p Parameter) Format(v float64) string {
	if p.Type == Int {
		return strconv.FormatInt(int64(math.Round(v)), 10)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func clamp01(u float64) float64 { return math.Min(math.Max(u, 0), 1) }

// binCounts gives the number of values of each parameter that is encoded
// by bin (list parameters, linear int and stepped ones), 0 for the others.
func (s Space) binCounts() []float64 {
	out := make([]float64, len(s))
	for i, p := range s {
		switch p.Type {
		case Categorical, Discrete:
			out[i] = float64(len(p.List))
		default:
			out[i] = p.bins()
		}
	}
	return out
}
