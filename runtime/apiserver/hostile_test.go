package apiserver_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeline/kubeline/runtime/store"
)

// hostile is issue 15's world: a multi-user server over real HTTP with two
// groups, a and b, a user of every role in each and an operator. Group a
// works: a dataset d, a pipeline, a model m trained from d (m@v1 published,
// m@v2 not), a deployment of m@v1. Group b attacks it.
type hostile struct {
	k        *kserver
	tok      map[string]string // user -> token: a-ds, a-ml, a-pe, b-ds, b-ml, b-pe, op
	pipeline string            // a's train-model pipeline
	version  string            // its version
	deploy   string            // a's deployment
	train    map[string]any    // the train-model spec, inline
	t        *testing.T
}

func newHostile(t *testing.T, o serverOptions) *hostile {
	t.Helper()
	o.multiUser = true
	h := &hostile{k: startKubeline(t, o), tok: map[string]string{}, t: t}
	ctx := context.Background()
	for _, g := range []string{"a", "b"} {
		if err := h.k.st.CreateGroup(ctx, &store.Group{Name: g, Pool: "default"}); err != nil {
			t.Fatal(err)
		}
		for _, role := range []string{"ds", "ml", "pe"} {
			h.tok[g+"-"+role] = h.k.user(t, g+"-"+role, []string{map[string]string{"ds": dsRole, "ml": mlRole, "pe": peRole}[role]}, []string{g})
		}
	}
	h.tok["op"] = h.k.user(t, "op", []string{opRole}, []string{"a"})
	return h
}

// work is group a's work: dataset d, the train-model pipeline, m@v1
// (published) and m@v2, and the deployment a-serve of m@v1.
func (h *hostile) work(t *testing.T) {
	t.Helper()
	if r := uploadVersionAs(t, h.k, "dataset", "d", "a\nb\nc\nd\n", h.tok["a-ds"]); r.code != 200 {
		t.Fatalf("a's dataset: %d %s", r.code, r.raw)
	}
	spec, err := os.ReadFile("../../examples/train-model/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yamlToJSON(spec, &h.train); err != nil {
		t.Fatal(err)
	}
	p := h.as("a-ml", "POST", h.k.kfp()+"/pipelines/create", map[string]any{"pipeline": map[string]any{"display_name": "train"},
		"pipeline_version": map[string]any{"display_name": "v1", "pipeline_spec": h.train}})
	if p.code != 200 {
		t.Fatalf("a's pipeline: %d %s", p.code, p.raw)
	}
	h.pipeline = p.body["pipeline_id"].(string)
	vs := h.as("a-ml", "GET", h.k.kfp()+"/pipelines/"+h.pipeline+"/versions", nil)
	h.version = vs.body["pipeline_versions"].([]any)[0].(map[string]any)["pipeline_version_id"].(string)
	for _, lr := range []float64{0.1, 0.2} {
		if run := h.run(t, "a-ml", map[string]any{"pipeline_version_reference": map[string]any{"pipeline_id": h.pipeline},
			"runtime_config": map[string]any{"parameters": map[string]any{"lr": lr}}}); run["state"] != "SUCCEEDED" {
			t.Fatalf("a's training run: %v", run)
		}
	}
	if r := h.as("a-ml", "POST", h.k.kl()+"/models/m/versions/v1:publish", nil); r.code != 200 {
		t.Fatalf("a publishes m@v1: %d %s", r.code, r.raw)
	}
	h.deploy = "a-serve"
	predictor, _ := filepath.Abs("../../examples/serve-model/predictor.py")
	doc := fmt.Sprintf("kind: Deployment\napiVersion: kubeline.io/v1alpha1\nmetadata: {name: %s}\nspec:\n  model: m@v1\n  target: local\n"+
		"  predictor: {image: python, command: [python3, %s]}\n", h.deploy, predictor)
	if r := postYAML(t, h.k.kl()+"/deployments", h.tok["a-pe"], doc); r.code != 200 {
		t.Fatalf("a deploys m@v1: %d %s", r.code, r.raw)
	}
}

func (h *hostile) as(user, method, u string, body any) resp {
	return do(h.t, method, u, h.tok[user], body)
}

