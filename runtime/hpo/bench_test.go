package hpo_test

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kubeline/kubeline/runtime/hpo"
	"github.com/kubeline/kubeline/runtime/hpo/problem"
)

// benchAlgos are the algorithms that search a continuous space one trial
// at a time (grid needs steps, hyperband a resource parameter).
var benchAlgos = []string{"random", "sobol", "tpe", "multivariate-tpe", "gp", "cmaes"}

func newAlgo(name string, space hpo.Space, seed int) (hpo.Suggester, error) {
	if name == "gp" {
		name = "bayesianoptimization"
	}
	return hpo.New(name, space, hpo.Settings{"random_state": strconv.Itoa(seed)}, hpo.Minimize)
}

// timed measures the time a suggester spends in Suggest.
type timed struct {
	hpo.Suggester
	spent time.Duration
	calls int
}

func (t *timed) Suggest(h []hpo.Trial, n int) ([]hpo.Assignment, error) {
	t0 := time.Now()
	defer func() { t.spent += time.Since(t0); t.calls++ }()
	return t.Suggester.Suggest(h, n)
}

// runOnce returns the regret after each budget and the suggestion time.
func runOnce(algo string, p problem.Problem, seed int, budgets []int) ([]float64, time.Duration, error) {
	sug, err := newAlgo(algo, p.Space, seed)
	if err != nil {
		return nil, 0, err
	}
	t := &timed{Suggester: sug}
	r, err := p.Run(t, budgets)
	if err != nil {
		return nil, 0, err
	}
	return r, t.spent / time.Duration(t.calls), nil
}

type benchCell struct {
	median, p90   float64
	perSuggestion time.Duration
}

func benchQuantile(v []float64, q float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (pos-float64(lo))*(s[hi]-s[lo])
}

// quality runs the algorithms on the problems over seeds (two at a time);
// results are keyed algo/problem/budget.
func quality(tb testing.TB, algos []string, problems []problem.Problem, seeds int, budgets []int) map[string]benchCell {
	out := map[string]benchCell{}
	for _, p := range problems {
		for _, algo := range algos {
			regs := make([][]float64, seeds)
			per := make([]time.Duration, seeds)
			var wg sync.WaitGroup
			sem := make(chan struct{}, 2)
			for seed := range seeds {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					r, d, err := runOnce(algo, p, seed, budgets)
					if err != nil {
						tb.Error(algo, p.Name, err)
						return
					}
					regs[seed], per[seed] = r, d
				}()
			}
			wg.Wait()
			var total time.Duration
			for _, d := range per {
				total += d
			}
			for i, b := range budgets {
				var at []float64
				for _, r := range regs {
					if r != nil {
						at = append(at, r[i])
					}
				}
				c := benchCell{benchQuantile(at, 0.5), benchQuantile(at, 0.9), total / time.Duration(seeds)}
				out[fmt.Sprintf("%s/%s/%d", algo, p.Name, b)] = c
				tb.Logf("%-16s %-11s %3d: median %10.4g  p90 %10.4g  %v/suggestion", algo, p.Name, b, c.median, c.p90, c.perSuggestion)
			}
		}
	}
	return out
}

// bestTargets are issue #7's median-regret targets for the best algorithm
// per problem and budget (the better of goptuna v0.9.0's tpe and cmaes).
var bestTargets = map[string]float64{
	"branin/50": 0.303, "branin/100": 0.0133,
	"hartmann6/50": 0.838, "hartmann6/100": 0.235,
	"rosenbrock4/50": 142, "rosenbrock4/100": 44.4,
}

