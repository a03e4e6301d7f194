package hpo

import (
	"fmt"
	"math"
	"math/rand"
	"sort"
	"strings"
)

// gpOpt is bayesianoptimization: a Gaussian process (Matern 5/2, ARD
// length scales fitted by the log marginal likelihood) with EI, LCB, PI or
// gp_hedge acquisition, in the unit cube.
type gpOpt struct {
	space   Space
	dir     Direction
	seed    int64
	initial int
	acq     string
	kappa   float64
	xi      float64
}

// NewGP returns the bayesianoptimization suggester. Settings:
// base_estimator (GP only), n_initial_points (10), acq_func
// (gp_hedge, EI, LCB, PI), kappa (1.96), xi (0.01), random_state (0).
func NewGP(space Space, settings Settings, dir Direction) (Suggester, error) {
	if err := mdlCheck(space, dir); err != nil {
		return nil, err
	}
	g := &gpOpt{space: space, dir: dir}
	var err error
	if g.seed, err = seedSetting(settings); err != nil {
		return nil, err
	}
	if g.initial, err = intSetting(settings, "n_initial_points", 10, 1); err != nil {
		return nil, err
	}
	if g.kappa, err = floatSetting(settings, "kappa", 1.96); err != nil {
		return nil, err
	}
	if g.xi, err = floatSetting(settings, "xi", 0.01); err != nil {
		return nil, err
	}
	if be := settings["base_estimator"]; be != "" && strings.ToUpper(be) != "GP" {
		return nil, fmt.Errorf("%w: base_estimator %q (only GP)", ErrInvalid, be)
	}
	g.acq = strings.ToUpper(settings["acq_func"])
	switch g.acq {
	case "":
		g.acq = "GP_HEDGE"
	case "EI", "LCB", "PI", "GP_HEDGE":
	default:
		return nil, fmt.Errorf("%w: acq_func %q (EI, LCB, PI or gp_hedge)", ErrInvalid, settings["acq_func"])
	}
	return g, nil
}

func (g *gpOpt) Suggest(history []Trial, n int) ([]Assignment, error) {
	r := rng(g.seed, history)
	xs, ys := mdlObs(g.space, history, g.dir)
	d := len(g.space)
	out := make([]Assignment, 0, n)
	var m *gpModel
	for i := 0; i < n; i++ {
		if len(xs) < g.initial || len(xs) < 2 {
			out = append(out, g.space.Decode(mdlUniform(r, d)))
			continue
		}
		if m == nil {
			m = fitGP(xs, ys, nil)
		} else {
			m = fitGP(xs, ys, m.ls) // constant liar: keep the length scales
		}
		x := g.maximise(r, m, xs)
		out = append(out, g.space.Decode(x))
		// Constant liar for the rest of the batch.
		xs = append(xs[:len(xs):len(xs)], x)
		ys = append(ys[:len(ys):len(ys)], mdlMin(ys))
	}
	return out, nil
}

func mdlMin(v []float64) float64 {
	m := math.Inf(1)
	for _, x := range v {
		m = math.Min(m, x)
	}
	return m
}

// acquisition scores (higher is better) for a posterior mean and sd in
// standardised units; best is the standardised incumbent.
func (g *gpOpt) score(acq string, mu, sd, best float64) float64 {
	switch acq {
	case "LCB":
		return -(mu - g.kappa*sd)
	case "PI", "EI":
		imp := best - mu - g.xi
		if sd < 1e-12 {
			return math.Max(imp, 0)
		}
		z := imp / sd
		if acq == "PI" {
			return normCDF(z)
		}
		return imp*normCDF(z) + sd*math.Exp(-0.5*z*z)/math.Sqrt(2*math.Pi)
	}
	return 0
}

