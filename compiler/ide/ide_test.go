package ide

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/argoproj/argo-workflows/v3/workflow/validate"
	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestGolden: an IDE with GPUs, a custom command and two mounts compiles to
// one Argo-valid workflow whose single step serves on the port parameter.
func TestGolden(t *testing.T) {
	wf, err := CompileWorkflow(Spec{Name: "lab", Image: "quay.io/jupyter/scipy-notebook:2026-08-24", GPUs: 2,
		Command: []string{"python3", "-m", "http.server", PortVar},
		Mounts:  []Mount{{Path: "datasets/iris", Key: "kubeline/versions/datasets/iris/ab12"}, {Path: "code/trainer", Key: "kubeline/versions/codes/trainer/cd34"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.ValidateWorkflow(nil, nil, wf, nil, validate.ValidateOpts{Lint: true}); err != nil {
		t.Fatalf("Argo's validator: %v", err)
	}
	got, _ := yaml.Marshal(wf)
	path := filepath.Join("testdata", "lab.workflow.golden.yaml")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./compiler/ide -update)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s (-want +got):\n%s", path, d)
	}
	c := wf.Spec.Templates[0].Container
	if strings.Join(c.Command, " ") != "python3 -m http.server {{workflow.parameters.port}}" || c.Resources.Limits.Name("nvidia.com/gpu", "").Value() != 2 {
		t.Fatalf("notebook container: %+v", c)
	}
	WithArguments(wf, 31234, "tok")
	if p := wf.Spec.Arguments.Parameters; p[0].Value.String() != "31234" || p[1].Value.String() != "tok" {
		t.Fatalf("arguments: %v", p)
	}
}

// TestInvalid: every problem is reported, each at its field.
func TestInvalid(t *testing.T) {
	_, err := CompileWorkflow(Spec{Name: "Lab_1", Image: "image://sk", GPUs: -1,
		Mounts: []Mount{{Path: "../etc", Key: "k"}, {Path: "a", Key: ""}, {Path: "/abs", Key: "k"}}})
	if err == nil {
		t.Fatal("compiled")
	}
	for _, w := range []string{"name:", "image: image://sk names the image catalog", "gpus: -1", "mounts[0].path", "mounts[1].key", "mounts[2].path"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q: %v", w, err)
		}
	}
}