// namesakeTargets are goptuna v0.9.0's median regrets over seeds 0-19 for
// its tpe and cmaes, measured like for like by goptunabench (same problems,
// seeds and budgets); BenchmarkQuality holds kubeline's tpe and cmaes to
// them.
var namesakeTargets = map[string]float64{
	"tpe/branin/50": 0.5089, "tpe/branin/100": 0.2483,
	"tpe/hartmann6/50": 1.036, "tpe/hartmann6/100": 0.5558,
	"tpe/rosenbrock4/50": 577.8, "tpe/rosenbrock4/100": 151.3,
	"tpe/mixed/50": 0.5325, "tpe/mixed/100": 0.2627,
	"cmaes/branin/50": 0.3032, "cmaes/branin/100": 0.01105,
	"cmaes/hartmann6/50": 0.7943, "cmaes/hartmann6/100": 0.2243,
	"cmaes/rosenbrock4/50": 142.1, "cmaes/rosenbrock4/100": 44.35,
	"cmaes/mixed/50": 0.9245, "cmaes/mixed/100": 0.6305,
}

// regressionBounds are TestQuality's bounds: 1.3 times the medians the
// algorithms reach over seeds 0-7 (0-3 for gp) today. Eight seeds are too
// few to compare with goptuna (a median moves by tens of percent with the
// seeds; BenchmarkQuality and goptunabench do that over 20 and more), but
// they catch a change that makes an algorithm worse.
var regressionBounds = map[string]float64{
	"tpe/branin/50": 0.2954, "tpe/branin/100": 0.05695,
	"tpe/hartmann6/50": 0.4955, "tpe/hartmann6/100": 0.2903,
	"tpe/rosenbrock4/50": 400.9, "tpe/rosenbrock4/100": 75.07,
	"tpe/mixed/50": 0.4444, "tpe/mixed/100": 0.2428,
	"multivariate-tpe/branin/50": 0.2059, "multivariate-tpe/branin/100": 0.1085,
	"multivariate-tpe/hartmann6/50": 0.607, "multivariate-tpe/hartmann6/100": 0.3778,
	"multivariate-tpe/rosenbrock4/50": 329.2, "multivariate-tpe/rosenbrock4/100": 71.32,
	"multivariate-tpe/mixed/50": 0.6459, "multivariate-tpe/mixed/100": 0.3139,
	"cmaes/branin/50": 0.255, "cmaes/branin/100": 0.005479,
	"cmaes/hartmann6/50": 0.7427, "cmaes/hartmann6/100": 0.2401,
	"cmaes/rosenbrock4/50": 123.6, "cmaes/rosenbrock4/100": 30.94,
	"cmaes/mixed/50": 0.5783, "cmaes/mixed/100": 0.3937,
	"gp/branin/50": 6.177e-05, "gp/branin/100": 1.115e-06,
	"gp/hartmann6/50": 0.06097, "gp/hartmann6/100": 0.05967,
	"gp/rosenbrock4/50": 25.93, "gp/rosenbrock4/100": 3.22,
}

// missed lists the targets res misses: the best algorithm's median against
// bestTargets and each median against its bound in bounds (keys res lacks
// are not checked).
func missed(res map[string]benchCell, bounds map[string]float64, what string) []string {
	var out []string
	for _, key := range slices.Sorted(maps.Keys(bestTargets)) {
		best, who := math.Inf(1), ""
		for _, algo := range benchAlgos {
			if c, ok := res[algo+"/"+key]; ok && c.median < best {
				best, who = c.median, algo
			}
		}
		if who != "" && best > bestTargets[key] {
			out = append(out, fmt.Sprintf("%s: best median regret %.4g (%s) misses target %.4g", key, best, who, bestTargets[key]))
		}
	}
	for _, key := range slices.Sorted(maps.Keys(bounds)) {
		if c, ok := res[key]; ok && c.median > bounds[key] {
			out = append(out, fmt.Sprintf("%s: median regret %.4g above %s %.4g", key, c.median, what, bounds[key]))
		}
	}
	return out
}

