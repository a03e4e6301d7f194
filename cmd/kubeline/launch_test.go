package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/compiler"
)

var inputRef = regexp.MustCompile(`\{\{inputs\.parameters\.([-\w]+)\}\}`)

// TestCompiledStepLaunches checks the compiler/launcher contract end to end:
// a container template the compiler emits, with Argo's substitution of its
// inputs done by hand, runs under `kubeline launch` and writes the outputs
// the template declares.
func TestCompiledStepLaunches(t *testing.T) {
	data, err := os.ReadFile("../../examples/hello-params/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	wf, err := compiler.Compile("pipeline.yaml", data, compiler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var tmpl *wfv1.Template
	for i := range wf.Spec.Templates {
		if wf.Spec.Templates[i].Name == "make-greeting" {
			tmpl = &wf.Spec.Templates[i]
		}
	}
	if tmpl == nil || tmpl.Container == nil {
		t.Fatal("no make-greeting container template")
	}
	values := map[string]string{"kubeline-task": "make-greeting", "name": "kubeline", "times": "2"}
	var args []string
	for _, a := range tmpl.Container.Args {
		args = append(args, inputRef.ReplaceAllStringFunc(a, func(m string) string {
			return values[inputRef.FindStringSubmatch(m)[1]]
		}))
	}
	if got := tmpl.Container.Command; len(got) != 2 || got[1] != "launch" {
		t.Fatalf("container command %v, want [%s launch]", got, got)
	}
	out := t.TempDir()
	t.Setenv("KUBELINE_OUTPUTS_DIR", out)
	t.Setenv("KUBELINE_INPUTS_DIR", filepath.Join(out, "in"))
	t.Setenv("KUBELINE_WORKFLOW", "hello-xyz")
	var stdout, stderr bytes.Buffer
	if code := run(append([]string{"launch"}, args...), nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "[2/2] Hello, kubeline!") {
		t.Fatalf("step output %q lacks the greeting", stdout.String())
	}
	for _, o := range tmpl.Outputs.Parameters {
		rel := strings.TrimPrefix(o.ValueFrom.Path, "/kubeline/out/")
		b, err := os.ReadFile(filepath.Join(out, rel))
		if err != nil {
			t.Fatalf("declared output %s not written: %v", o.Name, err)
		}
		want := map[string]string{"greeting": "Hello, kubeline!", "length": "16"}[o.Name]
		if string(b) != want {
			t.Errorf("output %s = %q, want %q", o.Name, b, want)
		}
	}
}