// maximise optimises the acquisition over random candidates and
// perturbations of the best observations, then refines locally. gp_hedge
// optimises EI, LCB and PI and picks one with probability growing with
// minus its posterior mean.
func (g *gpOpt) maximise(r *rand.Rand, m *gpModel, xs [][]float64) []float64 {
	d := len(xs[0])
	cands := make([][]float64, 0, 900)
	for i := 0; i < 600; i++ {
		cands = append(cands, mdlUniform(r, d))
	}
	order := m.bestObserved(5)
	for _, i := range order {
		for j := 0; j < 60; j++ {
			cands = append(cands, perturb(r, xs[i], 0.05))
		}
	}
	mus, sds := make([]float64, len(cands)), make([]float64, len(cands))
	for i, c := range cands {
		mus[i], sds[i] = m.predict(c)
	}
	acqs := []string{g.acq}
	if g.acq == "GP_HEDGE" {
		acqs = []string{"EI", "LCB", "PI"}
	}
	best := mdlMin(m.y)
	picks := make([][]float64, len(acqs))
	gains := make([]float64, len(acqs))
	for a, acq := range acqs {
		bi, bs := 0, math.Inf(-1)
		for i := range cands {
			if s := g.score(acq, mus[i], sds[i], best); s > bs {
				bi, bs = i, s
			}
		}
		picks[a] = g.refine(r, m, acq, cands[bi], bs, best)
		mu, _ := m.predict(picks[a])
		gains[a] = -mu
	}
	if len(picks) == 1 {
		return picks[0]
	}
	return picks[hedgePick(r, gains)]
}

// hedgePick draws index i with probability ∝ exp(gains[i]).
func hedgePick(r *rand.Rand, gains []float64) int {
	top := math.Inf(-1)
	for _, v := range gains {
		top = math.Max(top, v)
	}
	ws, sum := make([]float64, len(gains)), 0.0
	for i, v := range gains {
		ws[i] = math.Exp(v - top)
		sum += ws[i]
	}
	u := r.Float64() * sum
	for i, w := range ws {
		if u -= w; u < 0 {
			return i
		}
	}
	return len(ws) - 1
}

// refine is a shrinking random local search from x.
func (g *gpOpt) refine(r *rand.Rand, m *gpModel, acq string, x []float64, s, best float64) []float64 {
	step := 0.05
	for it := 0; it < 15; it++ {
		improved := false
		for j := 0; j < 8; j++ {
			c := perturb(r, x, step)
			mu, sd := m.predict(c)
			if v := g.score(acq, mu, sd, best); v > s {
				x, s, improved = c, v, true
			}
		}
		if !improved {
			step *= 0.5
		}
	}
	return x
}

func perturb(r *rand.Rand, x []float64, s float64) []float64 {
	c := make([]float64, len(x))
	for i, v := range x {
		c[i] = clamp01(v + s*r.NormFloat64())
	}
	return c
}

// gpModel is a fitted GP on standardised targets.
type gpModel struct {
	x      [][]float64
	y      []float64 // standardised
	ls     []float64
	chol   [][]float64
	alpha  []float64
	amp    float64
	lml    float64
	jitter float64
}

// fitGP fits length scales (unless given) by maximising the profiled log
// marginal likelihood: an isotropic grid, then per-dimension halving and
// doubling.
func fitGP(xs [][]float64, ys []float64, ls []float64) *gpModel {
	y := standardise(warp(ys))
	d := len(xs[0])
	if ls != nil {
		return newGPModel(xs, y, ls)
	}
	var best *gpModel
	for _, l := range []float64{0.05, 0.1, 0.2, 0.4, 0.8, 1.6} {
		cand := make([]float64, d)
		for i := range cand {
			cand[i] = l
		}
		if m := newGPModel(xs, y, cand); best == nil || m.lml > best.lml {
			best = m
		}
	}
	for round := 0; round < 2; round++ {
		for i := 0; i < d; i++ {
			for _, f := range []float64{2, 0.5} {
				cand := append([]float64(nil), best.ls...)
				cand[i] = math.Min(math.Max(cand[i]*f, 0.01), 20)
				if m := newGPModel(xs, y, cand); m.lml > best.lml {
					best = m
				}
			}
		}
	}
	return best
}