// run creates a run as user from body (display name added) and waits for
// its end; it fails the test when the run is refused.
func (h *hostile) run(t *testing.T, user string, body map[string]any) map[string]any {
	t.Helper()
	body["display_name"] = "r"
	r := h.as(user, "POST", h.k.kfp()+"/runs", body)
	if r.code != 200 {
		t.Fatalf("run as %s: %d %s", user, r.code, r.raw)
	}
	id := r.body["run_id"].(string)
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		got := h.as(user, "GET", h.k.kfp()+"/runs/"+id, nil)
		switch got.body["state"] {
		case "SUCCEEDED", "FAILED", "CANCELED":
			return got.body
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("run %s did not finish", id)
	return nil
}

// hiddenLike checks that got is the 404 a missing resource gets: the same
// body as missing once real is replaced by fake.
func hiddenLike(t *testing.T, what string, got, missing resp, real, fake string) {
	t.Helper()
	if got.code != missing.code || strings.ReplaceAll(got.raw, real, fake) != missing.raw {
		t.Errorf("%s: %d %s\nwant what a missing one gets: %d %s", what, got.code, got.raw, missing.code, missing.raw)
	}
}

// snapshot is what group b must not change of group a's: d and m (latest
// version and its digest), the catalog, the deployment's state, the runs.
func (h *hostile) snapshot(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, u := range []string{"/datasets/d/versions/latest", "/models/m/versions/latest"} {
		r := h.as("a-ds", "GET", h.k.kl()+u, nil)
		fmt.Fprintf(&b, "%s: %d v%v %v\n", u, r.code, r.body["version"], r.body["sha256"])
	}
	cat := h.as("a-ml", "GET", h.k.kl()+"/catalog", nil)
	fmt.Fprintf(&b, "catalog: %d %v\n", cat.code, cat.body["total_size"])
	for _, m := range cat.body["models"].([]any) {
		fmt.Fprintf(&b, "  %v@v%v\n", m.(map[string]any)["name"], m.(map[string]any)["version"])
	}
	d := h.as("a-pe", "GET", h.k.kl()+"/deployments/"+h.deploy, nil)
	fmt.Fprintf(&b, "deployment: %d %v %v\n", d.code, d.body["state"], d.body["model"])
	runs := h.as("a-ds", "GET", h.k.kfp()+"/runs?page_size=100", nil)
	fmt.Fprintf(&b, "runs of a: %v\n", runs.body["total_size"])
	return b.String()
}

// unchanged fails when a's world differs from before.
func (h *hostile) unchanged(t *testing.T, before string) {
	t.Helper()
	if after := h.snapshot(t); after != before {
		t.Errorf("group a's resources changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestHostileUser: group b tries every way the hostile tester found to
// cross into group a (issue 15); each subtest is one finding, asserting
// the refusal — answered as if a's resource did not exist — and that
// nothing of a's changed.
func TestHostileUser(t *testing.T) {
	h := newHostile(t, serverOptions{})
	h.work(t)

	// 3. A run may not use another group's pipeline version by id, nor its
	// pipeline (alone, in a recurring run, or as a project's pipeline), and
	// the answer does not confirm that the id exists.
	t.Run("3 pipeline ids across groups", func(t *testing.T) {
		before := h.snapshot(t)
		const fake = "00000000-0000-0000-0000-000000000000"
		for _, c := range []struct {
			name string
			ref  map[string]any
			real string
		}{
			{"pipeline_version_id", map[string]any{"pipeline_version_id": h.version}, h.version},
			{"pipeline_id", map[string]any{"pipeline_id": h.pipeline}, h.pipeline},
		} {
			fakeRef := map[string]any{}
			for k, v := range c.ref {
				fakeRef[k] = strings.ReplaceAll(v.(string), c.real, fake)
			}
			for _, path := range []string{"/runs", "/recurringruns"} {
				body := func(ref map[string]any) map[string]any {
					return map[string]any{"display_name": "steal", "pipeline_version_reference": ref, "mode": "ENABLE",
						"trigger": map[string]any{"periodic_schedule": map[string]any{"interval_second": "60"}}}
				}
				if path == "/runs" {
					body = func(ref map[string]any) map[string]any {
						return map[string]any{"display_name": "steal", "pipeline_version_reference": ref}
					}
				}
				got := h.as("b-ds", "POST", h.k.kfp()+path, body(c.ref))
				missing := h.as("b-ds", "POST", h.k.kfp()+path, body(fakeRef))
				hiddenLike(t, path+" by "+c.name, got, missing, c.real, fake)
			}
		}
		got := h.as("b-ds", "POST", h.k.kl()+"/projects", map[string]any{"name": "steal", "metric": "acc", "pipeline": h.pipeline})
		missing := h.as("b-ds", "POST", h.k.kl()+"/projects", map[string]any{"name": "steal", "metric": "acc", "pipeline": fake})
		hiddenLike(t, "a project's pipeline", got, missing, h.pipeline, fake)
		hiddenLike(t, "GET the pipeline", h.as("b-ds", "GET", h.k.kfp()+"/pipelines/"+h.pipeline, nil),
			h.as("b-ds", "GET", h.k.kfp()+"/pipelines/"+fake, nil), h.pipeline, fake)
		if rr := h.as("b-ds", "GET", h.k.kfp()+"/recurringruns", nil); rr.body["total_size"] != 0.0 {
			t.Errorf("b's recurring runs: %s", rr.raw)
		}
		h.unchanged(t, before)
	})

	// 4. Datasets and models belong to a group: b neither lists nor reads a's
	// versions, usage, lineage or metrics, nor reads their content through
	// dataset://, nor adds a version, publishes, deploys or stops.
	t.Run("4 datasets and models", func(t *testing.T) {
		before := h.snapshot(t)
		for _, kind := range []string{"datasets", "models"} {
			if r := h.as("b-ml", "GET", h.k.kl()+"/"+kind, nil); r.code != 200 || r.body["total_size"] != 0.0 {
				t.Errorf("b lists %s: %d %s", kind, r.code, r.raw)
			}
		}
		for _, c := range []struct{ name, path string }{
			{"d", "/datasets/%s/versions"}, {"d", "/datasets/%s/versions/v1"}, {"d", "/datasets/%s/versions/v1/usage"},
			{"d", "/datasets/%s/versions/v1/lineage"}, {"m", "/models/%s/versions/latest"}, {"m", "/models/%s/versions/v1/lineage?format=dot"},
		} {
			hiddenLike(t, "GET "+c.path, h.as("b-ml", "GET", h.k.kl()+fmt.Sprintf(c.path, c.name), nil),
				h.as("b-ml", "GET", h.k.kl()+fmt.Sprintf(c.path, "zz"), nil), `\"`+c.name+`\"`, `\"zz\"`)
		}
		// Content through a version URI: a's d is no version b's run resolves.
		hiddenLike(t, "dataset://d@v1 in b's run", h.as("b-ml", "POST", h.k.kfp()+"/runs", map[string]any{"display_name": "x", "pipeline_spec": h.train,
			"runtime_config": map[string]any{"parameters": map[string]any{"data": "dataset://d@v1"}}}),
			h.as("b-ml", "POST", h.k.kfp()+"/runs", map[string]any{"display_name": "x", "pipeline_spec": h.train,
				"runtime_config": map[string]any{"parameters": map[string]any{"data": "dataset://zz@v1"}}}), "dataset d@", "dataset zz@")
		hiddenLike(t, "compare model=m@v1", h.as("b-ml", "GET", h.k.kl()+"/compare?model=m@v1", nil),
			h.as("b-ml", "GET", h.k.kl()+"/compare?model=zz@v1", nil), "model m@", "model zz@")
		// A new version of a's dataset: the name is taken.
		if r := uploadVersionAs(t, h.k, "dataset", "d", "poison\n", h.tok["b-ds"]); r.code != 409 {
			t.Errorf("b uploads into d: %d %s, want 409", r.code, r.raw)
		}
		// Publishing a's unpublished m@v2, deploying a's m@v1, stopping and
		// calling a's deployment.
		hiddenLike(t, "b publishes m@v2", h.as("b-ml", "POST", h.k.kl()+"/models/m/versions/v2:publish", nil),
			h.as("b-ml", "POST", h.k.kl()+"/models/zz/versions/v2:publish", nil), `\"m\"`, `\"zz\"`)
		predictor, _ := filepath.Abs("../../examples/serve-model/predictor.py")
		deploy := func(model string) resp {
			return postYAML(t, h.k.kl()+"/deployments", h.tok["b-pe"], fmt.Sprintf("kind: Deployment\napiVersion: kubeline.io/v1alpha1\n"+
				"metadata: {name: b-serve}\nspec:\n  model: %s@v1\n  target: local\n  predictor: {image: python, command: [python3, %s]}\n", model, predictor))
		}
		hiddenLike(t, "b deploys m@v1", deploy("m"), deploy("zz"), "model m@", "model zz@")
		for _, c := range []struct{ method, path string }{
			{"POST", "/apis/kubeline/v1/deployments/%s:stop"}, {"GET", "/apis/kubeline/v1/deployments/%s"},
			{"POST", "/v1/models/%s:predict"}, {"GET", "/v2/models/%s/ready"},
		} {
			hiddenLike(t, c.method+" "+c.path, h.as("b-pe", c.method, h.k.root+fmt.Sprintf(c.path, h.deploy), map[string]any{"instances": []any{1}}),
				h.as("b-pe", c.method, h.k.root+fmt.Sprintf(c.path, "zz"), map[string]any{"instances": []any{1}}), h.deploy, "zz")
		}
		if r := h.as("b-pe", "GET", h.k.kl()+"/deployments", nil); strings.Contains(r.raw, h.deploy) {
			t.Errorf("b lists a's deployment: %s", r.raw)
		}
		// b's own run whose model output is named like a's model fails to
		// version it, and a's m@latest stays.
		if r := uploadVersionAs(t, h.k, "dataset", "bd", "e\nf\n", h.tok["b-ds"]); r.code != 200 {
			t.Fatalf("b's dataset: %d %s", r.code, r.raw)
		}
		run := h.run(t, "b-ml", map[string]any{"pipeline_spec": h.train, "runtime_config": map[string]any{"parameters": map[string]any{"data": "dataset://bd@v1"}}})
		if run["state"] != "FAILED" || !strings.Contains(fmt.Sprint(run["error"]), "taken by another group") {
			t.Errorf("b's run producing a model named m: %v %v", run["state"], run["error"])
		}
		if p := h.as("a-pe", "POST", h.k.root+"/v1/models/"+h.deploy+":predict", map[string]any{"instances": []any{1}}); p.code != 200 {
			t.Errorf("a's deployment after b's attempts: %d %s", p.code, p.raw)
		}
		h.unchanged(t, before)
	})
}
