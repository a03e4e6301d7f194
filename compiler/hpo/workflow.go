package hpo

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	apiv1 "k8s.io/api/core/v1"

	"github.com/kubeline/kubeline/compiler/argo"
	"github.com/kubeline/kubeline/compiler/spec"
)

// Names in the compiled experiment.
const (
	// ConfigParam is the workflow parameter holding ConfigJSON.
	ConfigParam     = "kubeline-hpo"
	trialParam      = "kubeline-trial"
	paramPrefix     = "kubeline-param-"
	trialPrefix     = "trial-"
	entry           = "hpo-experiment"
	suggestTmpl     = "hpo-suggest"
	trialTmpl       = "hpo-trial"
	observeTmpl     = "hpo-observe"
	statusInput     = "status"
	LabelExperiment = "kubeline.io/experiment"
)

// The suggest step's contract with runtime/launcher (which declares the
// same names): its output parameters, and the key of a trial's name in each
// item of SuggestTrials (the parameters' values are under their own names).
const (
	SuggestTrials = "hpo-trials"
	SuggestDone   = "hpo-done"
	TrialItem     = "kubeline-trial"
)

// ConfigJSON is the experiment as its steps read it (the value of
// ConfigParam): {"name": NAME, "spec": the Katib ExperimentSpec without the
// trial template}. runtime/hpo.ParseExperiment reads it.
func (e *Experiment) ConfigJSON() ([]byte, error) {
	s := e.Spec
	s.TrialTemplate = TrialTemplate{}
	return json.Marshal(struct {
		Name string         `json:"name"`
		Spec ExperimentSpec `json:"spec"`
	}{e.Metadata.Name, s})
}

// CompileWorkflow builds the experiment's one Argo Workflow around pipeline,
// the trial pipeline already compiled by compiler/argo:
//
//	hpo-experiment: suggest → trials (withParam, up to parallelTrialCount)
//	                → hpo-experiment again unless done, once every trial
//	                was observed
//	hpo-trial:      the pipeline's root DAG with the trial's parameters →
//	                observe (whatever the pipeline's phase)
//
// A trial's DAG takes its observe step's phase (its only target): a trial
// whose pipeline failed is observed as a Failed record and the experiment
// goes on, but a trial whose observe step failed (its pod could not reach
// the store, was killed, ...) has no record of how it ended, and the next
// suggest step would take it for a running trial and suggest from a
// history the other engine never saw. So the next round waits for every
// trial DAG to succeed: an observation that was lost ends the experiment
// with the observe step's error instead.
//
// The pipeline's templates are copied with the prefix "trial-"; every
// reference to a pipeline parameter ({{workflow.parameters.P}}) becomes a
// template input threaded from the trial, so trials run side by side with
// their own values. Suggest reads the finished trials from the experiment's
// records (see runtime/launcher), so no object grows with the trial count
// beyond the workflow's own nodes.
func CompileWorkflow(e *Experiment, pipeline *wfv1.Workflow, opts argo.Options) (*wfv1.Workflow, error) {
	cfg, err := e.ConfigJSON()
	if err != nil {
		return nil, err
	}
	params := make([]string, 0, len(pipeline.Spec.Arguments.Parameters))
	for _, p := range pipeline.Spec.Arguments.Parameters {
		params = append(params, p.Name)
	}
	values, err := trialValues(e, pipeline)
	if err != nil {
		return nil, err
	}
	if pipeline.Spec.OnExit != "" || len(pipeline.Spec.Hooks) > 0 {
		return nil, fmt.Errorf("compile experiment %s: the trial pipeline has a workflow-level exit handler, which a trial cannot have", e.Metadata.Name)
	}
	wf := &wfv1.Workflow{}
	wf.APIVersion, wf.Kind = "argoproj.io/v1alpha1", "Workflow"
	wf.GenerateName = e.Metadata.Name + "-"
	wf.Namespace = e.Metadata.Namespace
	wf.Labels = map[string]string{LabelExperiment: e.Metadata.Name}
	wf.Spec = *pipeline.Spec.DeepCopy()
	wf.Spec.Entrypoint = entry
	wf.Spec.Arguments = wfv1.Arguments{Parameters: []wfv1.Parameter{{Name: ConfigParam, Value: wfv1.AnyStringPtr(string(cfg))}}}
	wf.Spec.Templates = nil
	for _, t := range pipeline.Spec.Templates {
		tt, err := trialize(t, params)
		if err != nil {
			return nil, fmt.Errorf("compile experiment %s: trial template %q: %w", e.Metadata.Name, t.Name, err)
		}
		wf.Spec.Templates = append(wf.Spec.Templates, tt)
	}
	image := opts.Image
	if image == "" {
		image = argo.DefaultImage
	}
	wf.Spec.Templates = append(wf.Spec.Templates, loopTemplate(params, values), suggestTemplate(image),
		trialTemplate(params, trialPrefix+pipeline.Spec.Entrypoint), observeTemplate(image))
	return wf, nil
}

