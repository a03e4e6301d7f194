package hpo

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// maxGridSize bounds a grid so that its size fits comfortably in an int.
const maxGridSize = 1 << 40

// gridSearch walks every combination of the space's values.
type gridSearch struct {
	space  Space
	values [][]string
	size   int
}

// NewGrid returns Katib's grid search: every combination of the
// parameters' values, in a fixed order (the first parameter varies
// slowest, values ascending or in list order). Double parameters need
// step > 0; int parameters step by 1 unless given a step. Assignments
// already in the history are skipped; Suggest returns fewer than n once the
// grid is exhausted. Settings are accepted for symmetry and unused.
func NewGrid(space Space, settings Settings) (Suggester, error) {
	values, size, err := gridValues(space)
	if err != nil {
		return nil, err
	}
	return &gridSearch{space: space, values: values, size: size}, nil
}

// GridSize reports how many combinations a grid search over space has.
func GridSize(space Space) (int, error) {
	_, size, err := gridValues(space)
	return size, err
}

// gridValues lists each parameter's grid values and the product of their
// counts.
func gridValues(space Space) ([][]string, int, error) {
	if err := space.Validate(); err != nil {
		return nil, 0, err
	}
	size := 1
	for _, p := range space {
		count, err := p.gridCount()
		if err != nil {
			return nil, 0, err
		}
		if size > maxGridSize/count {
			return nil, 0, fmt.Errorf("%w: grid has more than %d combinations", ErrInvalid, maxGridSize)
		}
		size *= count
	}
	values := make([][]string, len(space))
	for i, p := range space {
		values[i] = p.gridAxis()
	}
	return values, size, nil
}

// gridCount is how many grid values a parameter has (before removing values
// that format alike, which only int parameters with fractional steps have).
func (p Parameter) gridCount() (int, error) {
	if p.Type == Categorical || p.Type == Discrete {
		return len(p.List), nil
	}
	step := p.step()
	if step <= 0 {
		return 0, fmt.Errorf("%w: grid search needs step > 0 for double parameter %s", ErrInvalid, p.Name)
	}
	count := math.Floor((p.Max-p.Min)/step+1e-9) + 1
	if count > maxGridSize {
		return 0, fmt.Errorf("%w: parameter %s has too many grid values", ErrInvalid, p.Name)
	}
	return int(count), nil
}

// gridAxis lists one parameter's grid values.
// The parameter must have passed gridCount.
func (p Parameter) gridAxis() []string {
	if p.Type == Categorical || p.Type == Discrete {
		return p.List
	}
	count, _ := p.gridCount()
	vs := make([]string, 0, count)
	seen := map[string]bool{}
	for k := range count {
		v := p.Format(roundGrid(math.Min(p.Min+float64(k)*p.step(), p.Max)))
		if !seen[v] {
			seen[v] = true
			vs = append(vs, v)
		}
	}
	return vs
}

// roundGrid drops floating-point noise from a grid value (0.1+2*0.1 is 0.3).
func roundGrid(v float64) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
	if err != nil {
		return v
	}
	return r
}

// Suggest returns the next n combinations not yet in the history.
func (g *gridSearch) Suggest(history []Trial, n int) ([]Assignment, error) {
	done := map[string]bool{}
	for _, t := range history {
		done[g.key(t.Params)] = true
	}
	var out []Assignment
	for idx := 0; idx < g.size && len(out) < n; idx++ {
		a := g.at(idx)
		if k := g.key(a); !done[k] {
			done[k] = true
			out = append(out, a)
		}
	}
	return out, nil
}

// at decodes a mixed-radix index (last parameter fastest).
func (g *gridSearch) at(idx int) Assignment {
	a := Assignment{}
	for i := len(g.space) - 1; i >= 0; i-- {
		vs := g.values[i]
		a[g.space[i].Name] = vs[idx%len(vs)]
		idx /= len(vs)
	}
	return a
}

// key identifies an assignment by the space's parameters, in order.
func (g *gridSearch) key(a Assignment) string {
	var b strings.Builder
	for _, p := range g.space {
		v := a[p.Name]
		if p.Type == Int || p.Type == Double {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				v = p.Format(f)
			}
		}
		b.WriteString(v)
		b.WriteByte(0)
	}
	return b.String()
}
