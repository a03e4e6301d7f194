package goptunabench

import (
	"flag"
	"fmt"
	"math"
	"math/rand"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/c-bata/goptuna"
	"github.com/c-bata/goptuna/cmaes"
	"github.com/c-bata/goptuna/tpe"

	"github.com/kubeline/kubeline/runtime/hpo"
	"github.com/kubeline/kubeline/runtime/hpo/problem"
)

var budgets = []int{50, 100}

// solver runs one algorithm on a problem with a seed and returns the regret
// after each budget.
type solver struct {
	name string
	run  func(p problem.Problem, seed int) ([]float64, error)
}

func kubeline(algorithm string) solver { return kubelineOrder(algorithm, false) }

// kubelineOrder is kubeline; with reversed the suggester sees each
// categorical parameter's choices in reverse order (the problem is the
// same: values are passed by name).
func kubelineOrder(algorithm string, reversed bool) solver {
	return solver{"kubeline " + algorithm, func(p problem.Problem, seed int) ([]float64, error) {
		space := p.Space
		if reversed {
			space = reverseChoices(space)
		}
		name := algorithm
		if name == "gp" {
			name = "bayesianoptimization"
		}
		s, err := hpo.New(name, space, hpo.Settings{"random_state": strconv.Itoa(seed)}, hpo.Minimize)
		if err != nil {
			return nil, err
		}
		return p.Run(s, budgets)
	}}
}

// globalRand serialises the runs that draw from math/rand's global source:
// goptuna's tpe picks its mixture components there (internal/random), so
// each of its runs seeds that source (go.mod's godebug randseednop=0 makes
// rand.Seed work) and runs alone, which makes it reproducible.
var globalRand sync.Mutex

// goptunaSolver sets goptuna up as Katib's goptuna suggestion service does
// (the search space defined up front, cmaes with no start-up trials) with
// the seed given to the sampler and to the random sampler that draws what
// cmaes does not (categorical parameters); "random" is that random
// sampler alone.
func goptunaSolver(algorithm string) solver { return goptunaSolverOrder(algorithm, false) }

// goptunaSolverOrder is goptunaSolver; with reversed it gives goptuna each
// categorical parameter's choices in reverse order (the problem is the
// same: values are passed by name).
func goptunaSolverOrder(algorithm string, reversed bool) solver {
	return solver{"goptuna " + algorithm, func(p problem.Problem, seed int) ([]float64, error) {
		globalRand.Lock()
		defer globalRand.Unlock()
		rand.Seed(int64(seed))
		ps := p.Space
		if reversed {
			ps = reverseChoices(ps)
		}
		space := goptunaSpace(ps)
		opts := []goptuna.StudyOption{
			goptuna.StudyOptionDefineSearchSpace(space),
			goptuna.StudyOptionLogger(nil),
			goptuna.StudyOptionSampler(goptuna.NewRandomSampler(goptuna.RandomSamplerOptionSeed(int64(seed)))),
		}
		switch algorithm {
		case "tpe":
			opts = append(opts, goptuna.StudyOptionSampler(tpe.NewSampler(tpe.SamplerOptionSeed(int64(seed)))))
		case "cmaes":
			opts = append(opts, goptuna.StudyOptionRelativeSampler(cmaes.NewSampler(
				cmaes.SamplerOptionNStartupTrials(0), cmaes.SamplerOptionSeed(int64(seed)))))
		}
		study, err := goptuna.CreateStudy("bench", opts...)
		if err != nil {
			return nil, err
		}
		objective := func(t goptuna.Trial) (float64, error) {
			a, err := goptunaAssign(t, ps)
			if err != nil {
				return 0, err
			}
			return p.Value(a)
		}
		var regrets []float64
		done := 0
		for _, b := range budgets {
			if err := study.Optimize(objective, b-done); err != nil {
				return nil, err
			}
			done = b
			best, err := study.GetBestValue()
			if err != nil {
				return nil, err
			}
			regrets = append(regrets, best-p.Min)
		}
		return regrets, nil
	}}
}

