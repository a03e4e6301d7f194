package versioning

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/runtime/store"
)

// CheckOutputs checks a run's output mapping ("TASK.OUTPUT" →
// "dataset:NAME", "model:NAME" or "featureset:NAME") against its compiled workflow before it
// runs: every TASK must be a KFP task of the workflow and every OUTPUT one
// of that task's output artifacts, so a misspelt name is an error, not a
// run that silently makes no version. Every problem is reported, each
// naming its mapping.
func CheckOutputs(wf *wfv1.Workflow, outputs map[string]string) error {
	if len(outputs) == 0 {
		return nil
	}
	tasks := TaskOutputs(wf)
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(outputs)) {
		m := outputs[key]
		kind, name, ok := strings.Cut(m, ":")
		if !ok || !outputKind(kind) || name == "" {
			errs = append(errs, fmt.Errorf("%s=%s: want TASK.OUTPUT=dataset:NAME, TASK.OUTPUT=model:NAME or TASK.OUTPUT=featureset:NAME", key, m))
			continue
		}
		task, output, ok := strings.Cut(key, ".")
		if !ok || task == "" || output == "" {
			errs = append(errs, fmt.Errorf("%s=%s: want TASK.OUTPUT before the =", key, m))
			continue
		}
		arts, ok := tasks[task]
		if !ok {
			errs = append(errs, fmt.Errorf("%s=%s: the pipeline has no task %q (tasks: %s)", key, m, task, strings.Join(slices.Sorted(maps.Keys(tasks)), ", ")))
			continue
		}
		if !slices.Contains(arts, output) {
			have := "none"
			if len(arts) > 0 {
				have = strings.Join(arts, ", ")
			}
			errs = append(errs, fmt.Errorf("%s=%s: task %s has no output artifact %q (its output artifacts: %s)", key, m, task, output, have))
		}
	}
	return errors.Join(errs...)
}

// TaskOutputs maps each KFP task of a compiled workflow (the kubeline-task
// argument of its DAG task) to the names of its output artifacts.
func TaskOutputs(wf *wfv1.Workflow) map[string][]string {
	templates := map[string]*wfv1.Template{}
	for i := range wf.Spec.Templates {
		templates[wf.Spec.Templates[i].Name] = &wf.Spec.Templates[i]
	}
	out := map[string][]string{}
	for _, t := range wf.Spec.Templates {
		if t.DAG == nil {
			continue
		}
		for _, task := range t.DAG.Tasks {
			name := ""
			for _, p := range task.Arguments.Parameters {
				if p.Name == TaskParam && p.Value != nil {
					name = p.Value.String()
				}
			}
			if name == "" {
				continue
			}
			var arts []string
			if tmpl := templates[task.Template]; tmpl != nil {
				for _, a := range tmpl.Outputs.Artifacts {
					arts = append(arts, a.Name)
				}
			}
			out[name] = append(out[name], arts...)
			slices.Sort(out[name])
			out[name] = slices.Compact(out[name])
		}
	}
	return out
}

// outputKind reports whether a run's output may become a version of kind:
// datasets, models and featuresets are made by runs; code is not.
func outputKind(kind string) bool {
	return kind == store.KindDataset || kind == store.KindModel || kind == store.KindFeatureSet
}
