package apiserver_test

import (
	"strings"
	"testing"
)

// TestHostileIDEsAndImages: group b tries to reach group a's IDE and image
// catalog entry the ways issue 15's tester reached other kinds: each is
// refused exactly as a missing one is, and a's IDE keeps running. Inside
// group a, only the IDE's owner stops it and sees its token.
func TestHostileIDEsAndImages(t *testing.T) {
	h := newHostile(t, serverOptions{sandboxed: true})
	if r := uploadVersionAs(t, h.k, "dataset", "d", "a\nb\n", h.tok["a-ds"]); r.code != 200 {
		t.Fatalf("a's dataset: %d %s", r.code, r.raw)
	}
	if r := h.as("a-ds", "POST", h.k.kl()+"/images", map[string]any{"name": "a-img", "image": "ghcr.io/a/trainer:1",
		"command": []string{"python3", "-m", "http.server", "$(PORT)", "--bind", "127.0.0.1"}}); r.code != 200 || r.body["group"] != "a" {
		t.Fatalf("a's image: %d %s", r.code, r.raw)
	}
	if r := h.as("a-ds", "POST", h.k.kl()+"/ides", map[string]any{"name": "a-lab", "image": "a-img", "datasets": []string{"d@v1"}}); r.code != 200 {
		t.Fatalf("a's IDE: %d %s", r.code, r.raw)
	}
	lab := waitIDE(t, h.k, h.tok["a-ds"], "a-lab", "Running")
	if lab["token"] == nil || lab["image_ref"] != "ghcr.io/a/trainer:1" {
		t.Fatalf("a's IDE as its owner: %v", lab)
	}
	running := func(t *testing.T) {
		t.Helper()
		if got := h.as("a-ds", "GET", h.k.kl()+"/ides/a-lab", nil); got.body["status"] != "Running" {
			t.Fatalf("a's IDE after the attempt: %s", got.raw)
		}
	}

	t.Run("another group's IDE does not exist", func(t *testing.T) {
		for _, c := range []struct{ method, path string }{{"GET", "/ides/%s"}, {"POST", "/ides/%s:stop"}, {"DELETE", "/ides/%s"}, {"POST", "/ides/%s:start_anyway"}} {
			got := h.as("b-ds", c.method, h.k.kl()+strings.ReplaceAll(c.path, "%s", "a-lab"), nil)
			missing := h.as("b-ds", c.method, h.k.kl()+strings.ReplaceAll(c.path, "%s", "no-lab"), nil)
			hiddenLike(t, c.method+" "+c.path, got, missing, "a-lab", "no-lab")
		}
		if r := h.as("b-ds", "GET", h.k.kl()+"/ides", nil); strings.Contains(r.raw, "a-lab") {
			t.Errorf("b lists a's IDE: %s", r.raw)
		}
		running(t)
	})
	t.Run("another group's IDE name is taken, not replaced", func(t *testing.T) {
		r := h.as("b-ds", "POST", h.k.kl()+"/ides", map[string]any{"name": "a-lab", "image": "python", "command": []string{"sleep", "60"}})
		if r.code != 409 {
			t.Errorf("b starts an IDE named like a's: %d %s", r.code, r.raw)
		}
		running(t)
	})
	t.Run("another group's dataset is not mounted", func(t *testing.T) {
		got := h.as("b-ds", "POST", h.k.kl()+"/ides", map[string]any{"name": "b-lab", "image": "python", "command": []string{"sleep", "60"}, "datasets": []string{"d@v1"}})
		missing := h.as("b-ds", "POST", h.k.kl()+"/ides", map[string]any{"name": "b-lab", "image": "python", "command": []string{"sleep", "60"}, "datasets": []string{"zz@v1"}})
		hiddenLike(t, "mount a's dataset", got, missing, "d@v1", "zz@v1")
		if got.code != 400 {
			t.Errorf("mount a's dataset: %d %s", got.code, got.raw)
		}
	})
	t.Run("another group's image is not in the catalog", func(t *testing.T) {
		for _, method := range []string{"GET", "DELETE"} {
			got := h.as("b-ds", method, h.k.kl()+"/images/a/a-img", nil)
			missing := h.as("b-ds", method, h.k.kl()+"/images/a/no-img", nil)
			hiddenLike(t, method+" a's image", got, missing, "a-img", "no-img")
		}
		if r := h.as("b-ds", "GET", h.k.kl()+"/images", nil); strings.Contains(r.raw, "a-img") || !strings.Contains(r.raw, "jupyter-scipy") {
			t.Errorf("b's image list: %s", r.raw)
		}
		if r := h.as("b-ds", "POST", h.k.kl()+"/images", map[string]any{"name": "x", "image": "x:1", "group": "a"}); r.code != 404 {
			t.Errorf("b adds an image to a's catalog: %d %s", r.code, r.raw)
		}
		r := h.as("b-ds", "POST", h.k.kfp()+"/runs", map[string]any{"display_name": "r", "pipeline_spec": catalogSpec(t, "a-img")})
		if r.code != 400 || !strings.Contains(r.raw, "image://a-img is not in the image catalog") || !strings.Contains(r.raw, "root.dag.tasks[train]") {
			t.Errorf("b runs a's catalog image: %d %s", r.code, r.raw)
		}
		if r := h.as("a-ds", "GET", h.k.kl()+"/images/a/a-img", nil); r.code != 200 {
			t.Errorf("a's image after b's attempts: %d %s", r.code, r.raw)
		}
		if r := h.as("b-ds", "POST", h.k.kl()+"/images", map[string]any{"name": "std", "image": "x:1", "standard": true}); r.code != 403 {
			t.Errorf("b adds a standard image: %d %s", r.code, r.raw)
		}
	})
	t.Run("only the owner manages an IDE of their group", func(t *testing.T) {
		got := h.as("a-ml", "GET", h.k.kl()+"/ides/a-lab", nil)
		if got.code != 200 || got.body["token"] != nil {
			t.Errorf("a group member sees the IDE's token: %s", got.raw)
		}
		if r := h.as("a-ml", "POST", h.k.kl()+"/ides/a-lab:stop", nil); r.code != 403 {
			t.Errorf("a member who does not own it stops a's IDE: %d %s", r.code, r.raw)
		}
		running(t)
		if r := h.as("a-ds", "POST", h.k.kl()+"/ides/a-lab:stop", nil); r.code != 200 {
			t.Errorf("the owner stops it: %d %s", r.code, r.raw)
		}
		waitIDE(t, h.k, h.tok["a-ds"], "a-lab", "Stopped")
	})
}

// catalogSpec is a one-step pipeline whose step names image://name.
func catalogSpec(t *testing.T, name string) map[string]any {
	t.Helper()
	spec := map[string]any{}
	if err := yamlToJSON([]byte(`components:
  comp-train: {executorLabel: exec-train}
deploymentSpec:
  executors:
    exec-train:
      container: {image: 'image://`+name+`', command: [sh, -c, 'true']}
pipelineInfo: {name: train}
root:
  dag:
    tasks:
      train: {componentRef: {name: comp-train}, taskInfo: {name: train}}
schemaVersion: 2.1.0
`), &spec); err != nil {
		t.Fatal(err)
	}
	return spec
}
