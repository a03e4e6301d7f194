package hpo

import (
	"math/rand"
)

// randomSearch draws every coordinate independently.
type randomSearch struct {
	space Space
	seed  int64
}

// NewRandom returns Katib's random search: each parameter is drawn
// uniformly in the unit cube and decoded (so logUniform is uniform in log
// space and the int upper bound is reachable); normal and logNormal
// parameters are drawn from a normal centred mid-range with standard
// deviation range/6, clamped to the range. Setting random_state (default 0)
// seeds the generator.
func NewRandom(space Space, settings Settings) (Suggester, error) {
	if err := space.Validate(); err != nil {
		return nil, err
	}
	seed, err := seedSetting(settings)
	if err != nil {
		return nil, err
	}
	return &randomSearch{space: space, seed: seed}, nil
}

// Suggest draws n assignments.
func (r *randomSearch) Suggest(history []Trial, n int) ([]Assignment, error) {
	return r.draw(rng(r.seed, history), n), nil
}

// draw takes n assignments from g.
func (r *randomSearch) draw(g *rand.Rand, n int) []Assignment {
	out := make([]Assignment, 0, max(n, 0))
	for range max(n, 0) {
		x := make([]float64, len(r.space))
		for i, p := range r.space {
			if p.Distribution == Normal || p.Distribution == LogNormal {
				x[i] = clamp01(0.5 + g.NormFloat64()/6)
			} else {
				x[i] = g.Float64()
			}
		}
		out = append(out, r.space.Decode(x))
	}
	return out
}
