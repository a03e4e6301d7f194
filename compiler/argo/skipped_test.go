package argo_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/argoproj/argo-workflows/v3/util/template"

	"github.com/kubeline/kubeline/compiler"
	"github.com/kubeline/kubeline/compiler/argo"
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

// TestCollectedParameterFromSkippedProducer: a loop that collects a
// parameter from a task under a condition (conditional_producer_and_consumers:
// for-loop-2's output is condition-3's, false for item 1). The body's
// output takes argo.SkippedOutput where Argo cannot resolve it (without a
// default the iteration's DAG errors, then the loop and the run: "Unable
// to resolve tasks.condition-4.outputs...", seen on the real node), and the
// collection read by Argo's own template package, from the list Argo
// aggregates, leaves it out: [4, 6], as KFP and the embedded engine give.
func TestCollectedParameterFromSkippedProducer(t *testing.T) {
	data, err := os.ReadFile(corpus + "conditional_producer_and_consumers.yaml")
	if err != nil {
		t.Fatal(err)
	}
	wf, err := compiler.Compile("conditional_producer_and_consumers.yaml", data, compiler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var collected string
	for _, tm := range wf.Spec.Templates {
		if tm.Name == "for-loop-2" {
			for _, p := range tm.Outputs.Parameters {
				if p.ValueFrom.Default == nil || p.ValueFrom.Default.String() != argo.SkippedOutput {
					t.Errorf("for-loop-2 output %s: default %v, want %s", p.Name, p.ValueFrom.Default, argo.SkippedOutput)
				}
			}
		}
		if tm.DAG == nil {
			continue
		}
		for _, task := range tm.DAG.Tasks {
			for _, p := range task.Arguments.Parameters {
				if strings.Contains(p.Value.String(), "tasks['for-loop-2']") {
					collected = p.Value.String()
				}
			}
		}
	}
	if collected == "" {
		t.Fatal("no task reads for-loop-2's collection")
	}
	in, _ := json.Marshal(map[string]string{"v": collected})
	aggregated, _ := json.Marshal([]string{argo.SkippedOutput, "4", "6"})
	out, err := template.Replace(string(in), map[string]any{"tasks.for-loop-2.outputs.parameters.pipelinechannel--double-Output": string(aggregated)}, false)
	if err != nil {
		t.Fatalf("Argo's substitution of %s: %v", collected, err)
	}
	var got struct{ V string }
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.V != "[4,6]" {
		t.Errorf("collection %q, want [4,6] (from %s)", got.V, collected)
	}
}
