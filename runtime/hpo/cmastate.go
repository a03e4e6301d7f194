package hpo

import (
	"math"
	"math/rand"
	"sort"
)

// cmaState is one CMA-ES run's distribution and strategy parameters, as in
// Hansen's tutorial (arXiv:1604.00772, 2016): weighted recombination with
// negative weights for the worse half (active CMA), cumulative step-size
// adaptation, rank-one and rank-μ covariance updates. Points live in the
// unit cube; samples outside it are drawn again (at most 100 times, then
// clipped), as goptuna and the cmaes library do.
type cmaState struct {
	d, lambda, mu, gen int
	w                  []float64 // λ recombination weights, the last ones negative
	mueff              float64
	cc, cs, c1, cmu    float64
	damps, chiN        float64
	sigma, sigma0      float64
	mean, pc, ps       []float64
	c, b               [][]float64
	diag               []float64 // square roots of C's eigenvalues
	best, worst        []float64 // per generation, for the stop criteria
	// bins is the number of values of each discrete coordinate (0 for a
	// continuous one); margin keeps each discrete coordinate's marginal
	// from settling inside one bin (see margin).
	bins []float64
}

func newCMAState(d, lambda int, sigma float64, mean []float64) *cmaState {
	s := &cmaState{d: d, lambda: lambda, mu: lambda / 2, sigma: sigma, sigma0: sigma}
	if mean == nil {
		mean = make([]float64, d)
		for i := range mean {
			mean[i] = 0.5
		}
	}
	s.mean = mean
	fd := float64(d)
	raw := make([]float64, lambda)
	var pos, neg, pos2, neg2 float64
	for i := range raw {
		raw[i] = math.Log(float64(lambda+1)/2) - math.Log(float64(i+1))
		if i < s.mu {
			pos, pos2 = pos+raw[i], pos2+raw[i]*raw[i]
		} else {
			neg, neg2 = neg+raw[i], neg2+raw[i]*raw[i]
		}
	}
	s.mueff = pos * pos / pos2
	mueffMinus := 0.0
	if neg2 > 0 {
		mueffMinus = neg * neg / neg2
	}
	s.c1 = 2 / ((fd+1.3)*(fd+1.3) + s.mueff)
	s.cmu = math.Min(1-s.c1, 2*(s.mueff-2+1/s.mueff)/((fd+2)*(fd+2)+s.mueff))
	alphaNeg := math.Min(1+s.c1/s.cmu, 1+2*mueffMinus/(s.mueff+2))
	alphaNeg = math.Min(alphaNeg, (1-s.c1-s.cmu)/(fd*s.cmu))
	s.w = make([]float64, lambda)
	for i, r := range raw {
		if r >= 0 {
			s.w[i] = r / pos
		} else {
			s.w[i] = alphaNeg * r / -neg
		}
	}
	s.cs = (s.mueff + 2) / (fd + s.mueff + 5)
	s.damps = 1 + 2*math.Max(0, math.Sqrt((s.mueff-1)/(fd+1))-1) + s.cs
	s.cc = (4 + s.mueff/fd) / (fd + 4 + 2*s.mueff/fd)
	s.chiN = math.Sqrt(fd) * (1 - 1/(4*fd) + 1/(21*fd*fd))
	s.pc, s.ps = make([]float64, d), make([]float64, d)
	s.c, s.b, s.diag = mdlIdentity(d), mdlIdentity(d), make([]float64, d)
	for i := range s.diag {
		s.diag[i] = 1
	}
	return s
}

func mdlIdentity(d int) [][]float64 {
	m := make([][]float64, d)
	for i := range m {
		m[i] = make([]float64, d)
		m[i][i] = 1
	}
	return m
}

// sample draws a generation of λ points inside the unit cube.
func (s *cmaState) sample(r *rand.Rand) [][]float64 {
	out := make([][]float64, s.lambda)
	for k := range out {
		x := s.draw(r)
		for try := 0; try < 100 && !inCube(x); try++ {
			x = s.draw(r)
		}
		for i := range x {
			x[i] = clamp01(x[i])
		}
		out[k] = x
	}
	return out
}

// draw is one point of N(mean, σ² C).
func (s *cmaState) draw(r *rand.Rand) []float64 {
	z := make([]float64, s.d)
	for i := range z {
		z[i] = s.diag[i] * r.NormFloat64()
	}
	x := make([]float64, s.d)
	for i := range x {
		v := s.mean[i]
		for j := range z {
			v += s.sigma * s.b[i][j] * z[j]
		}
		x[i] = v
	}
	return x
}

func inCube(x []float64) bool {
	for _, v := range x {
		if v <= 0 || v >= 1 {
			return false
		}
	}
	return true
}