// TestQuality asserts over 8 seeds (4 with -short) that the best
// algorithm meets issue #7's targets and that tpe, multivariate-tpe, cmaes
// and gp stay within regressionBounds. To keep the test short gp (1-4
// orders of magnitude inside issue #7's targets, 100x slower) runs half
// the seeds on the classic problems only, random and sobol not at all;
// the 20-seed BenchmarkQuality runs everything.
func TestQuality(t *testing.T) {
	seeds := 8
	if testing.Short() {
		seeds = 4
	}
	budgets := []int{50, 100}
	res := quality(t, []string{"tpe", "multivariate-tpe", "cmaes"}, problem.All(), seeds, budgets)
	maps.Copy(res, quality(t, []string{"gp"}, problem.All()[:3], seeds/2, budgets))
	bounds := map[string]float64{}
	if !testing.Short() {
		for k, v := range regressionBounds {
			bounds[k] = 1.3 * v
		}
	}
	for _, m := range missed(res, bounds, "1.3 x today's") {
		t.Error(m)
	}
}

// BenchmarkQuality is the full 20-seed benchmark: it prints median and
// 90th-percentile regret of every algorithm, problem and budget with the
// suggestion time, and fails when the best algorithm misses issue #7's
// targets or tpe or cmaes is above its goptuna namesake (namesakeTargets).
func BenchmarkQuality(b *testing.B) {
	for range b.N {
		res := quality(b, benchAlgos, problem.All(), 20, []int{50, 100})
		for _, k := range slices.Sorted(maps.Keys(res)) {
			c := res[k]
			fmt.Printf("quality %-34s median %10.4g  p90 %10.4g  %v/suggestion\n", k, c.median, c.p90, c.perSuggestion)
		}
		for _, m := range missed(res, namesakeTargets, "goptuna's") {
			b.Error(m)
		}
	}
}

