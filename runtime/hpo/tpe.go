package hpo

import (
	"fmt"
	"math"
	"math/rand"
	"sort"
)

// tpe is Optuna-style tree-structured Parzen estimation in the unit cube.
type tpe struct {
	space        Space
	dir          Direction
	seed         int64
	startup      int
	gamma        float64 // 0: Optuna's default, min(ceil(0.1 n), 25)
	priorWeight  float64
	candidates   int
	multivariate bool
}

// NewTPE returns the tpe (multivariate false) or multivariate-tpe
// suggester. Settings: n_startup_trials (10), gamma (fraction of trials
// called good; default min(ceil(0.1 n), 25) trials), prior_weight (1.0),
// n_EI_candidates (24), random_state (0).
func NewTPE(space Space, settings Settings, dir Direction, multivariate bool) (Suggester, error) {
	if err := mdlCheck(space, dir); err != nil {
		return nil, err
	}
	t := &tpe{space: space, dir: dir, multivariate: multivariate}
	var err error
	if t.seed, err = seedSetting(settings); err != nil {
		return nil, err
	}
	if t.startup, err = intSetting(settings, "n_startup_trials", 10, 0); err != nil {
		return nil, err
	}
	if t.candidates, err = intSetting(settings, "n_EI_candidates", 24, 1); err != nil {
		return nil, err
	}
	if t.gamma, err = floatSetting(settings, "gamma", 0); err != nil {
		return nil, err
	}
	if _, ok := settings["gamma"]; ok && (t.gamma <= 0 || t.gamma > 1) {
		return nil, fmt.Errorf("%w: gamma must be in (0, 1]", ErrInvalid)
	}
	if t.priorWeight, err = floatSetting(settings, "prior_weight", 1); err != nil {
		return nil, err
	}
	if t.priorWeight <= 0 {
		return nil, fmt.Errorf("%w: prior_weight must be > 0", ErrInvalid)
	}
	return t, nil
}

func (t *tpe) Suggest(history []Trial, n int) ([]Assignment, error) {
	r := rng(t.seed, history)
	xs, ys := mdlObs(t.space, history, t.dir)
	out := make([]Assignment, 0, n)
	for i := 0; i < n; i++ {
		var x []float64
		if len(xs) < t.startup || len(xs) < 2 {
			x = mdlUniform(r, len(t.space))
		} else {
			x = t.propose(r, xs, ys)
		}
		out = append(out, t.space.Decode(x))
	}
	return out, nil
}

// nBelow is how many observations count as good.
func (t *tpe) nBelow(n int) int {
	var k int
	if t.gamma > 0 {
		k = int(math.Ceil(t.gamma * float64(n)))
	} else {
		k = int(math.Min(math.Ceil(0.1*float64(n)), 25))
	}
	return max(1, min(k, n-1))
}

// split divides the observations into the good ones (the nBelow best)
// and the others, each best first, with their positions in trial order.
func (t *tpe) split(xs [][]float64, ys []float64) (good, bad [][]float64, goodAt, badAt []int) {
	idx := make([]int, len(ys))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return ys[idx[a]] < ys[idx[b]] })
	k := t.nBelow(len(ys))
	for j, i := range idx {
		if j < k {
			good, goodAt = append(good, xs[i]), append(goodAt, i)
		} else {
			bad, badAt = append(bad, xs[i]), append(badAt, i)
		}
	}
	return good, bad, goodAt, badAt
}

// propose splits the observations, fits l and g and maximises l/g over
// candidates drawn from l: jointly (multivariate) or coordinate by
// coordinate.
func (t *tpe) propose(r *rand.Rand, xs [][]float64, ys []float64) []float64 {
	dims := newParzenDims(t.space)
	good, bad, goodAt, badAt := t.split(xs, ys)
	l := newParzen(good, goodAt, dims, t.priorWeight, t.multivariate)
	g := newParzen(bad, badAt, dims, t.priorWeight, t.multivariate)
	cands := make([][]float64, t.candidates)
	for c := range cands {
		cands[c] = l.sample(r, t.multivariate)
	}
	if t.multivariate {
		best, bestS := cands[0], math.Inf(-1)
		for _, c := range cands {
			if s := l.logp(c) - g.logp(c); s > bestS {
				best, bestS = c, s
			}
		}
		return best
	}
	x := make([]float64, len(t.space))
	for i := range x {
		bestS := math.Inf(-1)
		for _, v := range t.candidateValues(i, cands) {
			if s := l.logp1(i, v) - g.logp1(i, v); s > bestS {
				x[i], bestS = v, s
			}
		}
	}
	return x
}

// candidateValues are the values of coordinate i whose l/g is compared:
// every value of a list parameter with no more values than candidates (as
// goptuna and hyperopt do: a few values are all scored rather than a
// sample of them), else coordinate i of the candidates drawn from l.
func (t *tpe) candidateValues(i int, cands [][]float64) []float64 {
	out := make([]float64, 0, len(cands))
	if p := t.space[i]; (p.Type == Categorical || p.Type == Discrete) && len(p.List) <= t.candidates {
		m := float64(len(p.List))
		for c := range len(p.List) {
			out = append(out, (float64(c)+0.5)/m)
		}
		return out
	}
	for _, c := range cands {
		out = append(out, c[i])
	}
	return out
}
