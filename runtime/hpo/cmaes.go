package hpo

import (
	"fmt"
	"math"
	"math/rand"
	"sort"
)

// cmaes is (mu/mu_w, lambda)-CMA-ES in the unit cube. It keeps no state:
// each call replays the history generation by generation (generations are
// the consecutive runs of lambda trials) to rebuild the distribution.
type cmaes struct {
	space   Space
	dir     Direction
	seed    int64
	sigma0  float64
	restart string
}

// NewCMAES returns the cmaes suggester. Settings: sigma (in the units of
// the numeric parameter with the smallest range; default that range / 6,
// i.e. 1/6 of the unit cube), restart_strategy none|ipop|bipop (bipop runs
// as ipop), random_state (0). It needs at least two numeric parameters.
func NewCMAES(space Space, settings Settings, dir Direction) (Suggester, error) {
	if err := mdlCheck(space, dir); err != nil {
		return nil, err
	}
	c := &cmaes{space: space, dir: dir, sigma0: 1.0 / 6}
	numeric, smallest := 0, math.Inf(1)
	for _, p := range space {
		if p.Type == Int || p.Type == Double {
			numeric++
			smallest = math.Min(smallest, p.Max-p.Min)
		}
	}
	if numeric < 2 {
		return nil, fmt.Errorf("%w: cmaes needs at least two numeric parameters", ErrInvalid)
	}
	var err error
	if c.seed, err = seedSetting(settings); err != nil {
		return nil, err
	}
	if _, ok := settings["sigma"]; ok {
		s, err := floatSetting(settings, "sigma", 0)
		if err != nil {
			return nil, err
		}
		if s <= 0 {
			return nil, fmt.Errorf("%w: sigma must be > 0", ErrInvalid)
		}
		if smallest > 0 {
			c.sigma0 = math.Min(s/smallest, 1)
		}
	}
	switch c.restart = settings["restart_strategy"]; c.restart {
	case "", "none":
		c.restart = "none"
	case "ipop", "bipop":
		c.restart = "ipop"
	default:
		return nil, fmt.Errorf("%w: restart_strategy %q (none, ipop or bipop)", ErrInvalid, c.restart)
	}
	return c, nil
}

func (c *cmaes) Suggest(history []Trial, n int) ([]Assignment, error) {
	d := len(c.space)
	st := newCMAState(d, 4+int(3*math.Log(float64(d))), c.sigma0, nil)
	pos := 0
	for pos+st.lambda <= len(history) && generationDone(history[pos:pos+st.lambda]) {
		gen := history[pos : pos+st.lambda]
		st.update(c.evaluate(gen))
		pos += st.lambda
		if c.restart == "ipop" && st.stalled() {
			r := rng(c.seed, history[:pos])
			st = newCMAState(d, 2*st.lambda, c.sigma0, mdlUniform(r, d))
		}
	}
	out := make([]Assignment, 0, n)
	var cands [][]float64
	start := -1
	for i := 0; i < n; i++ {
		k := len(history) + i
		g0 := pos + st.lambda*((k-pos)/st.lambda)
		if g0 != start {
			start = g0
			var r *rand.Rand
			if g0 <= len(history) {
				r = rng(c.seed, history[:g0])
			} else {
				r = rng(c.seed, make([]Trial, g0))
			}
			cands = st.sample(r)
		}
		out = append(out, c.space.Decode(cands[k-g0]))
	}
	return out, nil
}

func generationDone(gen []Trial) bool {
	for _, t := range gen {
		if t.State == Running || t.State == "" {
			return false
		}
	}
	return true
}

// evaluate encodes a generation's trials with values to minimise; failed
// trials rank last.
func (c *cmaes) evaluate(gen []Trial) ([][]float64, []float64) {
	xs := make([][]float64, 0, len(gen))
	ys := make([]float64, 0, len(gen))
	for _, t := range gen {
		x, err := c.space.Encode(t.Params)
		if err != nil {
			continue
		}
		y := math.Inf(1)
		if t.State == Succeeded && !math.IsNaN(t.Value) {
			y = t.Value
			if c.dir == Maximize {
				y = -y
			}
		}
		xs, ys = append(xs, x), append(ys, y)
	}
	return xs, ys
}