func TestDeterministic(t *testing.T) {
	fn := problem.Branin()
	for _, algo := range benchAlgos {
		sug, err := newAlgo(algo, fn.Space, 7)
		if err != nil {
			t.Fatal(err)
		}
		var hist []hpo.Trial
		for len(hist) < 14 {
			as, err := sug.Suggest(hist, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range as {
				v, err := fn.Value(a)
				if err != nil {
					t.Fatal(err)
				}
				hist = append(hist, hpo.Trial{Params: a, State: hpo.Succeeded, Value: v})
			}
		}
		again, _ := newAlgo(algo, fn.Space, 7)
		a1, _ := sug.Suggest(hist, 3)
		a2, _ := again.Suggest(hist, 3)
		if !reflect.DeepEqual(a1, a2) || len(a1) != 3 {
			t.Errorf("%s: same seed and history gave %v and %v", algo, a1, a2)
		}
		if algo == "sobol" {
			continue // an unscrambled Sobol sequence is the same for every seed (TestSobolScramble)
		}
		other, _ := newAlgo(algo, fn.Space, 8)
		if a3, _ := other.Suggest(hist, 3); reflect.DeepEqual(a1, a3) {
			t.Errorf("%s: seeds 7 and 8 gave the same suggestions", algo)
		}
	}
}

func TestModelSettingsInvalid(t *testing.T) {
	sp := problem.Branin().Space
	one := hpo.Space{{Name: "a", Type: hpo.Double, Min: 0, Max: 1}, {Name: "c", Type: hpo.Categorical, List: []string{"x"}}}
	tests := map[string]struct {
		algo  string
		space hpo.Space
		set   hpo.Settings
		dir   hpo.Direction
	}{
		"tpe gamma":      {"tpe", sp, hpo.Settings{"gamma": "2"}, hpo.Minimize},
		"tpe prior":      {"multivariate-tpe", sp, hpo.Settings{"prior_weight": "-1"}, hpo.Minimize},
		"tpe candidates": {"tpe", sp, hpo.Settings{"n_EI_candidates": "x"}, hpo.Minimize},
		"tpe seed":       {"tpe", sp, hpo.Settings{"random_state": "1.5"}, hpo.Minimize},
		"gp acq":         {"bayesianoptimization", sp, hpo.Settings{"acq_func": "UCBX"}, hpo.Minimize},
		"gp initial":     {"bayesianoptimization", sp, hpo.Settings{"n_initial_points": "0"}, hpo.Minimize},
		"gp estimator":   {"bayesianoptimization", sp, hpo.Settings{"base_estimator": "RF"}, hpo.Minimize},
		"cmaes one":      {"cmaes", one, nil, hpo.Minimize},
		"cmaes sigma":    {"cmaes", sp, hpo.Settings{"sigma": "0"}, hpo.Minimize},
		"cmaes restart":  {"cmaes", sp, hpo.Settings{"restart_strategy": "x"}, hpo.Minimize},
		"empty space":    {"bayesianoptimization", nil, nil, hpo.Minimize},
		"bad space":      {"tpe", hpo.Space{{Name: "a", Type: hpo.Double, Min: 1, Max: 0}}, nil, hpo.Minimize},
		"bad direction":  {"cmaes", sp, nil, hpo.Direction(5)},
	}
	for name, tc := range tests {
		if _, err := hpo.New(tc.algo, tc.space, tc.set, tc.dir); !errors.Is(err, hpo.ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}

// TestMixedSpaceAndBatches runs every algorithm on a space with int,
// log-scaled and categorical parameters, maximising, with batches and
// running trials in the history.
func TestMixedSpaceAndBatches(t *testing.T) {
	sp := hpo.Space{
		{Name: "lr", Type: hpo.Double, Min: 1e-4, Max: 1, Distribution: hpo.LogUniform},
		{Name: "layers", Type: hpo.Int, Min: 1, Max: 5},
		{Name: "opt", Type: hpo.Categorical, List: []string{"sgd", "adam", "rmsprop"}},
	}
	score := func(a hpo.Assignment) float64 {
		lr, _ := strconv.ParseFloat(a["lr"], 64)
		l, _ := strconv.Atoi(a["layers"])
		v := -math.Pow(math.Log10(lr)+2, 2) - math.Abs(float64(l-3))
		if a["opt"] == "adam" {
			v++
		}
		return v
	}
	for _, algo := range benchAlgos {
		name := algo
		if algo == "gp" {
			name = "bayesianoptimization"
		}
		sug, err := hpo.New(name, sp, hpo.Settings{"random_state": "3"}, hpo.Maximize)
		if err != nil {
			t.Fatal(algo, err)
		}
		var hist []hpo.Trial
		for len(hist) < 40 {
			as, err := sug.Suggest(hist, 3)
			if err != nil || len(as) != 3 {
				t.Fatalf("%s: %v, %d suggestions", algo, err, len(as))
			}
			for _, a := range as {
				if _, err := sp.Encode(a); err != nil {
					t.Fatalf("%s: suggestion %v: %v", algo, a, err)
				}
				hist = append(hist, hpo.Trial{Params: a, State: hpo.Succeeded, Value: score(a)})
			}
		}
		best := math.Inf(-1)
		for _, h := range hist {
			best = math.Max(best, h.Value)
		}
		// The maximum is 1 (lr 0.01, 3 layers, adam); -1 is the best without
		// adam or off by a layer. Over seeds 0-19 tpe reaches ≥ 0 in 18,
		// random in 16 (seed 3: -8.8e-6 and -0.04).
		if best < -0.25 {
			t.Errorf("%s: best %.3g after 42 trials, want ≥ -0.25", algo, best)
		}
		hist[len(hist)-1].State = hpo.Running
		a1, _ := sug.Suggest(hist, 4)
		a2, _ := sug.Suggest(hist, 4)
		if len(a1) != 4 || !reflect.DeepEqual(a1, a2) {
			t.Errorf("%s: with a running trial got %v then %v", algo, a1, a2)
		}
	}
}