var trialPlaceholder = regexp.MustCompile(`\$\{trialParameters\.([^}]+)\}`)

// trialValues is each pipeline parameter's value in a trial, as an Argo
// expression over the suggest step's item; parameters the trial template
// does not set keep the pipeline's default.
func trialValues(e *Experiment, pipeline *wfv1.Workflow) (map[string]string, error) {
	refs := map[string]string{}
	for _, tp := range e.Spec.TrialTemplate.TrialParameters {
		refs[tp.Name] = tp.Reference
	}
	values := map[string]string{}
	var es spec.Errors
	for _, p := range pipeline.Spec.Arguments.Parameters {
		values[p.Name] = p.Value.String()
	}
	for _, k := range slices.Sorted(maps.Keys(e.Spec.TrialTemplate.Parameters)) {
		if _, ok := values[k]; !ok {
			es.Add(spec.Named("spec.trialTemplate.parameters", k), nil, "the trial pipeline has no parameter %q (it has: %s)", k, strings.Join(slices.Sorted(maps.Keys(values)), ", "))
			continue
		}
		values[k] = trialPlaceholder.ReplaceAllStringFunc(e.Spec.TrialTemplate.Parameters[k], func(m string) string {
			return "{{item." + refs[trialPlaceholder.FindStringSubmatch(m)[1]] + "}}"
		})
	}
	return values, es.Err()
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// trialInputs are the inputs every trial template takes.
func trialInputs(params []string) []wfv1.Parameter {
	in := []wfv1.Parameter{{Name: trialParam}}
	for _, p := range params {
		in = append(in, wfv1.Parameter{Name: paramPrefix + p})
	}
	return in
}

// passInputs passes a template's trial inputs on to a template it calls.
func passInputs(params []string) []wfv1.Parameter {
	var out []wfv1.Parameter
	for _, p := range trialInputs(params) {
		out = append(out, wfv1.Parameter{Name: p.Name, Value: wfv1.AnyStringPtr("{{inputs.parameters." + p.Name + "}}")})
	}
	return out
}

// trialize copies one pipeline template into the trial: renamed, taking the
// trial inputs, passing them to what it calls, reading pipeline parameters
// from them, and (for launcher steps) collecting metrics without caching.
func trialize(t wfv1.Template, params []string) (wfv1.Template, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return t, err
	}
	s := string(b)
	for _, p := range params {
		s = strings.ReplaceAll(s, "{{workflow.parameters."+p+"}}", "{{inputs.parameters."+paramPrefix+p+"}}")
		s = strings.ReplaceAll(s, "workflow.parameters['"+p+"']", "inputs.parameters['"+paramPrefix+p+"']")
	}
	if strings.Contains(s, "workflow.parameters") {
		return t, fmt.Errorf("refers to workflow parameters in a form kubeline cannot thread through a trial")
	}
	var out wfv1.Template
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return t, err
	}
	out.Name = trialPrefix + t.Name
	out.Inputs.Parameters = append(out.Inputs.Parameters, trialInputs(params)...)
	call := func(args *wfv1.Arguments, hooks wfv1.LifecycleHooks, onExit string) error {
		if onExit != "" {
			return fmt.Errorf("an onExit template cannot take the trial's inputs; use hooks")
		}
		args.Parameters = append(args.Parameters, passInputs(params)...)
		for ev, h := range hooks {
			h.Template = trialPrefix + h.Template
			h.Arguments.Parameters = append(h.Arguments.Parameters, passInputs(params)...)
			hooks[ev] = h
		}
		return nil
	}
	if out.DAG != nil {
		for i := range out.DAG.Tasks {
			tk := &out.DAG.Tasks[i]
			tk.Template = trialPrefix + tk.Template
			if err := call(&tk.Arguments, tk.Hooks, tk.OnExit); err != nil {
				return t, fmt.Errorf("task %s: %w", tk.Name, err)
			}
		}
	}
	for _, group := range out.Steps {
		for i := range group.Steps {
			st := &group.Steps[i]
			st.Template = trialPrefix + st.Template
			if err := call(&st.Arguments, st.Hooks, st.OnExit); err != nil {
				return t, fmt.Errorf("step %s: %w", st.Name, err)
			}
		}
	}
	if c := out.Container; c != nil && len(c.Command) > 0 && c.Command[0] == argo.Launcher {
		args := []string{"--trial", "{{inputs.parameters." + trialParam + "}}", "--hpo-config", "{{workflow.parameters." + ConfigParam + "}}"}
		for _, a := range c.Args {
			if a != "--cache" {
				args = append(args, a)
			}
		}
		c.Args = args
	}
	return out, nil
}

