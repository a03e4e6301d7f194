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

// propose splits the observations, fits l and g and maximises l/g over
// candidates drawn from l.
func (t *tpe) propose(r *rand.Rand, xs [][]float64, ys []float64) []float64 {
	idx := make([]int, len(ys))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return ys[idx[a]] < ys[idx[b]] })
	k := t.nBelow(len(ys))
	var good, bad [][]float64
	for j, i := range idx {
		if j < k {
			good = append(good, xs[i])
		} else {
			bad = append(bad, xs[i])
		}
	}
	d := len(t.space)
	l := newParzen(good, d, t.priorWeight, t.multivariate)
	g := newParzen(bad, d, t.priorWeight, t.multivariate)
	cands := make([][]float64, t.candidates)
	for c := range cands {
		cands[c] = l.sample(r, t.multivariate)
	}
	if t.multivariate {
		best, bestS := cands[0], math.Inf(-1)
		for _, c := range cands {
			if s := l.logpdf(c) - g.logpdf(c); s > bestS {
				best, bestS = c, s
			}
		}
		return best
	}
	x := make([]float64, d)
	for i := 0; i < d; i++ {
		bestS := math.Inf(-1)
		for _, c := range cands {
			if s := l.logpdf1(i, c[i]) - g.logpdf1(i, c[i]); s > bestS {
				x[i], bestS = c[i], s
			}
		}
	}
	return x
}

// parzen is a mixture of truncated Gaussians on [0,1]^d; component k has
// a centre and a bandwidth per dimension. The last component is the prior.
type parzen struct {
	mu, sigma [][]float64
	logw      []float64
}

func newParzen(pts [][]float64, d int, priorWeight float64, multivariate bool) *parzen {
	n := len(pts)
	p := &parzen{}
	total := float64(n) + priorWeight
	for _, x := range pts {
		p.mu = append(p.mu, x)
		p.logw = append(p.logw, math.Log(1/total))
	}
	prior := make([]float64, d)
	priorS := make([]float64, d)
	for i := range prior {
		prior[i], priorS[i] = 0.5, 1
	}
	p.mu = append(p.mu, prior)
	p.logw = append(p.logw, math.Log(priorWeight/total))
	for range pts {
		p.sigma = append(p.sigma, make([]float64, d))
	}
	p.sigma = append(p.sigma, priorS)
	lo := 1 / math.Min(100, 1+float64(n))
	for i := 0; i < d; i++ {
		if multivariate {
			s := 0.2 * math.Pow(float64(n+1), -1/float64(d+4))
			for k := 0; k < n; k++ {
				p.sigma[k][i] = math.Max(s, lo*0.1)
			}
			continue
		}
		neighbourBandwidths(p, i, n, lo)
	}
	return p
}

// neighbourBandwidths sets Optuna's univariate bandwidths in dimension i:
// the larger gap to a sorted neighbour (the prior centre included),
// clipped to [1/min(100, n+1), 1].
func neighbourBandwidths(p *parzen, i, n int, lo float64) {
	order := make([]int, n+1)
	for k := range order {
		order[k] = k
	}
	sort.SliceStable(order, func(a, b int) bool { return p.mu[order[a]][i] < p.mu[order[b]][i] })
	for j, k := range order {
		if k == n {
			continue
		}
		left, right := p.mu[k][i], 1-p.mu[k][i]
		if j > 0 {
			left = p.mu[k][i] - p.mu[order[j-1]][i]
		}
		if j < n {
			right = p.mu[order[j+1]][i] - p.mu[k][i]
		}
		p.sigma[k][i] = math.Min(math.Max(math.Max(left, right), lo), 1)
	}
}

func (p *parzen) pick(r *rand.Rand) int {
	u := r.Float64()
	for k, lw := range p.logw {
		u -= math.Exp(lw)
		if u < 0 {
			return k
		}
	}
	return len(p.logw) - 1
}

func (p *parzen) sample(r *rand.Rand, joint bool) []float64 {
	d := len(p.mu[0])
	x := make([]float64, d)
	k := p.pick(r)
	for i := range x {
		if !joint {
			k = p.pick(r)
		}
		x[i] = truncSample(r, p.mu[k][i], p.sigma[k][i])
	}
	return x
}

// logpdf is the joint (product-kernel) log density.
func (p *parzen) logpdf(x []float64) float64 {
	terms := make([]float64, len(p.logw))
	for k, lw := range p.logw {
		s := lw
		for i, v := range x {
			s += truncLogpdf(v, p.mu[k][i], p.sigma[k][i])
		}
		terms[k] = s
	}
	return logSumExp(terms)
}

// logpdf1 is the marginal log density of dimension i.
func (p *parzen) logpdf1(i int, v float64) float64 {
	terms := make([]float64, len(p.logw))
	for k, lw := range p.logw {
		terms[k] = lw + truncLogpdf(v, p.mu[k][i], p.sigma[k][i])
	}
	return logSumExp(terms)
}

func normCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

// truncSample draws from N(mu, s) truncated to [0,1] by inversion.
func truncSample(r *rand.Rand, mu, s float64) float64 {
	a, b := normCDF(-mu/s), normCDF((1-mu)/s)
	u := a + r.Float64()*(b-a)
	u = math.Min(math.Max(u, 1e-300), 1-1e-16)
	return clamp01(mu + s*math.Sqrt2*math.Erfinv(2*u-1))
}

func truncLogpdf(v, mu, s float64) float64 {
	z := (v - mu) / s
	mass := normCDF((1-mu)/s) - normCDF(-mu/s)
	return -0.5*z*z - math.Log(s*math.Sqrt(2*math.Pi)) - math.Log(math.Max(mass, 1e-300))
}

func logSumExp(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	if math.IsInf(m, -1) {
		return m
	}
	s := 0.0
	for _, x := range v {
		s += math.Exp(x - m)
	}
	return m + math.Log(s)
}