func reverseChoices(s hpo.Space) hpo.Space {
	out := slices.Clone(s)
	for i := range out {
		if out[i].List != nil {
			out[i].List = slices.Clone(out[i].List)
			slices.Reverse(out[i].List)
		}
	}
	return out
}

func goptunaSpace(s hpo.Space) map[string]interface{} {
	out := map[string]interface{}{}
	for _, p := range s {
		switch p.Type {
		case hpo.Double:
			out[p.Name] = goptuna.UniformDistribution{Low: p.Min, High: p.Max}
		case hpo.Int:
			out[p.Name] = goptuna.IntUniformDistribution{Low: int(p.Min), High: int(p.Max)}
		default:
			out[p.Name] = goptuna.CategoricalDistribution{Choices: p.List}
		}
	}
	return out
}

func goptunaAssign(t goptuna.Trial, s hpo.Space) (hpo.Assignment, error) {
	a := hpo.Assignment{}
	for _, p := range s {
		switch p.Type {
		case hpo.Double:
			v, err := t.SuggestFloat(p.Name, p.Min, p.Max)
			if err != nil {
				return nil, err
			}
			a[p.Name] = strconv.FormatFloat(v, 'g', -1, 64)
		case hpo.Int:
			v, err := t.SuggestInt(p.Name, int(p.Min), int(p.Max))
			if err != nil {
				return nil, err
			}
			a[p.Name] = strconv.Itoa(v)
		default:
			v, err := t.SuggestCategorical(p.Name, p.List)
			if err != nil {
				return nil, err
			}
			a[p.Name] = v
		}
	}
	return a, nil
}

// issue7 are the goptuna v0.9.0 medians over 20 seeds that kubeline's
// issue #7 gives as its quality targets, keyed algorithm/problem/budget.
// They were measured by the issue's author; goptuna itself publishes no
// figures for these functions and budgets (its _benchmarks run kurobako on
// 2-D Rosenbrock, Himmelblau, Rastrigin, ... with 300 trials and publish
// plots in pull requests).
var issue7 = map[string]float64{
	"tpe/branin/50": 0.404, "cmaes/branin/50": 0.303, "tpe/branin/100": 0.227, "cmaes/branin/100": 0.0133,
	"tpe/hartmann6/50": 1.100, "cmaes/hartmann6/50": 0.838, "tpe/hartmann6/100": 0.578, "cmaes/hartmann6/100": 0.235,
	"tpe/rosenbrock4/50": 578, "cmaes/rosenbrock4/50": 142, "tpe/rosenbrock4/100": 151, "cmaes/rosenbrock4/100": 44.4,
}

func quantile(v []float64, q float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (pos-float64(lo))*(s[hi]-s[lo])
}

// selected reports whether the comma-separated list in the environment
// variable env names name (an unset variable or "all" selects
// everything).
func selected(env, name string) bool {
	v := os.Getenv(env)
	return v == "" || v == "all" || slices.Contains(strings.Split(v, ","), name)
}

// regrets runs a solver on a problem over seeds seed0 … seed0+seeds−1, two
// at a time, and returns the regrets per budget.
func regrets(tb testing.TB, s solver, p problem.Problem, seed0, seeds int) [][]float64 {
	out := make([][]float64, len(budgets))
	byseed := make([][]float64, seeds)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for seed := range seeds {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r, err := s.run(p, seed0+seed)
			if err != nil {
				tb.Errorf("%s on %s, seed %d: %v", s.name, p.Name, seed0+seed, err)
				return
			}
			byseed[seed] = r
		}()
	}
	wg.Wait()
	for _, r := range byseed {
		for i := range r {
			out[i] = append(out[i], r[i])
		}
	}
	return out
}

