package argo

import (
	"regexp"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/runtime/artifact"
)

var paramRef = regexp.MustCompile(`\{\{\s*(workflow|inputs)\.parameters\.([A-Za-z0-9_.-]+)\s*\}\}`)

// codeTemplates names the templates whose steps receive a code version as
// an input parameter (the content URI a run's code://NAME@vN became): the
// launcher fetches the tree from the store for $KUBELINE_CODE_DIR, so
// those steps need the store's settings too. Values are followed from the
// workflow's arguments through the DAG tasks' arguments, nested DAGs
// included.
func codeTemplates(wf *wfv1.Workflow) map[string]bool {
	isCode := func(v string) bool {
		kind, _, _, ok := artifact.VersionOfKey(v)
		return ok && kind == "code" && strings.Contains(v, "://")
	}
	global := map[string]bool{}
	for _, p := range wf.Spec.Arguments.Parameters {
		if p.Value != nil && isCode(p.Value.String()) {
			global[p.Name] = true
		}
	}
	if len(global) == 0 {
		return nil
	}
	inputs := map[string]map[string]bool{} // template -> its inputs holding code
	carries := func(tmpl, v string) bool {
		if isCode(v) {
			return true
		}
		for _, m := range paramRef.FindAllStringSubmatch(v, -1) {
			if (m[1] == "workflow" && global[m[2]]) || (m[1] == "inputs" && inputs[tmpl][m[2]]) {
				return true
			}
		}
		return false
	}
	for changed := true; changed; {
		changed = false
		for _, t := range wf.Spec.Templates {
			if t.DAG == nil {
				continue
			}
			for _, task := range t.DAG.Tasks {
				for _, p := range task.Arguments.Parameters {
					if p.Value == nil || inputs[task.Template][p.Name] || !carries(t.Name, p.Value.String()) {
						continue
					}
					if inputs[task.Template] == nil {
						inputs[task.Template] = map[string]bool{}
					}
					inputs[task.Template][p.Name], changed = true, true
				}
			}
		}
	}
	out := map[string]bool{}
	for name, ins := range inputs {
		out[name] = len(ins) > 0
	}
	return out
}
