package argo_test

import (
	"os"
	"strings"
	"testing"

	"github.com/kubeline/kubeline/compiler"
)

// TestCollectedFromSkippedProducer: a list of artifacts a loop collects
// from a task under a condition (artifacts_complex: for-loop-4's output is
// condition-5's) resolves in Argo when the condition is false. Argo's
// controller (getTemplateOutputsFromScope, v3.7.9 and later) fails a DAG
// whose output parameter names a Skipped task's output unless the
// parameter has a valueFrom.default; the default is the empty list, which
// the launcher's flattening of collected descriptors drops, so the
// collection holds the iterations whose producer ran (what the embedded
// engine and KFP give). Before, the iteration whose item is below the
// threshold errored on the real node, then for-loop-2 and the run.
func TestCollectedFromSkippedProducer(t *testing.T) {
	data, err := os.ReadFile(corpus + "artifacts_complex.yaml")
	if err != nil {
		t.Fatal(err)
	}
	wf, err := compiler.Compile("artifacts_complex.yaml", data, compiler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, tm := range wf.Spec.Templates {
		if tm.DAG == nil {
			continue
		}
		conditional := map[string]bool{}
		for _, task := range tm.DAG.Tasks {
			conditional[task.Name] = task.When != ""
		}
		for _, p := range tm.Outputs.Parameters {
			vf := p.ValueFrom
			if vf == nil || !strings.HasSuffix(p.Name, "-artifact") {
				continue
			}
			for task, cond := range conditional {
				if !cond || !strings.Contains(vf.Parameter+vf.Expression, "tasks."+task+".") {
					continue
				}
				checked++
				if vf.Default == nil || vf.Default.String() != "[]" {
					t.Errorf("template %s: output %s comes from %s, which has a condition, and has no default []: %+v", tm.Name, p.Name, task, vf)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no DAG output from a task under a condition: the corpus pipeline changed?")
	}
}