// row is one problem's line of the table: the problem as given, or with
// every categorical parameter's choices in reverse order.
type row struct {
	p        problem.Problem
	reversed bool
}

func (r row) name() string {
	if r.reversed {
		return r.p.Name + " (choices reversed)"
	}
	return r.p.Name
}

// cell is the regrets of one solver on one row, per budget.
type cell [][]float64

func (c cell) String(i int) string {
	return fmt.Sprintf("%.4g / %.4g", quantile(c[i], 0.5), quantile(c[i], 0.9))
}

// namesakes are the algorithms both kubeline and goptuna have; others
// are kubeline's algorithms without a goptuna namesake.
var (
	namesakes = []string{"tpe", "cmaes", "random"}
	others    = []string{"multivariate-tpe", "gp", "sobol"}
)

var update = flag.Bool("update", false, "write the table to RESULTS.md (seeds 0-19) or RESULTS-FIRST-LAST.md")

// BenchmarkVsGoptuna runs kubeline's tpe, cmaes and random beside their
// goptuna v0.9.0 namesakes, and kubeline's multivariate-tpe, gp and sobol,
// on every problem (the mixed one also with its categorical choices in
// reverse order) over seeds 0-19, and prints median / 90th-percentile
// regret per algorithm, problem and budget as Markdown, with issue #7's
// goptuna figures; with -update it writes that to RESULTS.md (other seeds:
// RESULTS-FIRST-LAST.md). It fails when
// kubeline's tpe or cmaes has a larger median than its namesake on a
// problem as given. SEEDS and SEED0 change the seeds (SEED0 …
// SEED0+SEEDS−1), ALGOS and PROBLEMS (comma-separated names, or all) what
// runs; by default the namesakes only (about a minute on a quiet machine),
// ALGOS=all adds multivariate-tpe, gp and sobol (RESULTS.md is made so).
func BenchmarkVsGoptuna(b *testing.B) {
	seeds, seed0 := 20, 0
	if v, err := strconv.Atoi(os.Getenv("SEEDS")); err == nil && v > 0 {
		seeds = v
	}
	if v, err := strconv.Atoi(os.Getenv("SEED0")); err == nil && v >= 0 {
		seed0 = v
	}
	var rows []row
	for _, p := range problem.All() {
		if selected("PROBLEMS", p.Name) {
			rows = append(rows, row{p: p})
			if p.Name == "mixed" {
				rows = append(rows, row{p: p, reversed: true})
			}
		}
	}
	var pairs, alone []string
	for _, a := range namesakes {
		if selected("ALGOS", a) {
			pairs = append(pairs, a)
		}
	}
	for _, a := range others {
		// gp takes most of the time: these run only when named or with
		// ALGOS=all.
		if os.Getenv("ALGOS") != "" && selected("ALGOS", a) {
			alone = append(alone, a)
		}
	}
	for range b.N {
		ours, theirs := map[string]cell{}, map[string]cell{}
		for _, r := range rows {
			for _, a := range pairs {
				ours[a+"/"+r.name()] = regrets(b, kubelineOrder(a, r.reversed), r.p, seed0, seeds)
				theirs[a+"/"+r.name()] = regrets(b, goptunaSolverOrder(a, r.reversed), r.p, seed0, seeds)
			}
			for _, a := range alone {
				ours[a+"/"+r.name()] = regrets(b, kubelineOrder(a, r.reversed), r.p, seed0, seeds)
			}
		}
		for _, r := range rows {
			for _, a := range []string{"tpe", "cmaes"} {
				o, t := ours[a+"/"+r.name()], theirs[a+"/"+r.name()]
				for i, budget := range budgets {
					if o == nil || r.reversed {
						continue
					}
					if om, tm := quantile(o[i], 0.5), quantile(t[i], 0.5); om > tm {
						b.Errorf("%s %d trials: kubeline %s median %.4g > goptuna's %.4g", r.name(), budget, a, om, tm)
					}
				}
			}
		}
		text := table(rows, pairs, alone, ours, theirs, seed0, seeds)
		fmt.Print(text)
		if *update {
			file := "RESULTS.md"
			if seed0 != 0 || seeds != 20 {
				file = fmt.Sprintf("RESULTS-%d-%d.md", seed0, seed0+seeds-1)
			}
			if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// table renders the results as Markdown.
func table(rows []row, pairs, alone []string, ours, theirs map[string]cell, seed0, seeds int) string {
	var w strings.Builder
	fmt.Fprintf(&w, "# HPO quality: kubeline vs goptuna v0.9.0\n\n")
	env := ""
	for _, k := range []string{"ALGOS", "PROBLEMS", "SEEDS", "SEED0"} {
		if v := os.Getenv(k); v != "" {
			env += k + "=" + v + " "
		}
	}
	fmt.Fprintf(&w, "Generated by `cd runtime/hpo/goptunabench && %sgo test -run '^$' -bench VsGoptuna -benchtime 1x -update`\n", env)
	fmt.Fprintf(&w, "(compare_test.go). Regret = best value found − global minimum, median / 90th percentile over\n")
	fmt.Fprintf(&w, "seeds %d–%d, trials one at a time; both libraries get the same problems (runtime/hpo/problem),\n", seed0, seed0+seeds-1)
	fmt.Fprintf(&w, "seeds and budgets. Regret does not depend on the machine's load.\n\n")
	fmt.Fprintf(&w, "\"issue #7\" is the goptuna median that kubeline's issue #7 gives (measured by its author);\n")
	fmt.Fprintf(&w, "goptuna publishes no medians for these functions and budgets (its benchmarks are kurobako plots\n")
	fmt.Fprintf(&w, "of 2-D problems over 300 trials), so there is no published figure in any cell; – = none.\n\n")
	head, rule := "| problem | trials |", "|---|---|"
	for _, a := range pairs {
		head += fmt.Sprintf(" %s: kubeline | %s: goptuna |", a, a)
		rule += "---|---|"
		if a != "random" {
			head += fmt.Sprintf(" %s: issue #7 |", a)
			rule += "---|"
		}
	}
	fmt.Fprintln(&w, head)
	fmt.Fprintln(&w, rule)
	for _, r := range rows {
		for i, budget := range budgets {
			line := fmt.Sprintf("| %s | %d |", r.name(), budget)
			for _, a := range pairs {
				key := a + "/" + r.name()
				mark := ""
				if a != "random" && quantile(ours[key][i], 0.5) <= quantile(theirs[key][i], 0.5) {
					mark = " ≤"
				}
				line += fmt.Sprintf(" %s%s | %s |", ours[key].String(i), mark, theirs[key].String(i))
				if a != "random" {
					pub := "–"
					if v, ok := issue7[fmt.Sprintf("%s/%s/%d", a, r.name(), budget)]; ok {
						pub = fmt.Sprintf("%.4g", v)
					}
					line += " " + pub + " |"
				}
			}
			fmt.Fprintln(&w, line)
		}
	}
	fmt.Fprintf(&w, "\n≤: kubeline's median is at most goptuna's namesake's.\n")
	if len(alone) > 0 {
		fmt.Fprintf(&w, "\nkubeline's algorithms without a goptuna namesake (same seeds):\n\n")
		head, rule := "| problem | trials |", "|---|---|"
		for _, a := range alone {
			head += " " + a + " |"
			rule += "---|"
		}
		fmt.Fprintln(&w, head)
		fmt.Fprintln(&w, rule)
		for _, r := range rows {
			for i, budget := range budgets {
				line := fmt.Sprintf("| %s | %d |", r.name(), budget)
				for _, a := range alone {
					line += " " + ours[a+"/"+r.name()].String(i) + " |"
				}
				fmt.Fprintln(&w, line)
			}
		}
	}
	return w.String()
}