// update is one generation's step from its points and values (to
// minimise); it needs at least μ points.
func (s *cmaState) update(xs [][]float64, ys []float64) {
	if len(xs) < s.mu {
		return
	}
	idx := make([]int, len(ys))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return ys[idx[a]] < ys[idx[b]] })
	s.gen++
	s.best = append(s.best, ys[idx[0]])
	s.worst = append(s.worst, ys[idx[len(idx)-1]])
	y := make([][]float64, len(idx)) // (x - m) / σ, best first
	yw := make([]float64, s.d)
	for k, i := range idx {
		y[k] = make([]float64, s.d)
		for j := range y[k] {
			y[k][j] = (xs[i][j] - s.mean[j]) / s.sigma
			if k < s.mu {
				yw[j] += s.w[k] * y[k][j]
			}
		}
	}
	for j := range s.mean {
		s.mean[j] += s.sigma * yw[j]
	}
	hsig := s.paths(yw)
	s.covariance(y, hsig)
	s.sigma *= math.Exp(s.cs / s.damps * (mdlNorm(s.ps)/s.chiN - 1))
	s.margin()
	s.b, s.diag = eigenSym(s.c)
}

// margin keeps the standard deviation of each discrete coordinate at least
// such that a sample leaves the bin around the mean with probability
// 1/(dλ) (the margin of CMA-ES with Margin, Hamano et al., GECCO 2022,
// enforced on the marginal's spread): without it σ²C shrinks inside one
// int or list value and the coordinate fixes there for good. It scales the
// coordinate's row and column of C, which keeps C positive definite.
func (s *cmaState) margin() {
	alpha := 1 / float64(s.d*s.lambda)
	z := math.Sqrt2 * math.Erfinv(1-alpha)
	for j, n := range s.bins {
		if n < 2 {
			continue
		}
		want := 0.5 / n / z
		have := s.sigma * math.Sqrt(s.c[j][j])
		if have >= want {
			continue
		}
		f := want / have
		for i := range s.c {
			s.c[i][j] *= f
			s.c[j][i] *= f
		}
	}
}

// invSqrt is C^{-1/2} v = B D^{-1} Bᵀ v.
func (s *cmaState) invSqrt(v []float64) []float64 {
	t := make([]float64, s.d)
	for j := 0; j < s.d; j++ {
		for i := 0; i < s.d; i++ {
			t[j] += s.b[i][j] * v[i]
		}
		t[j] /= s.diag[j]
	}
	out := make([]float64, s.d)
	for i := range out {
		for j := 0; j < s.d; j++ {
			out[i] += s.b[i][j] * t[j]
		}
	}
	return out
}

// paths updates the evolution paths and reports hσ.
func (s *cmaState) paths(yw []float64) bool {
	a := math.Sqrt(s.cs * (2 - s.cs) * s.mueff)
	for i, v := range s.invSqrt(yw) {
		s.ps[i] = (1-s.cs)*s.ps[i] + a*v
	}
	hsig := mdlNorm(s.ps)/math.Sqrt(1-math.Pow(1-s.cs, 2*float64(s.gen+1))) < (1.4+2/float64(s.d+1))*s.chiN
	h := 0.0
	if hsig {
		h = 1
	}
	ac := math.Sqrt(s.cc * (2 - s.cc) * s.mueff)
	for i := range s.pc {
		s.pc[i] = (1-s.cc)*s.pc[i] + h*ac*yw[i]
	}
	return hsig
}

// covariance is the rank-one and (active) rank-μ update of C.
func (s *cmaState) covariance(y [][]float64, hsig bool) {
	wo := make([]float64, len(y))
	sumW := 0.0
	for k := range y {
		wo[k] = s.w[k]
		sumW += s.w[k]
		if s.w[k] < 0 {
			n := mdlNorm(s.invSqrt(y[k]))
			wo[k] *= float64(s.d) / math.Max(n*n, 1e-20)
		}
	}
	delta := 0.0
	if !hsig {
		delta = s.cc * (2 - s.cc)
	}
	keep := 1 + s.c1*delta - s.c1 - s.cmu*sumW
	for i := 0; i < s.d; i++ {
		for j := 0; j <= i; j++ {
			rank := 0.0
			for k, yk := range y {
				rank += wo[k] * yk[i] * yk[j]
			}
			v := keep*s.c[i][j] + s.c1*s.pc[i]*s.pc[j] + s.cmu*rank
			s.c[i][j], s.c[j][i] = v, v
		}
		if s.c[i][i] <= 0 {
			s.c[i][i] = 1e-8
		}
	}
}

// stalled reports the restart conditions of IPOP-CMA-ES: the best values
// of the recent generations are flat, the step is negligible, the
// distribution diverged, or C is ill-conditioned.
func (s *cmaState) stalled() bool {
	maxD, minD := 0.0, math.Inf(1)
	for _, v := range s.diag {
		maxD, minD = math.Max(maxD, v), math.Min(minD, v)
	}
	if s.sigma*maxD < 1e-12*s.sigma0 || s.sigma*maxD > 1e4 || maxD*maxD/(minD*minD) > 1e14 {
		return true
	}
	win := 10 + int(math.Ceil(30*float64(s.d)/float64(s.lambda)))
	if s.gen > win {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range append(s.best[s.gen-win:], s.worst[s.gen-win:]...) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		return hi-lo < 1e-12
	}
	return false
}
