package hpo

import (
	"math"
	"math/rand"
	"sort"
)

// parzenDims says how each coordinate of the unit cube is modelled.
type parzenDims struct {
	// cats is the number of values of a list parameter (0 for numeric
	// ones): a categorical kernel per observation.
	cats []float64
	// bins is the number of values of an int or stepped parameter (0 for a
	// continuous one): truncated Gaussians whose mass over the value's bin
	// is its probability.
	bins []float64
}

func newParzenDims(s Space) parzenDims {
	d := parzenDims{cats: make([]float64, len(s)), bins: make([]float64, len(s))}
	for i, p := range s {
		if p.Type == Categorical || p.Type == Discrete {
			d.cats[i] = float64(len(p.List))
		} else {
			d.bins[i] = p.bins()
		}
	}
	return d
}

// parzen is Optuna's Parzen estimator in the unit cube: a mixture with one
// component per observation and a last one for the prior. On a numeric
// coordinate a component is a Gaussian truncated to [0, 1] (the prior's is
// centred with width 1); on a list coordinate it is a categorical
// distribution that puts 1 + ε on the observed value and ε on every value
// (ε = prior weight / number of components), and the prior's is uniform.
type parzen struct {
	dims      parzenDims
	mu, sigma [][]float64 // per component and coordinate
	logMass   [][]float64 // log of each Gaussian's mass on [0, 1]
	logw      []float64
	eps       float64
}

func newParzen(pts [][]float64, dims parzenDims, priorWeight float64, multivariate bool) *parzen {
	n, d := len(pts), len(dims.cats)
	p := &parzen{dims: dims, eps: priorWeight / float64(n+1)}
	total := float64(n) + priorWeight
	for _, x := range pts {
		p.mu = append(p.mu, x)
		p.logw = append(p.logw, math.Log(1/total))
		p.sigma = append(p.sigma, make([]float64, d))
	}
	prior, priorS := make([]float64, d), make([]float64, d)
	for i := range prior {
		prior[i], priorS[i] = 0.5, 1
	}
	p.mu = append(p.mu, prior)
	p.sigma = append(p.sigma, priorS)
	p.logw = append(p.logw, math.Log(priorWeight/total))
	lo := 1 / math.Min(100, 1+float64(n))
	for i := 0; i < d; i++ {
		if dims.cats[i] > 0 {
			continue
		}
		if multivariate {
			s := 0.2 * math.Pow(float64(n+1), -1/float64(d+4))
			for k := 0; k < n; k++ {
				p.sigma[k][i] = math.Max(s, lo*0.1)
			}
			continue
		}
		neighbourBandwidths(p, i, n, lo)
	}
	p.logMass = make([][]float64, len(p.mu))
	for k := range p.mu {
		p.logMass[k] = make([]float64, d)
		for i := range p.logMass[k] {
			if dims.cats[i] == 0 {
				p.logMass[k][i] = truncLogMass(p.mu[k][i], p.sigma[k][i])
			}
		}
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

// sample draws a point: from one component for every coordinate (joint)
// or from a component per coordinate.
func (p *parzen) sample(r *rand.Rand, joint bool) []float64 {
	d := len(p.mu[0])
	x := make([]float64, d)
	k := p.pick(r)
	for i := range x {
		if !joint {
			k = p.pick(r)
		}
		x[i] = p.draw(r, k, i)
	}
	return x
}

// draw samples coordinate i from component k.
func (p *parzen) draw(r *rand.Rand, k, i int) float64 {
	m := p.dims.cats[i]
	if m == 0 {
		return truncSample(r, p.mu[k][i], p.sigma[k][i])
	}
	c := math.Floor(r.Float64() * m)
	if k < len(p.mu)-1 && r.Float64() < 1/(1+m*p.eps) {
		c = math.Min(math.Floor(p.mu[k][i]*m), m-1)
	}
	return (c + 0.5) / m
}

// logp1k is component k's log probability (density on a continuous
// coordinate, mass of the value on a binned or list one) of v at i.
func (p *parzen) logp1k(k, i int, v float64) float64 {
	if m := p.dims.cats[i]; m > 0 {
		if k == len(p.mu)-1 {
			return -math.Log(m)
		}
		q := p.eps
		if math.Min(math.Floor(v*m), m-1) == math.Min(math.Floor(p.mu[k][i]*m), m-1) {
			q++
		}
		return math.Log(q / (1 + m*p.eps))
	}
	mu, s := p.mu[k][i], p.sigma[k][i]
	if m := p.dims.bins[i]; m > 0 {
		b := math.Min(math.Floor(v*m), m-1)
		mass := normCDF(((b+1)/m-mu)/s) - normCDF((b/m-mu)/s)
		return math.Log(math.Max(mass, 1e-300)) - p.logMass[k][i]
	}
	z := (v - mu) / s
	return -0.5*z*z - math.Log(s*math.Sqrt(2*math.Pi)) - p.logMass[k][i]
}

// logp is the joint (product-kernel) log probability of x.
func (p *parzen) logp(x []float64) float64 {
	terms := make([]float64, len(p.logw))
	for k, lw := range p.logw {
		s := lw
		for i, v := range x {
			s += p.logp1k(k, i, v)
		}
		terms[k] = s
	}
	return logSumExp(terms)
}

// logp1 is the marginal log probability of coordinate i.
func (p *parzen) logp1(i int, v float64) float64 {
	terms := make([]float64, len(p.logw))
	for k, lw := range p.logw {
		terms[k] = lw + p.logp1k(k, i, v)
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

// truncLogMass is the log of N(mu, s)'s mass on [0, 1].
func truncLogMass(mu, s float64) float64 {
	return math.Log(math.Max(normCDF((1-mu)/s)-normCDF(-mu/s), 1e-300))
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