// cmaState is one CMA-ES run's distribution and strategy parameters.
type cmaState struct {
	d, lambda, mu, gen          int
	w                           []float64
	mueff, cc, cs, c1, cmu, dmp float64
	chiN, sigma                 float64
	mean, pc, ps                []float64
	c, b                        [][]float64
	diag                        []float64 // square roots of C's eigenvalues
	history                     []float64 // best value per generation
	c1h                         float64   // c1 share lost when hsig fails
}

func newCMAState(d, lambda int, sigma float64, mean []float64) *cmaState {
	s := &cmaState{d: d, lambda: lambda, mu: lambda / 2, sigma: sigma}
	if mean == nil {
		mean = make([]float64, d)
		for i := range mean {
			mean[i] = 0.5
		}
	}
	s.mean = mean
	sum, sum2 := 0.0, 0.0
	for i := 0; i < s.mu; i++ {
		w := math.Log(float64(s.mu)+0.5) - math.Log(float64(i+1))
		s.w = append(s.w, w)
		sum += w
	}
	for i := range s.w {
		s.w[i] /= sum
		sum2 += s.w[i] * s.w[i]
	}
	s.mueff = 1 / sum2
	fd := float64(d)
	s.cc = (4 + s.mueff/fd) / (fd + 4 + 2*s.mueff/fd)
	s.cs = (s.mueff + 2) / (fd + s.mueff + 5)
	s.c1 = 2 / ((fd+1.3)*(fd+1.3) + s.mueff)
	s.cmu = math.Min(1-s.c1, 2*(s.mueff-2+1/s.mueff)/((fd+2)*(fd+2)+s.mueff))
	s.dmp = 1 + 2*math.Max(0, math.Sqrt((s.mueff-1)/(fd+1))-1) + s.cs
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

// sample draws a generation, mirrored into the unit cube.
func (s *cmaState) sample(r *rand.Rand) [][]float64 {
	out := make([][]float64, s.lambda)
	for k := range out {
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
			x[i] = mirror(v)
		}
		out[k] = x
	}
	return out
}

func mirror(v float64) float64 {
	v = math.Mod(math.Abs(v), 2)
	if v > 1 {
		v = 2 - v
	}
	return v
}

// update is the standard CMA-ES step from the generation's points.
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
	s.history = append(s.history, ys[idx[0]])
	old := s.mean
	ysel := make([][]float64, s.mu)
	ymean := make([]float64, s.d)
	s.mean = make([]float64, s.d)
	for k := 0; k < s.mu; k++ {
		x := xs[idx[k]]
		ysel[k] = make([]float64, s.d)
		for i := range x {
			ysel[k][i] = (x[i] - old[i]) / s.sigma
			ymean[i] += s.w[k] * ysel[k][i]
			s.mean[i] += s.w[k] * x[i]
		}
	}
	s.paths(ymean)
	s.covariance(ysel)
	s.sigma *= math.Exp(s.cs / s.dmp * (mdlNorm(s.ps)/s.chiN - 1))
	s.sigma = math.Min(s.sigma, 1)
	s.b, s.diag = eigenSym(s.c)
}

