package deploy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReplicasAndResourcesInInferenceService: minReplicas/maxReplicas and
// requests/limits reach KServe's predictor as they were asked for; a GPU
// count on one side is on both (GPUs are not overcommitted).
func TestReplicasAndResourcesInInferenceService(t *testing.T) {
	d, err := load(t, []byte(`apiVersion: kubeline.io/v1alpha1
kind: Deployment
metadata: {name: m-serve}
spec:
  model: m@v1
  target: kserve
  predictor: {image: p:1, protocol: v2, env: [{name: A, value: "1"}]}
  minReplicas: 2
  maxReplicas: 3
  resources:
    requests: {cpu: 500m, memory: 1Gi}
    limits: {memory: 2Gi, gpus: 1}
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	p := d.InferenceService("s3://b/k")["spec"].(map[string]any)["predictor"].(map[string]any)
	c := p["containers"].([]any)[0].(map[string]any)
	got := map[string]any{"min": p["minReplicas"], "max": p["maxReplicas"], "resources": c["resources"], "env": c["env"].([]any)[3:]}
	want := map[string]any{"min": 2, "max": 3,
		"resources": map[string]any{"requests": map[string]any{"cpu": "500m", "memory": "1Gi", "nvidia.com/gpu": "1"},
			"limits": map[string]any{"memory": "2Gi", "nvidia.com/gpu": "1"}},
		"env": []any{map[string]any{"name": "PROTOCOL", "value": "v2"}, map[string]any{"name": "A", "value": "1"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("predictor (-want +got):\n%s", diff)
	}
}

func TestReplicaRange(t *testing.T) {
	n := func(i int) *int { return &i }
	for _, c := range []struct {
		name           string
		s              Spec
		wantLo, wantHi int
	}{
		{"nothing", Spec{}, 1, 1},
		{"fixed", Spec{Replicas: n(4)}, 4, 4},
		{"range", Spec{MinReplicas: n(2), MaxReplicas: n(5)}, 2, 5},
		{"min only", Spec{MinReplicas: n(3)}, 3, 3},
		{"scale to zero", Spec{MinReplicas: n(0)}, 0, 1},
		{"max only", Spec{MaxReplicas: n(4)}, 1, 4},
	} {
		lo, hi := c.s.replicaRange()
		if lo != c.wantLo || hi != c.wantHi {
			t.Errorf("%s: %d..%d, want %d..%d", c.name, lo, hi, c.wantLo, c.wantHi)
		}
	}
}

// TestReplicasAndResourcesErrors: every bad value is reported at once at
// its field.
func TestReplicasAndResourcesErrors(t *testing.T) {
	for _, c := range []struct{ name, spec string }{
		{"bad quantities", `{minReplicas: 3, maxReplicas: 2, resources: {requests: {cpu: lots, memory: "-1Gi", gpus: -1}, limits: {cpu: 2x}}}`},
		{"request over limit", `{replicas: 2, minReplicas: 1, resources: {requests: {cpu: "2", memory: 2Gi, gpus: 1}, limits: {cpu: 500m, memory: 1Gi, gpus: 2}}}`},
		{"both forms", `{maxReplicas: 0, resources: {memory: lots, limits: {memory: 1Gi}}, predictor: {command: [x], env: [{name: "1A"}, {name: ""}]}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := "apiVersion: kubeline.io/v1alpha1\nkind: Deployment\nmetadata: {name: m}\nspec: " + c.spec + "\n"
			src = strings.Replace(src, "spec: {", "spec: {model: m@v1, ", 1)
			if !strings.Contains(c.spec, "predictor") {
				src = strings.Replace(src, "model: m@v1, ", "model: m@v1, predictor: {command: [x]}, ", 1)
			}
			d, err := load(t, []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			err = d.Validate()
			if err == nil {
				t.Fatal("no error")
			}
			golden(t, "testdata/resources-"+strings.ReplaceAll(c.name, " ", "-")+".errors.golden", []byte(err.Error()+"\n"))
		})
	}
}
