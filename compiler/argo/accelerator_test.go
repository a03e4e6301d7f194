package argo_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/argoproj/argo-workflows/v3/util/template"
	"github.com/google/go-cmp/cmp"

	"github.com/kubeline/kubeline/compiler"
)

// TestRuntimeAcceleratorType: an accelerator type known only at run time (a
// pipeline input, a task output) becomes the resource name Argo puts in the
// pod once it substitutes the template's podSpecPatch (evaluated here by
// Argo's own template package), by the same rule as a literal type: a GPU
// model name counts as nvidia.com/gpu (or amd.com/gpu), a name with a "/"
// is a resource name already. Before, the apiserver refused the pod:
// NVIDIA_TESLA_P4 is no resource name.
func TestRuntimeAcceleratorType(t *testing.T) {
	for _, file := range []string{"pipeline_with_string_machine_fields_pipeline_input.yaml", "pipeline_with_string_machine_fields_task_output.yaml"} {
		data, err := os.ReadFile(corpus + file)
		if err != nil {
			t.Fatal(err)
		}
		wf, err := compiler.Compile(file, data, compiler.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var patch string
		for _, tmpl := range wf.Spec.Templates {
			if tmpl.PodSpecPatch != "" {
				patch = tmpl.PodSpecPatch
			}
		}
		if patch == "" {
			t.Fatalf("%s: no template has a podSpecPatch", file)
		}
		params := map[string]any{}
		for _, name := range []string{"accelerator_limit", "accelerator-limit-Output", "cpu_limit", "cpu-limit-Output", "memory_limit", "memory-limit-Output"} {
			params["inputs.parameters.pipelinechannel--"+name] = "1"
		}
		for typ, want := range map[string]string{
			"NVIDIA_TESLA_P4":   "nvidia.com/gpu",
			"nvidia-l4":         "nvidia.com/gpu",
			"AMD_MI300X":        "amd.com/gpu",
			"google.com/tpu":    "google.com/tpu",
			"example.com/fpga1": "example.com/fpga1",
		} {
			params["inputs.parameters.pipelinechannel--accelerator_type"] = typ
			params["inputs.parameters.pipelinechannel--accelerator-type-Output"] = typ
			tmpl, err := json.Marshal(map[string]string{"podSpecPatch": patch})
			if err != nil {
				t.Fatal(err)
			}
			out, err := template.Replace(string(tmpl), params, false)
			if err != nil {
				t.Fatalf("%s, type %s: Argo's substitution: %v", file, typ, err)
			}
			var got struct{ PodSpecPatch string }
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatal(err)
			}
			var spec struct {
				Containers []struct {
					Resources struct{ Limits map[string]string }
				}
			}
			if err := json.Unmarshal([]byte(got.PodSpecPatch), &spec); err != nil {
				t.Fatalf("%s: patch %s: %v", file, got.PodSpecPatch, err)
			}
			wantLimits := map[string]string{want: "1", "cpu": "1", "memory": "1"}
			if d := cmp.Diff(wantLimits, spec.Containers[0].Resources.Limits); d != "" {
				t.Errorf("%s, type %s: limits (-want +got):\n%s", file, typ, d)
			}
		}
	}
}