func (s *cmaState) paths(ymean []float64) {
	// C^{-1/2} ymean = B D^{-1} B^T ymean.
	t := make([]float64, s.d)
	for j := 0; j < s.d; j++ {
		for i := 0; i < s.d; i++ {
			t[j] += s.b[i][j] * ymean[i]
		}
		t[j] /= s.diag[j]
	}
	a := math.Sqrt(s.cs * (2 - s.cs) * s.mueff)
	for i := 0; i < s.d; i++ {
		v := 0.0
		for j := 0; j < s.d; j++ {
			v += s.b[i][j] * t[j]
		}
		s.ps[i] = (1-s.cs)*s.ps[i] + a*v
	}
	hsig := mdlNorm(s.ps)/math.Sqrt(1-math.Pow(1-s.cs, 2*float64(s.gen)))/s.chiN < 1.4+2/float64(s.d+1)
	h := 0.0
	if hsig {
		h = 1
	}
	ac := math.Sqrt(s.cc * (2 - s.cc) * s.mueff)
	for i := range s.pc {
		s.pc[i] = (1-s.cc)*s.pc[i] + h*ac*ymean[i]
	}
	if !hsig {
		s.c1h = s.c1 * s.cc * (2 - s.cc)
	} else {
		s.c1h = 0
	}
}

func (s *cmaState) covariance(ysel [][]float64) {
	for i := 0; i < s.d; i++ {
		for j := 0; j <= i; j++ {
			rank := 0.0
			for k, y := range ysel {
				rank += s.w[k] * y[i] * y[j]
			}
			v := (1-s.c1-s.cmu+s.c1h)*s.c[i][j] + s.c1*s.pc[i]*s.pc[j] + s.cmu*rank
			s.c[i][j], s.c[j][i] = v, v
		}
	}
}

// stalled reports an IPOP restart condition: the step is negligible, the
// covariance is ill-conditioned or the best value has stagnated.
func (s *cmaState) stalled() bool {
	maxD, minD := 0.0, math.Inf(1)
	for _, v := range s.diag {
		maxD, minD = math.Max(maxD, v), math.Min(minD, v)
	}
	if s.sigma*maxD < 1e-8 || maxD/minD > 1e7 {
		return true
	}
	win := 10 + int(math.Ceil(30*float64(s.d)/float64(s.lambda)))
	if len(s.history) > win {
		recent := s.history[len(s.history)-win:]
		return mdlMin(recent) >= mdlMin(s.history[:len(s.history)-win])
	}
	return false
}

func mdlNorm(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

// eigenSym diagonalises a symmetric matrix by Jacobi rotations: columns of
// b are eigenvectors; diag holds the square roots of the eigenvalues.
func eigenSym(c [][]float64) ([][]float64, []float64) {
	d := len(c)
	a := make([][]float64, d)
	for i := range a {
		a[i] = append([]float64(nil), c[i]...)
	}
	b := mdlIdentity(d)
	for sweep := 0; sweep < 50; sweep++ {
		off := 0.0
		for i := 0; i < d; i++ {
			for j := i + 1; j < d; j++ {
				off += a[i][j] * a[i][j]
			}
		}
		if off < 1e-30 {
			break
		}
		for p := 0; p < d; p++ {
			for q := p + 1; q < d; q++ {
				jacobiRotate(a, b, p, q)
			}
		}
	}
	diag := make([]float64, d)
	for i := range diag {
		diag[i] = math.Sqrt(math.Max(a[i][i], 1e-20))
	}
	return b, diag
}

func jacobiRotate(a, b [][]float64, p, q int) {
	if math.Abs(a[p][q]) < 1e-300 {
		return
	}
	theta := (a[q][q] - a[p][p]) / (2 * a[p][q])
	t := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
	cs := 1 / math.Sqrt(t*t+1)
	sn := t * cs
	for k := range a {
		akp, akq := a[k][p], a[k][q]
		a[k][p], a[k][q] = cs*akp-sn*akq, sn*akp+cs*akq
	}
	for k := range a {
		apk, aqk := a[p][k], a[q][k]
		a[p][k], a[q][k] = cs*apk-sn*aqk, sn*apk+cs*aqk
	}
	for k := range b {
		bkp, bkq := b[k][p], b[k][q]
		b[k][p], b[k][q] = cs*bkp-sn*bkq, sn*bkp+cs*bkq
	}
}
