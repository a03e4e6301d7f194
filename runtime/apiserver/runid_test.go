package apiserver_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/runtime/apiserver"
)

// TestRunsSharingAnIDPrefix: two runs of groups a and b (models am and bm)
// whose ids share
// their first 8 hex characters (injected) keep apart (issue 15: workflow
// names carried only those 8): their workflows, artifact keys and logs
// differ, b's run does not overwrite a's model, and neither group reads the
// other's artifacts through any route — KFP's node artifacts, the
// Pipelines UI's /artifacts/get, kubeline's model versions.
func TestRunsSharingAnIDPrefix(t *testing.T) {
	ids := []string{"abcdef12-0000-4000-8000-00000000000a", "abcdef12-0000-4000-8000-00000000000b"}
	var mu sync.Mutex
	next := func() string {
		mu.Lock()
		defer mu.Unlock()
		id := ids[0]
		ids = ids[1:]
		return id
	}
	ui := t.TempDir() // a Pipelines UI build: its Node server's routes are served too
	if err := os.WriteFile(filepath.Join(ui, "index.html"), []byte("<html></html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := newHostile(t, serverOptions{with: func(api *apiserver.Server, _ context.Context) { api.WithUI(ui).WithRunIDs(next) }})
	spec, err := os.ReadFile("../../examples/train-model/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var train map[string]any
	if err := yamlToJSON(spec, &train); err != nil {
		t.Fatal(err)
	}
	type ran struct {
		id, node, key, model string
	}
	runAs := func(g string, lr float64, data string) ran {
		if r := uploadVersionAs(t, h.k, "dataset", g+"d", data, h.tok[g+"-ds"]); r.code != 200 {
			t.Fatalf("%s's dataset: %d %s", g, r.code, r.raw)
		}
		run := h.run(t, g+"-ml", map[string]any{"pipeline_spec": train, "runtime_config": map[string]any{"parameters": map[string]any{"lr": lr,
			"data": "dataset://" + g + "d@latest", "kubeline.io/version:train.model": "model:" + g + "m"}}})
		if run["state"] != "SUCCEEDED" {
			t.Fatalf("%s's run: %v", g, run)
		}
		out := ran{id: run["run_id"].(string)}
		out.node, out.key = modelOf(t, h, out.id)
		out.model = readModel(t, h, g+"-ml", out.id, out.node)
		return out
	}
	a := runAs("a", 0.1, "a1\na2\n")
	b := runAs("b", 0.3, "b1\nb2\nb3\nb4\n")
	if a.id[:8] != b.id[:8] || a.id == b.id {
		t.Fatalf("the runs' ids %s and %s do not share their first 8 characters only", a.id, b.id)
	}
	if a.key == b.key {
		t.Errorf("both runs wrote their model at %s", a.key)
	}
	if got := readModel(t, h, "a-ml", a.id, a.node); got != a.model || a.model == b.model {
		t.Errorf("a's model after b's run: %q, was %q (b's: %q)", got, a.model, b.model)
	}

	// KFP's node artifact route: as if the other group's run did not exist.
	const fakeRun = "abcdef12-0000-4000-8000-0000000000ff"
	for _, c := range []struct {
		user string
		r    ran
	}{{"b-ml", a}, {"a-ml", b}} {
		got := h.as(c.user, "GET", h.k.kfp()+"/runs/"+c.r.id+"/nodes/"+c.r.node+"/artifacts/model:read", nil)
		missing := h.as(c.user, "GET", h.k.kfp()+"/runs/"+fakeRun+"/nodes/"+c.r.node+"/artifacts/model:read", nil)
		hiddenLike(t, c.user+" reads the other group's model (KFP)", got, missing, c.r.id, fakeRun)
	}

	// The UI's /artifacts/get by key: each group reads its own, not the
	// other's (a key of a run with the same 8 first characters).
	root := filepath.Join(h.k.home, "artifacts")
	get := func(user, key string) resp {
		return h.as(user, "GET", h.k.root+"/artifacts/get?source=file&bucket="+url.QueryEscape(root)+"&key="+url.QueryEscape(key), nil)
	}
	for _, c := range []struct {
		user       string
		own, other ran
	}{{"a-ml", a, b}, {"b-ml", b, a}} {
		if r := get(c.user, c.own.key); r.code != 200 || r.raw != c.own.model {
			t.Errorf("%s reads its own model by key %s: %d %q, want %q", c.user, c.own.key, r.code, r.raw, c.own.model)
		}
		fake := strings.ReplaceAll(c.other.key, c.other.id, fakeRun)
		hiddenLike(t, c.user+" reads the other group's model (UI, key "+c.other.key+")", get(c.user, c.other.key), get(c.user, fake), c.other.key, fake)
	}

	// kubeline's versions: each group's model (am, bm) is its own run's;
	// the other group's is missing.
	for _, c := range []struct {
		user, own, other string
		run              ran
	}{{"a-ml", "am", "bm", a}, {"b-ml", "bm", "am", b}} {
		v := h.as(c.user, "GET", h.k.kl()+"/models/"+c.own+"/versions/latest", nil)
		if v.code != 200 || v.body["run_id"] != c.run.id {
			t.Errorf("%s's model %s@latest: %d %s, want its run %s's", c.user, c.own, v.code, v.raw, c.run.id)
		}
		hiddenLike(t, c.user+" reads the other group's model version", h.as(c.user, "GET", h.k.kl()+"/models/"+c.other+"/versions/latest", nil),
			h.as(c.user, "GET", h.k.kl()+"/models/zz/versions/latest", nil), c.other, "zz")
	}
}

// modelOf finds the train step's node and its model's artifact key in a
// run's stored workflow.
func modelOf(t *testing.T, h *hostile, runID string) (node, key string) {
	t.Helper()
	run, err := h.k.st.GetRun(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	var wf wfv1.Workflow
	if err := json.Unmarshal([]byte(run.Workflow), &wf); err != nil {
		t.Fatal(err)
	}
	for id, n := range wf.Status.Nodes {
		if n.Type != wfv1.NodeTypePod || n.Outputs == nil {
			continue
		}
		for _, a := range n.Outputs.Artifacts {
			if a.Name == "model" && a.S3 != nil {
				return id, a.S3.Key
			}
		}
	}
	t.Fatalf("run %s has no model artifact", runID)
	return "", ""
}

// readModel reads a run's model through KFP's node artifact route.
func readModel(t *testing.T, h *hostile, user, runID, node string) string {
	t.Helper()
	r := h.as(user, "GET", h.k.kfp()+"/runs/"+runID+"/nodes/"+node+"/artifacts/model:read", nil)
	if r.code != 200 {
		t.Fatalf("%s reads run %s's model: %d %s", user, runID, r.code, r.raw)
	}
	s, _ := r.body["data"].(string)
	data, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("run %s's model: %v", runID, err)
	}
	return string(data)
}
