package deploy

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/argoproj/argo-workflows/v3/workflow/validate"
	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/kubeline/kubeline/compiler/argo"
	"github.com/kubeline/kubeline/compiler/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func load(t *testing.T, src []byte) (*Deployment, error) {
	t.Helper()
	docs, err := spec.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	if docs[0].Kind != spec.KindDeployment {
		t.Fatalf("kind %q", docs[0].Kind)
	}
	return Decode(docs[0].Node)
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./compiler/deploy -update)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s (-want +got):\n%s", path, d)
	}
}

// TestGolden compiles each Deployment (with and without transformer and
// canary) into its workflow and InferenceService, checks both against the
// golden files and the workflow with Argo's validator.
func TestGolden(t *testing.T) {
	for _, name := range []string{"plain", "transformer", "canary"} {
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("testdata", name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			d, err := load(t, src)
			if err != nil {
				t.Fatal(err)
			}
			wf, err := CompileWorkflow(d, argo.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.ValidateWorkflow(nil, nil, wf, nil, validate.ValidateOpts{Lint: true}); err != nil {
				t.Fatalf("Argo's validator: %v", err)
			}
			wfYAML, err := yaml.Marshal(wf)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", name+".workflow.golden.yaml"), wfYAML)
			isvc, err := yaml.Marshal(d.InferenceService("s3://mlpipeline/kubeline/versions/models/m/0123abcd"))
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", name+".isvc.golden.yaml"), isvc)
		})
	}
}

// TestInferenceServiceShape checks the KServe fields the golden files hold,
// so a regenerated golden cannot silently lose them.
func TestInferenceServiceShape(t *testing.T) {
	src, _ := os.ReadFile("testdata/canary.yaml")
	d, err := load(t, src)
	if err != nil {
		t.Fatal(err)
	}
	isvc := d.InferenceService("s3://b/k")
	s := isvc["spec"].(map[string]any)
	p := s["predictor"].(map[string]any)
	if p["canaryTrafficPercent"] != 20 || s["transformer"] == nil {
		t.Fatalf("predictor %v", p)
	}
	env := p["containers"].([]any)[0].(map[string]any)["env"].([]any)
	if env[0].(map[string]any)["value"] != "s3://b/k" {
		t.Fatalf("STORAGE_URI %v", env)
	}
	if l := isvc["metadata"].(map[string]any)["labels"].(map[string]any); l[LabelModelVersion] != "2" {
		t.Fatalf("the canary serves m@v2: labels %v", l)
	}
	plain, _ := os.ReadFile("testdata/plain.yaml")
	d, _ = load(t, plain)
	limits := d.InferenceService("x")["spec"].(map[string]any)["predictor"].(map[string]any)["containers"].([]any)[0].(map[string]any)["resources"].(map[string]any)["limits"].(map[string]any)
	if limits["nvidia.com/gpu"] != "1" || limits["memory"] != "2Gi" {
		t.Fatalf("limits %v", limits)
	}
}

func TestDeploymentErrorsAllAtOnce(t *testing.T) {
	d, err := load(t, []byte(`apiVersion: kubeline.io/v1alpha1
kind: Deployment
metadata: {name: Bad_Name}
spec:
  model: m@v0
  target: cloud
  predictor: {protocol: v3}
  replicas: 0
  canary: {model: m, trafficPercent: 100}
`))
	if err != nil {
		t.Fatal(err)
	}
	err = d.Validate()
	for _, want := range []string{"metadata.name", "spec.model", "spec.target", "spec.predictor.protocol", "spec.replicas",
		"spec.canary.model", "spec.canary.trafficPercent"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("errors %v lack %s", err, want)
		}
	}
	if _, err := load(t, []byte("apiVersion: kubeline.io/v1alpha1\nkind: Deployment\nmetadata: {name: x}\nspec: {modle: m@v1}\n")); err == nil || !strings.Contains(err.Error(), `unknown field "modle"`) {
		t.Fatalf("unknown field: %v", err)
	}
}