// warp compresses heavy upper tails: when the largest value is far above
// the median (relative to the median's distance from the best), targets
// are log-transformed above the best value so the model attends to the
// region of good values.
func warp(ys []float64) []float64 {
	lo, hi, med := mdlMin(ys), math.Inf(-1), 0.0
	for _, v := range ys {
		hi = math.Max(hi, v)
	}
	s := append([]float64(nil), ys...)
	sort.Float64s(s)
	med = s[len(s)/2]
	if med-lo <= 0 || (hi-lo)/(med-lo) < 10 {
		return ys
	}
	out := make([]float64, len(ys))
	for i, v := range ys {
		out[i] = math.Log((v - lo) + 0.01*(med-lo))
	}
	return out
}

func standardise(ys []float64) []float64 {
	mean := 0.0
	for _, v := range ys {
		mean += v
	}
	mean /= float64(len(ys))
	sd := 0.0
	for _, v := range ys {
		sd += (v - mean) * (v - mean)
	}
	sd = math.Sqrt(sd / float64(len(ys)))
	if sd == 0 {
		sd = 1
	}
	out := make([]float64, len(ys))
	for i, v := range ys {
		out[i] = (v - mean) / sd
	}
	return out
}

func matern52(a, b, ls []float64) float64 {
	r2 := 0.0
	for i := range a {
		t := (a[i] - b[i]) / ls[i]
		r2 += t * t
	}
	r := math.Sqrt(5 * r2)
	return (1 + r + r*r/3) * math.Exp(-r)
}

func newGPModel(xs [][]float64, y, ls []float64) *gpModel {
	n := len(xs)
	m := &gpModel{x: xs, y: y, ls: ls}
	for jitter := 1e-6; ; jitter *= 10 {
		k := make([][]float64, n)
		for i := range k {
			k[i] = make([]float64, n)
			for j := 0; j <= i; j++ {
				k[i][j] = matern52(xs[i], xs[j], ls)
			}
			k[i][i] += jitter
		}
		if cholesky(k) || jitter > 1 {
			m.chol, m.jitter = k, jitter
			break
		}
	}
	m.alpha = cholSolve(m.chol, y)
	quad, logdet := 0.0, 0.0
	for i := range y {
		quad += y[i] * m.alpha[i]
		logdet += 2 * math.Log(m.chol[i][i])
	}
	m.amp = math.Max(quad/float64(n), 1e-12)
	m.lml = -0.5*float64(n)*math.Log(m.amp) - 0.5*logdet
	return m
}

// predict returns the posterior mean and standard deviation at x.
func (m *gpModel) predict(x []float64) (float64, float64) {
	n := len(m.x)
	k := make([]float64, n)
	mu := 0.0
	for i, xi := range m.x {
		k[i] = matern52(x, xi, m.ls)
		mu += k[i] * m.alpha[i]
	}
	v := forwardSub(m.chol, k)
	s := 1.0
	for _, t := range v {
		s -= t * t
	}
	return mu, math.Sqrt(math.Max(s, 1e-12) * m.amp)
}

func (m *gpModel) bestObserved(k int) []int {
	idx := make([]int, len(m.y))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return m.y[idx[a]] < m.y[idx[b]] })
	return idx[:min(k, len(idx))]
}

// cholesky factors a (lower triangle) in place; false if not positive
// definite.
func cholesky(a [][]float64) bool {
	for j := range a {
		s := a[j][j]
		for k := 0; k < j; k++ {
			s -= a[j][k] * a[j][k]
		}
		if s <= 0 || math.IsNaN(s) {
			return false
		}
		a[j][j] = math.Sqrt(s)
		for i := j + 1; i < len(a); i++ {
			t := a[i][j]
			for k := 0; k < j; k++ {
				t -= a[i][k] * a[j][k]
			}
			a[i][j] = t / a[j][j]
		}
	}
	return true
}

func forwardSub(l [][]float64, b []float64) []float64 {
	x := make([]float64, len(b))
	for i := range b {
		s := b[i]
		for k := 0; k < i; k++ {
			s -= l[i][k] * x[k]
		}
		x[i] = s / l[i][i]
	}
	return x
}

func cholSolve(l [][]float64, b []float64) []float64 {
	z := forwardSub(l, b)
	x := make([]float64, len(b))
	for i := len(b) - 1; i >= 0; i-- {
		s := z[i]
		for k := i + 1; k < len(b); k++ {
			s -= l[k][i] * x[k]
		}
		x[i] = s / l[i][i]
	}
	return x
}
