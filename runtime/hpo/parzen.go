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
// centred with width 1). On a list coordinate of the joint (multivariate)
// estimator a component is a categorical distribution that puts 1 + ε on
// the observed value and ε on every value (ε = prior weight / number of
// components), and the prior's is uniform. A univariate estimator models
// each list coordinate as goptuna and hyperopt do: each value's
// probability is its recency-weighted count among the observations plus
// the prior weight (listW).
type parzen struct {
	dims      parzenDims
	mu, sigma [][]float64 // per component and coordinate
	logMass   [][]float64 // log of each Gaussian's mass on [0, 1]
	logw      []float64
	// listW holds, for each list coordinate of a univariate estimator, the
	// components' log weights there: recencyWeights for the observations,
	// prior weight × number of values for the (uniform) prior. nil for a
	// joint estimator.
	listW [][]float64
	eps   float64
}

// newParzen fits the estimator to the points pts; at gives each point's
// position in trial order (for recencyWeights).
func newParzen(pts [][]float64, at []int, dims parzenDims, priorWeight float64, multivariate bool) *parzen {
	n, d := len(pts), len(dims.cats)
	p := &parzen{dims: dims, eps: priorWeight / float64(n+1)}
	total := float64(n) + priorWeight
	for _, x := range pts {
		p.mu = append(p.mu, x)
		p.logw = append(p.logw, math.Log(1/total))
		p.sigma = append(p.sigma, make([]float64, d))
	}
	if !multivariate {
		p.listW = make([][]float64, d)
		for i, m := range dims.cats {
			if m > 0 {
				p.listW[i] = listLogWeights(at, priorWeight*m)
			}
		}
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

// listLogWeights are the log weights of the observations' components
// (at: their positions in trial order) and the prior's on a list
// coordinate: recencyWeights and priorWeight, normalised.
func listLogWeights(at []int, priorWeight float64) []float64 {
	order := make([]int, len(at))
	for k := range order {
		order[k] = k
	}
	sort.Slice(order, func(a, b int) bool { return at[order[a]] < at[order[b]] })
	ramp := recencyWeights(len(at))
	w := make([]float64, len(at)+1)
	for j, k := range order {
		w[k] = ramp[j]
	}
	w[len(at)] = priorWeight
	total := 0.0
	for _, v := range w {
		total += v
	}
	for k := range w {
		w[k] = math.Log(w[k] / total)
	}
	return w
}

// recencyWeights are the weights of n observations in trial order,
// Optuna's and goptuna's default: the 25 newest weigh 1, older ones rise
// linearly from 1/n to 1 (Bergstra et al., ICML 2013). On a list
// coordinate the newest trials show which values the search has stopped
// trying: they weigh less in g than their old count says, so l/g turns
// back to a good value that an early lead of another one crowded out.
// (Numeric coordinates weigh observations alike: there the ramp made
// Hartmann6 at 50 trials worse, median 0.75 → 0.80 over seeds 0-19.)
func recencyWeights(n int) []float64 {
	w := make([]float64, n)
	old := n - 25
	for k := range w {
		w[k] = 1
		if k < old && old > 1 {
			w[k] = 1/float64(n) + float64(k)*(1-1/float64(n))/float64(old-1)
		} else if k < old {
			w[k] = 1 / float64(n)
		}
	}
	return w
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

// weights are the log weights of the components on coordinate i.
func (p *parzen) weights(i int) []float64 {
	if p.listW != nil && p.listW[i] != nil {
		return p.listW[i]
	}
	return p.logw
}

// pickComponent draws a component by the log weights lw.
func pickComponent(r *rand.Rand, lw []float64) int {
	u := r.Float64()
	for k, w := range lw {
		u -= math.Exp(w)
		if u < 0 {
			return k
		}
	}
	return len(lw) - 1
}

// sample draws a point: from one component for every coordinate (joint)
// or from a component per coordinate.
func (p *parzen) sample(r *rand.Rand, joint bool) []float64 {
	d := len(p.mu[0])
	x := make([]float64, d)
	k := pickComponent(r, p.logw)
	for i := range x {
		if !joint {
			k = pickComponent(r, p.weights(i))
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
	if k < len(p.mu)-1 && (p.listW != nil || r.Float64() < 1/(1+m*p.eps)) {
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
		same := math.Min(math.Floor(v*m), m-1) == math.Min(math.Floor(p.mu[k][i]*m), m-1)
		if p.listW != nil {
			if same {
				return 0
			}
			return math.Inf(-1)
		}
		q := p.eps
		if same {
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
	lws := p.weights(i)
	terms := make([]float64, len(lws))
	for k, lw := range lws {
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

func maxCats(d parzenDims) float64 {
	m := 0.0
	for _, c := range d.cats {
		m = math.Max(m, c)
	}
	return m
}
