package admission

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
)

// Demand is what a run needs from its pool at its peak.
type Demand struct {
	// GPUs is the most GPUs the run can have in use at once.
	GPUs int64
	// LargestStep is the most GPUs one step needs: it must fit on one node
	// unless the run is multi-node.
	LargestStep int64
	// Resource is the GPU resource name (nvidia.com/gpu), "" when none.
	Resource string
	// Dynamic is set when a loop's size is not known at submission; such a
	// loop counts as its parallelism limit, or as one iteration without one
	// (the rule admission documents: the run may then wait again for GPUs
	// when the loop expands — on the embedded engine it is not re-checked).
	Dynamic bool
}

// peak is a template's demand: the most GPUs at once, and how many pods that
// takes (for parallelism, which counts running children).
type peak struct {
	gpus, largest int64
}

type analyzer struct {
	wf       *wfv1.Workflow
	d        *Demand
	memo     map[string]peak
	visiting map[string]bool
	steps    []int64 // GPUs of every GPU step (for workflow parallelism)
	// assumed is the peak taken for a template that calls itself while it
	// is being analysed; recursed marks the templates that did.
	assumed  map[string]peak
	recursed map[string]bool
	memoised []string // memo's keys in the order they were added
}

// PeakDemand computes a workflow's peak GPU demand from its graph.
// Concurrency follows Argo: tasks of a DAG run at once unless a dependency
// orders them; a loop runs its iterations at once; a retry's attempts and an
// exit hook after its task run one after another; a DAG's parallelism P lets
// at most P of its children run at once; spec.parallelism caps pods.
func PeakDemand(wf *wfv1.Workflow) (Demand, error) {
	d := Demand{}
	a := &analyzer{wf: wf, d: &d, memo: map[string]peak{}, visiting: map[string]bool{}, assumed: map[string]peak{}, recursed: map[string]bool{}}
	p, err := a.template(wf.Spec.Entrypoint)
	if err != nil {
		return d, err
	}
	d.GPUs, d.LargestStep = p.gpus, p.largest
	if par := wf.Spec.Parallelism; par != nil && *par > 0 {
		sort.Slice(a.steps, func(i, j int) bool { return a.steps[i] > a.steps[j] })
		var capped int64
		for i := 0; i < len(a.steps) && i < int(*par); i++ {
			capped += a.steps[i]
		}
		d.GPUs = min(d.GPUs, capped)
	}
	return d, nil
}

// template is a template's peak. A template that calls itself (an HPO
// experiment's suggest → trials → next round) is analysed as a fixed
// point: first with the inner call taken as no demand, then with it taken
// as that answer; when the second answer is the same, the call never runs
// beside GPU work of its own round and the peak is bounded; otherwise every
// round adds to the last and the demand is unbounded.
func (a *analyzer) template(name string) (peak, error) {
	if p, ok := a.memo[name]; ok {
		return p, nil
	}
	if a.visiting[name] {
		a.recursed[name] = true
		return a.assumed[name], nil
	}
	t := a.wf.GetTemplateByName(name)
	if t == nil {
		return peak{}, fmt.Errorf("template %q not found", name)
	}
	before := len(a.memoised)
	p, err := a.analyse(name, t)
	if err != nil || !a.recursed[name] {
		return p, err
	}
	// Again with the inner call weighing the first answer; what was
	// memoised under the first assumption is dropped.
	a.assumed[name] = p
	for _, k := range a.memoised[before:] {
		delete(a.memo, k)
	}
	a.memoised = a.memoised[:before]
	counted := len(a.steps)
	again, err := a.analyse(name, t)
	a.steps = a.steps[:counted] // the GPU steps were counted by the first pass
	if err != nil {
		return again, err
	}
	if again != p {
		return peak{}, fmt.Errorf("template %q calls itself beside steps that use GPUs: its demand is unbounded", name)
	}
	return p, nil
}

// analyse computes a template's peak by its kind and memoises it.
func (a *analyzer) analyse(name string, t *wfv1.Template) (peak, error) {
	a.visiting[name] = true
	defer delete(a.visiting, name)
	var p peak
	var err error
	switch {
	case t.DAG != nil:
		p, err = a.dag(t)
	case t.Steps != nil:
		p, err = a.stepsTemplate(t)
	case t.Container != nil:
		p = a.container(t.Container.Resources.Limits)
	case t.Script != nil:
		p = a.container(t.Script.Container.Resources.Limits)
	}
	if err != nil {
		return p, fmt.Errorf("template %q: %w", name, err)
	}
	a.memo[name] = p
	a.memoised = append(a.memoised, name)
	return p, nil
}

func (a *analyzer) container(limits corev1.ResourceList) peak {
	var gpus int64
	for name, q := range limits {
		if strings.HasSuffix(string(name), "/gpu") {
			gpus += q.Value()
			if a.d.Resource == "" {
				a.d.Resource = string(name)
			}
		}
	}
	if gpus > 0 {
		a.steps = append(a.steps, gpus)
	}
	return peak{gpus: gpus, largest: gpus}
}

