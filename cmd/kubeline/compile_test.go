package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"sigs.k8s.io/yaml"
)

const corpus = "../../../shared/kfp-corpus/ir/valid/"

func TestCompileCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "wf.yaml")
	var stdout, stderr bytes.Buffer
	code := run([]string{"compile", corpus + "critical/add_numbers.yaml", "-o", out, "--param", "a=7"}, nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var wf wfv1.Workflow
	if err := yaml.UnmarshalStrict(b, &wf); err != nil {
		t.Fatalf("output is not a Workflow: %v", err)
	}
	if wf.Kind != "Workflow" || wf.APIVersion != "argoproj.io/v1alpha1" {
		t.Fatalf("kind %q apiVersion %q", wf.Kind, wf.APIVersion)
	}
	found := false
	for _, p := range wf.Spec.Arguments.Parameters {
		found = found || (p.Name == "a" && p.Value.String() == "7")
	}
	if !found {
		t.Fatalf("--param a=7 not in arguments: %+v", wf.Spec.Arguments.Parameters)
	}
}

func TestCompileCommandErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("pipelineInfo: {name: x}\nroot:\n  dag:\n    tasks:\n      a: {componentRef: {name: nope}, wat: 1}\n"), 0o644)
	out := filepath.Join(dir, "out.yaml")
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no file", []string{"compile"}, 2, "usage"},
		{"missing file", []string{"compile", filepath.Join(dir, "none.yaml")}, 1, "no such file"},
		{"bad spec", []string{"compile", bad, "-o", out}, 1, `root.dag.tasks[a].wat: unknown field "wat"`},
		{"bad param", []string{"compile", corpus + "hello_world.yaml", "--param", "novalue"}, 2, "want NAME=VALUE"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, nil, &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d (stderr %s)", code, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.msg) {
				t.Fatalf("stderr %q does not mention %q", stderr.String(), tc.msg)
			}
			if stdout.Len() != 0 {
				t.Fatalf("wrote to stdout on failure: %q", stdout.String())
			}
		})
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("a failed compile left %s behind", out)
	}
}
