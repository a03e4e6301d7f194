package hpo

import (
	"fmt"
	"math"
	"math/rand"
)

// mdlObs encodes the succeeded trials into the unit cube with values to
// minimise (negated for Maximize). Trials that do not encode are skipped.
func mdlObs(space Space, history []Trial, dir Direction) ([][]float64, []float64) {
	var xs [][]float64
	var ys []float64
	for _, t := range history {
		if t.State != Succeeded || math.IsNaN(t.Value) || math.IsInf(t.Value, 0) {
			continue
		}
		x, err := space.Encode(t.Params)
		if err != nil {
			continue
		}
		y := t.Value
		if dir == Maximize {
			y = -y
		}
		xs = append(xs, x)
		ys = append(ys, y)
	}
	return xs, ys
}

// mdlUniform draws a point of the unit cube.
func mdlUniform(r *rand.Rand, d int) []float64 {
	x := make([]float64, d)
	for i := range x {
		x[i] = r.Float64()
	}
	return x
}

// mdlCheck validates the space and direction shared by every model.
func mdlCheck(space Space, dir Direction) error {
	if err := space.Validate(); err != nil {
		return err
	}
	if len(space) == 0 {
		return fmt.Errorf("%w: empty search space", ErrInvalid)
	}
	if dir != Minimize && dir != Maximize {
		return fmt.Errorf("%w: unknown direction %d", ErrInvalid, dir)
	}
	return nil
}
