package argo_test

import (
	"os"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeline/kubeline/compiler"
)

// TestOptionalArtifactArguments: an artifact input the component declares
// optional is optional wherever Argo reads it: the workflow's argument (a
// pipeline input nobody uploaded), each DAG task's argument and each DAG
// template's input. Argo's controller replaces a template's input artifact
// by the task's argument, so an optional flag on the template's input alone
// was lost and the pod's init container failed on the absent object.
// (inner-pipeline-2 is given no dataset: the compiler leaves it out.)
func TestOptionalArtifactArguments(t *testing.T) {
	data, err := os.ReadFile(corpus + "components_with_optional_artifacts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	wf, err := compiler.Compile("components_with_optional_artifacts.yaml", data, compiler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range wf.Spec.Arguments.Artifacts {
		got = append(got, "workflow argument "+a.Name+optional(a.Optional))
	}
	for _, tmpl := range wf.Spec.Templates {
		if tmpl.DAG == nil {
			continue
		}
		for _, a := range tmpl.Inputs.Artifacts {
			got = append(got, tmpl.Name+" input "+a.Name+optional(a.Optional))
		}
		for _, task := range tmpl.DAG.Tasks {
			for _, a := range task.Arguments.Artifacts {
				got = append(got, tmpl.Name+"."+task.Name+" argument "+a.Name+optional(a.Optional))
			}
		}
	}
	sort.Strings(got)
	want := []string{
		"inner-pipeline input dataset optional",
		"inner-pipeline.python-artifact-printer argument artifact optional",
		"root input dataset1 optional",
		"root.custom-artifact-printer argument artifact optional",
		"root.inner-pipeline argument dataset optional",
		"workflow argument dataset1 optional",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("artifact inputs and arguments (-want +got):\n%s", d)
	}
}

func optional(b bool) string {
	if b {
		return " optional"
	}
	return " required"
}