func launcherContainer(image string, args ...string) *apiv1.Container {
	return &apiv1.Container{Image: image, Command: []string{argo.Launcher, "launch"},
		Args: append([]string{"--hpo-config", "{{workflow.parameters." + ConfigParam + "}}"}, args...)}
}

// loopTemplate is one round: suggest, run the suggested trials, recurse.
func loopTemplate(params []string, values map[string]string) wfv1.Template {
	args := []wfv1.Parameter{{Name: trialParam, Value: wfv1.AnyStringPtr("{{item." + TrialItem + "}}")}}
	for _, p := range params {
		args = append(args, wfv1.Parameter{Name: paramPrefix + p, Value: wfv1.AnyStringPtr(values[p])})
	}
	return wfv1.Template{Name: entry, DAG: &wfv1.DAGTemplate{Tasks: []wfv1.DAGTask{
		{Name: "suggest", Template: suggestTmpl},
		{Name: "trial", Template: trialTmpl, Depends: "suggest", Arguments: wfv1.Arguments{Parameters: args},
			WithParam: "{{tasks.suggest.outputs.parameters." + SuggestTrials + "}}"},
		{Name: "next", Template: entry, Depends: "trial.Succeeded",
			When: "{{tasks.suggest.outputs.parameters." + SuggestDone + "}} == false"},
	}}}
}

func suggestTemplate(image string) wfv1.Template {
	out := func(name string) wfv1.Parameter {
		return wfv1.Parameter{Name: name, ValueFrom: &wfv1.ValueFrom{Path: argo.OutputsDir + "/" + name}}
	}
	return wfv1.Template{Name: suggestTmpl, Container: launcherContainer(image, "--task", suggestTmpl, "--hpo-step", "suggest"),
		Outputs: wfv1.Outputs{Parameters: []wfv1.Parameter{out(SuggestTrials), out(SuggestDone)}}}
}

// trialTemplate runs the pipeline, then observes the trial whatever the
// pipeline's phase.
func trialTemplate(params []string, root string) wfv1.Template {
	return wfv1.Template{Name: trialTmpl, Inputs: wfv1.Inputs{Parameters: trialInputs(params)}, DAG: &wfv1.DAGTemplate{Tasks: []wfv1.DAGTask{
		{Name: "pipeline", Template: root, Arguments: wfv1.Arguments{Parameters: passInputs(params)}},
		{Name: "observe", Template: observeTmpl, Depends: "pipeline.Succeeded || pipeline.Failed || pipeline.Errored",
			Arguments: wfv1.Arguments{Parameters: []wfv1.Parameter{
				{Name: trialParam, Value: wfv1.AnyStringPtr("{{inputs.parameters." + trialParam + "}}")},
				{Name: statusInput, Value: wfv1.AnyStringPtr("{{tasks.pipeline.status}}")}}}},
	}}}
}

func observeTemplate(image string) wfv1.Template {
	return wfv1.Template{Name: observeTmpl, Inputs: wfv1.Inputs{Parameters: []wfv1.Parameter{{Name: trialParam}, {Name: statusInput}}},
		Container: launcherContainer(image, "--task", observeTmpl, "--hpo-step", "observe",
			"--trial", "{{inputs.parameters."+trialParam+"}}", "--trial-status", "{{inputs.parameters."+statusInput+"}}")}
}