// dag: the heaviest set of tasks no dependency orders (a weighted antichain),
// each task weighing its template's peak times its loop size; with
// parallelism P, at most P children run, so the weight is capped by the P
// largest children.
func (a *analyzer) dag(t *wfv1.Template) (peak, error) {
	tasks := t.DAG.Tasks
	index := map[string]int{}
	for i, task := range tasks {
		index[task.Name] = i
	}
	weight := make([]int64, len(tasks))
	edges := make([][]int, len(tasks))
	var children []int64 // per running child, for the parallelism cap
	var largest int64
	par := int64(0)
	if t.Parallelism != nil {
		par = *t.Parallelism
	}
	for i, task := range tasks {
		p, err := a.template(task.Template)
		if err != nil {
			return peak{}, err
		}
		n := a.loopSize(&task, par)
		if hook := exitHook(&task); hook != "" {
			hp, err := a.template(hook)
			if err != nil {
				return peak{}, err
			}
			p.gpus, p.largest = max(p.gpus, hp.gpus), max(p.largest, hp.largest)
		}
		weight[i] = p.gpus * n
		for j := int64(0); j < n; j++ {
			children = append(children, p.gpus)
		}
		largest = max(largest, p.largest)
		for _, dep := range dependencies(&task) {
			if j, ok := index[dep]; ok {
				edges[j] = append(edges[j], i)
			}
		}
	}
	gpus := maxWeightAntichain(weight, edges)
	if par > 0 {
		sort.Slice(children, func(i, j int) bool { return children[i] > children[j] })
		var capped int64
		for i := 0; i < len(children) && i < int(par); i++ {
			capped += children[i]
		}
		gpus = min(gpus, capped)
	}
	return peak{gpus: gpus, largest: largest}, nil
}

// loopSize is how many iterations of a task run at once.
func (a *analyzer) loopSize(task *wfv1.DAGTask, par int64) int64 {
	var n int64 = 1
	switch {
	case len(task.WithItems) > 0:
		n = int64(len(task.WithItems))
	case task.WithSequence != nil:
		s := task.WithSequence
		switch {
		case s.Count != nil:
			n = int64(s.Count.IntValue())
		case s.End != nil:
			start := 0
			if s.Start != nil {
				start = s.Start.IntValue()
			}
			n = int64(s.End.IntValue()-start) + 1
			if n < 0 {
				n = -n + 2
			}
		}
	case task.WithParam != "":
		if items, ok := a.knownParam(task.WithParam); ok {
			n = int64(len(items))
		} else {
			a.d.Dynamic = true
			n = 1
			if par > 0 {
				n = par
			}
		}
	}
	if par > 0 {
		n = min(n, par)
	}
	return max(n, 0)
}

// knownParam resolves a withParam known at submission: a JSON list, or a
// workflow parameter holding one.
func (a *analyzer) knownParam(v string) ([]any, bool) {
	if name, ok := strings.CutPrefix(v, "{{workflow.parameters."); ok && strings.HasSuffix(name, "}}") {
		p := a.wf.Spec.Arguments.GetParameterByName(strings.TrimSuffix(name, "}}"))
		if p == nil || p.Value == nil {
			return nil, false
		}
		v = p.Value.String()
	}
	var items []any
	if strings.Contains(v, "{{") || json.Unmarshal([]byte(v), &items) != nil {
		return nil, false
	}
	return items, true
}

// stepsTemplate: step groups run one after another, the steps of a group at once.
func (a *analyzer) stepsTemplate(t *wfv1.Template) (peak, error) {
	var p peak
	for _, group := range t.Steps {
		var sum int64
		for _, st := range group.Steps {
			sp, err := a.template(st.Template)
			if err != nil {
				return peak{}, err
			}
			n := int64(max(len(st.WithItems), 1))
			sum += sp.gpus * n
			p.largest = max(p.largest, sp.largest)
		}
		p.gpus = max(p.gpus, sum)
	}
	return p, nil
}

func exitHook(task *wfv1.DAGTask) string {
	if task.OnExit != "" {
		return task.OnExit
	}
	if task.Hooks != nil && task.Hooks.HasExitHook() {
		return task.Hooks[wfv1.ExitLifecycleEvent].Template
	}
	return ""
}

var dependsName = strings.NewReplacer("(", " ", ")", " ", "&&", " ", "||", " ", "!", " ")

// dependencies lists the tasks a task waits for.
func dependencies(task *wfv1.DAGTask) []string {
	if len(task.Dependencies) > 0 {
		return task.Dependencies
	}
	var out []string
	for _, f := range strings.Fields(dependsName.Replace(task.Depends)) {
		name, _, _ := strings.Cut(f, ".")
		out = append(out, name)
	}
	return out
}
