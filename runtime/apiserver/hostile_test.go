package apiserver_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/runtime/apiserver"
	"github.com/kubeline/kubeline/runtime/launcher"
	"github.com/kubeline/kubeline/runtime/sandbox"
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
	t.Setenv("AWS_SECRET_ACCESS_KEY", "server-s3-secret") // the server's environment
	importRoot := t.TempDir()
	if err := os.WriteFile(filepath.Join(importRoot, "data.txt"), []byte("x\ny\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ui := t.TempDir() // a Pipelines UI build: its Node server's routes are served too
	if err := os.WriteFile(filepath.Join(ui, "index.html"), []byte("<html></html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := newHostile(t, serverOptions{sandboxed: true, importRoot: importRoot,
		with: func(api *apiserver.Server, _ context.Context) { api.WithUI(ui) }})
	h.work(t)

	// 1. No step runs as the server: b's step, knowing every path, tries to
	// read the store, a's step logs and artifacts, /etc/shadow and the
	// server's environment, and to write into the server's home.
	t.Run("1 steps run sandboxed", func(t *testing.T) {
		before := h.snapshot(t)
		aRuns, _ := filepath.Glob(filepath.Join(h.k.home, "runs", "*"))
		if len(aRuns) == 0 {
			t.Fatal("a's runs left no directory")
		}
		run := h.run(t, "b-ds", map[string]any{"pipeline_spec": hostileSpec(t),
			"runtime_config": map[string]any{"parameters": map[string]any{"home": h.k.home, "other": aRuns[0]}}})
		report := outputOf(t, h.k, run["run_id"].(string), "report")
		uid, leaks, _ := strings.Cut(report, " ")
		var n uint64
		if _, err := fmt.Sscanf(uid, "uid=%d", &n); err != nil || n < sandbox.FirstUID {
			t.Errorf("the step ran as %q, want a sandbox uid (from %d)", uid, sandbox.FirstUID)
		}
		if leaks != "" || run["state"] != "SUCCEEDED" {
			t.Errorf("the hostile step got through: %q (run %v %v)", report, run["state"], run["error"])
		}
		if _, err := os.Stat(filepath.Join(h.k.home, "pwned")); err == nil {
			t.Error("the step wrote into the server's home")
		}
		h.unchanged(t, before)
	})

	// 2 and 6. The server reads no host path for an importer outside the
	// import root — not /etc/shadow, never its own store — and serves
	// nothing of them back.
	t.Run("2 and 6 importers read no host file", func(t *testing.T) {
		before := h.snapshot(t)
		// a's model m@v1 by its content's URI in the artifact store.
		mv, err := h.k.st.GetArtifactVersion(context.Background(), "model", "m", 1)
		if err != nil {
			t.Fatal(err)
		}
		aContent := "file://" + filepath.Join(h.k.home, "artifacts", mv.Key)
		for _, uri := range []string{"file:///etc/shadow", "/etc/shadow", "file://" + filepath.Join(h.k.home, "k.db"), "file://" + h.k.home, aContent} {
			run := h.run(t, "b-ml", map[string]any{"pipeline_spec": h.train, "runtime_config": map[string]any{"parameters": map[string]any{"data": uri}}})
			if run["state"] != "FAILED" || !strings.Contains(fmt.Sprint(run["error"]), "refused") {
				t.Errorf("importer of %s: %v %v, want FAILED (refused)", uri, run["state"], run["error"])
			}
		}
		shadow, _ := os.ReadFile("/etc/shadow")
		first, _, _ := strings.Cut(string(shadow), "\n")
		filepath.WalkDir(filepath.Join(h.k.home, "artifacts"), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if b, _ := os.ReadFile(p); first != "" && strings.Contains(string(b), first) {
					t.Errorf("/etc/shadow is in the artifact store: %s", p)
				}
			}
			return nil
		})
		// An HPO Experiment naming a file for its trial pipeline: the
		// server reads no file for a document.
		expJSON := map[string]any{"apiVersion": "kubeline.io/v1alpha1", "kind": "Experiment", "metadata": map[string]any{"name": "e"},
			"spec": map[string]any{"objective": map[string]any{"type": "minimize", "objectiveMetricName": "loss"},
				"algorithm": map[string]any{"algorithmName": "random"}, "maxTrialCount": 3,
				"parameters": []any{map[string]any{"name": "x", "parameterType": "double", "feasibleSpace": map[string]any{"min": "0", "max": "1"}}},
				"trialTemplate": map[string]any{"pipelineFile": "/etc/shadow", "trialParameters": []any{map[string]any{"name": "x", "reference": "x"}},
					"parameters": map[string]any{"x": "${trialParameters.x}"}}}}
		r := h.as("b-ds", "POST", h.k.kfp()+"/runs", map[string]any{"display_name": "x", "pipeline_spec": expJSON})
		if r.code != 400 || !strings.Contains(r.raw, "pipelineFile: a server reads no file") || first != "" && strings.Contains(r.raw, first[:strings.Index(first, ":")+2]) {
			t.Errorf("an Experiment with pipelineFile /etc/shadow: %d %s", r.code, r.raw)
		}
		// Under the import root, importing works.
		run := h.run(t, "b-ml", map[string]any{"pipeline_spec": h.train, "runtime_config": map[string]any{"parameters": map[string]any{
			"data": "file://" + filepath.Join(importRoot, "data.txt"), "kubeline.io/version:train.model": "model:b-m"}}})
		if run["state"] != "SUCCEEDED" {
			t.Errorf("importer under the import root: %v %v", run["state"], run["error"])
		}
		h.unchanged(t, before)
	})

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

	// 5. The inference endpoint forwards the body and content headers only:
	// b's spy predictor, called by an operator, sees no token, cookie or
	// kubeline header, sets no cookie, and runs sandboxed itself.
	t.Run("5 inference forwards no credentials", func(t *testing.T) {
		before := h.snapshot(t)
		if r := uploadVersionAs(t, h.k, "model", "spy-m", "weights 1\n", h.tok["b-ml"]); r.code != 200 {
			t.Fatalf("b's model: %d %s", r.code, r.raw)
		}
		if r := h.as("b-ml", "POST", h.k.kl()+"/models/spy-m/versions/v1:publish", nil); r.code != 200 {
			t.Fatalf("publish: %d %s", r.code, r.raw)
		}
		spy := filepath.Join(t.TempDir(), "spy.py")
		os.WriteFile(spy, []byte(`import json, os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"headers": dict(self.headers), "uid": os.getuid(),
                           "server_env": "server-s3-secret" in json.dumps(dict(os.environ))}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Set-Cookie", "stolen=1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`), 0o644)
		doc := fmt.Sprintf("kind: Deployment\napiVersion: kubeline.io/v1alpha1\nmetadata: {name: spy}\nspec:\n  model: spy-m@v1\n  target: local\n"+
			"  predictor: {image: python, command: [python3, %s]}\n", spy)
		if r := postYAML(t, h.k.kl()+"/deployments", h.tok["b-pe"], doc); r.code != 200 {
			t.Fatalf("b deploys the spy: %d %s", r.code, r.raw)
		}
		req, _ := http.NewRequest("POST", h.k.root+"/v1/models/spy:predict", strings.NewReader(`{"instances": [1]}`))
		req.Header.Set("Authorization", "Bearer "+h.tok["op"])
		req.Header.Set("Cookie", "session=operator-session")
		req.Header.Set("X-Kubeline-Group", "a")
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var got struct {
			Headers   map[string]string `json:"headers"`
			UID       uint64            `json:"uid"`
			ServerEnv bool              `json:"server_env"`
		}
		if err := json.NewDecoder(res.Body).Decode(&got); err != nil || res.StatusCode != 200 {
			t.Fatalf("predict through the spy: %d %v", res.StatusCode, err)
		}
		for k, v := range got.Headers {
			if c := http.CanonicalHeaderKey(k); c == "Authorization" || c == "Cookie" || strings.HasPrefix(c, "X-Kubeline") || strings.Contains(v, h.tok["op"]) {
				t.Errorf("the predictor got %s: %s", k, v)
			}
		}
		if got.Headers["Content-Type"] != "application/json" {
			t.Errorf("the predictor lacks the body's Content-Type: %v", got.Headers)
		}
		if c := res.Header.Get("Set-Cookie"); c != "" {
			t.Errorf("the predictor set a cookie on kubeline's answer: %s", c)
		}
		if got.UID < sandbox.FirstUID || got.ServerEnv {
			t.Errorf("the predictor runs as uid %d (server environment: %v), want a sandbox uid and none of it", got.UID, got.ServerEnv)
		}
		if r := h.as("b-pe", "POST", h.k.kl()+"/deployments/spy:stop", nil); r.code != 200 {
			t.Errorf("stop the spy: %d %s", r.code, r.raw)
		}
		h.unchanged(t, before)
	})

	// 4. Datasets and models belong to a group: b neither lists nor reads a's
	// versions, usage, lineage or metrics, nor reads their content through
	// dataset://, nor adds a version, publishes, deploys or stops.
	t.Run("4 datasets and models", func(t *testing.T) {
		before := h.snapshot(t)
		for kind, name := range map[string]string{"datasets": `"name":"d"`, "models": `"name":"m"`} {
			if r := h.as("b-ml", "GET", h.k.kl()+"/"+kind, nil); r.code != 200 || strings.Contains(r.raw, name) {
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

	// 4, through the Pipelines UI's routes: b reads neither a's artifacts
	// (/artifacts/get, /artifacts/SOURCE/BUCKET/KEY) nor its step logs
	// (/k8s/pod/logs); a's members do.
	t.Run("4 UI routes", func(t *testing.T) {
		runs := h.as("a-ds", "GET", h.k.kfp()+"/runs?page_size=1", nil)
		runID := runs.body["runs"].([]any)[0].(map[string]any)["run_id"].(string)
		run, err := h.k.st.GetRun(context.Background(), runID)
		if err != nil {
			t.Fatal(err)
		}
		var wf wfv1.Workflow
		if err := json.Unmarshal([]byte(run.Workflow), &wf); err != nil {
			t.Fatal(err)
		}
		key := ""
		for _, n := range wf.Status.Nodes {
			if n.Outputs != nil && key == "" {
				for _, a := range n.Outputs.Artifacts {
					if a.S3 != nil && strings.HasPrefix(a.S3.Key, "kubeline/"+wf.Name+"/") && a.Name == "model" {
						key = a.S3.Key
					}
				}
			}
		}
		if key == "" {
			t.Fatalf("a's run %s has no model artifact in the store", runID)
		}
		fake := "kubeline/zz-0000/zz-0000-step/model"
		root := filepath.Join(h.k.home, "artifacts")
		get := func(user, k string) resp {
			return h.as(user, "GET", h.k.root+"/artifacts/get?source=file&bucket="+url.QueryEscape(root)+"&key="+url.QueryEscape(k), nil)
		}
		if r := get("a-ds", key); r.code != 200 {
			t.Errorf("a reads its artifact %s through the UI route: %d %s", key, r.code, r.raw)
		}
		hiddenLike(t, "GET /artifacts/get of a's artifact", get("b-ds", key), get("b-ds", fake), key, fake)
		path := func(k string) string { return h.k.root + "/artifacts/file/" + strings.TrimPrefix(root, "/") + "/" + k }
		hiddenLike(t, "GET /artifacts/SOURCE/BUCKET/KEY", h.as("b-ds", "GET", path(key), nil), h.as("b-ds", "GET", path(fake), nil), key, fake)
		const missing = "00000000-0000-0000-0000-000000000000"
		logs := func(user, id string) resp {
			return h.as(user, "GET", h.k.root+"/k8s/pod/logs?runid="+id+"&podname="+wf.Name+"-train", nil)
		}
		if r := logs("a-ds", runID); r.code == 200 || !strings.Contains(r.raw, "no pod "+wf.Name+"-train") && !strings.Contains(r.raw, "no archived log") {
			t.Errorf("a asks for a log of its run: %d %s, want past the run's check", r.code, r.raw)
		}
		hiddenLike(t, "GET /k8s/pod/logs of a's run", logs("b-ds", runID), logs("b-ds", missing), runID, missing)
	})

	// Also: run parameters are data: a step gets them literally, never
	// expanded as Argo templates.
	t.Run("run parameters are literal", func(t *testing.T) {
		spec, err := os.ReadFile("../../examples/hello-params/pipeline.yaml")
		if err != nil {
			t.Fatal(err)
		}
		var hello map[string]any
		if err := yamlToJSON(spec, &hello); err != nil {
			t.Fatal(err)
		}
		// The last one looks like kubeline's own encoding of a value: it
		// too reaches the step as given, not decoded.
		looksEncoded := "kubeline-literal:" + base64.RawURLEncoding.EncodeToString([]byte("{{workflow.name}}"))
		for _, v := range []string{"{{workflow.name}}", "{{=toJson(workflow)}}", "{{$.pipeline_job_name}}", looksEncoded} {
			run := h.run(t, "b-ds", map[string]any{"pipeline_spec": hello, "runtime_config": map[string]any{"parameters": map[string]any{"recipient": v, "repeat": 1}}})
			if got := launcher.DecodeLiteral(outputOf(t, h.k, run["run_id"].(string), "greeting")); run["state"] != "SUCCEEDED" || got != "Hello, "+v+"!" {
				t.Errorf("recipient %s: %v, greeting %q, want it literal", v, run["state"], got)
			}
		}
	})

	// Also: a group that owns resources cannot be deleted (it would hand
	// them to whoever is put in a group made later under its name).
	t.Run("group that owns resources is not deleted", func(t *testing.T) {
		if err := h.k.st.CreateGroup(context.Background(), &store.Group{Name: "c", Pool: "default"}); err != nil {
			t.Fatal(err)
		}
		tok := h.k.user(t, "c-ds", []string{dsRole}, []string{"c"})
		if r := do(t, "POST", h.k.kfp()+"/experiments", tok, map[string]any{"display_name": "c-work"}); r.code != 200 {
			t.Fatalf("c's experiment: %d %s", r.code, r.raw)
		}
		if r := h.as("op", "PATCH", h.k.kl()+"/users/c-ds", map[string]any{"groups": []string{"default"}}); r.code != 200 {
			t.Fatalf("move c-ds: %d %s", r.code, r.raw)
		}
		r := h.as("op", "DELETE", h.k.kl()+"/groups/c", nil)
		if r.code != 409 || !strings.Contains(r.raw, "1 experiments") {
			t.Errorf("delete group c, which owns an experiment: %d %s, want 409 naming it", r.code, r.raw)
		}
		if r := h.as("op", "GET", h.k.kl()+"/groups/c", nil); r.code != 200 {
			t.Errorf("group c after the refused delete: %d", r.code)
		}
	})

	// Also: non-operators list only their own groups and no pool names the
	// groups using it.
	t.Run("listings", func(t *testing.T) {
		r := h.as("b-ds", "GET", h.k.kl()+"/groups", nil)
		if r.code != 200 || r.body["total_size"] != 1.0 || !strings.Contains(r.raw, `"name":"b"`) {
			t.Errorf("b lists groups: %d %s, want b only", r.code, r.raw)
		}
		hiddenLike(t, "GET group a", h.as("b-ds", "GET", h.k.kl()+"/groups/a", nil), h.as("b-ds", "GET", h.k.kl()+"/groups/zz", nil), `\"a\"`, `\"zz\"`)
		if r := h.as("b-ds", "GET", h.k.kl()+"/pools", nil); r.code != 200 || strings.Contains(r.raw, `"groups"`) {
			t.Errorf("b lists pools: %d %s, want no group names", r.code, r.raw)
		}
		if r := h.as("op", "GET", h.k.kl()+"/pools", nil); r.code != 200 || !strings.Contains(r.raw, `"groups"`) {
			t.Errorf("an operator lists pools: %d %s, want their groups", r.code, r.raw)
		}
	})

	// Also: names that a URI or a path could not name are refused at create.
	t.Run("names", func(t *testing.T) {
		if r := uploadVersionAs(t, h.k, "dataset", "a@v1", "x\n", h.tok["b-ds"]); r.code != 400 {
			t.Errorf("dataset a@v1: %d %s, want 400", r.code, r.raw)
		}
		for _, name := range []string{"x/y", "x@y", "x\x01y"} {
			if r := h.as("op", "POST", h.k.kl()+"/groups", map[string]any{"name": name}); r.code != 400 {
				t.Errorf("group %q: %d %s, want 400", name, r.code, r.raw)
			}
		}
		for _, name := range []string{"x@y", "x/y"} {
			doc := fmt.Sprintf("kind: Deployment\napiVersion: kubeline.io/v1alpha1\nmetadata: {name: %q}\nspec:\n  model: spy-m@v1\n  target: local\n"+
				"  predictor: {image: python, command: [python3, p.py]}\n", name)
			if r := postYAML(t, h.k.kl()+"/deployments", h.tok["b-pe"], doc); r.code != 400 || !strings.Contains(r.raw, "metadata.name") {
				t.Errorf("deployment %q: %d %s, want 400 naming metadata.name", name, r.code, r.raw)
			}
		}
		run := h.run(t, "b-ml", map[string]any{"pipeline_spec": h.train, "runtime_config": map[string]any{"parameters": map[string]any{
			"data": "dataset://bd@v1", "kubeline.io/version:train.model": "model:a@v1"}}})
		if run["state"] != "FAILED" || !strings.Contains(fmt.Sprint(run["error"]), "a@v1") {
			t.Errorf("a run versioning a model named a@v1: %v %v", run["state"], run["error"])
		}
		if r := h.as("b-ml", "GET", h.k.kl()+"/models", nil); strings.Contains(r.raw, "a@v1") {
			t.Errorf("a model named a@v1 exists: %s", r.raw)
		}
	})

	// Also: the store and the artifacts are the server's user's alone.
	t.Run("file modes", func(t *testing.T) {
		for path, want := range map[string]os.FileMode{filepath.Join(h.k.home, "k.db"): 0o600, filepath.Join(h.k.home, "artifacts"): 0o700} {
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
				t.Errorf("%s: %v %v, want %v", path, fi.Mode().Perm(), err, want)
			}
		}
		filepath.WalkDir(filepath.Join(h.k.home, "artifacts"), func(p string, d os.DirEntry, err error) error {
			if fi, ierr := d.Info(); err == nil && ierr == nil && fi.Mode().Perm()&0o077 != 0 {
				t.Errorf("%s is %v: group or others have access", p, fi.Mode().Perm())
			}
			return nil
		})
		runs, _ := filepath.Glob(filepath.Join(h.k.home, "runs", "*"))
		for _, r := range runs {
			if fi, err := os.Stat(r); err != nil || fi.Mode().Perm() != 0o700 {
				t.Errorf("run directory %s: %v %v, want 0700", r, fi.Mode().Perm(), err)
			}
		}
	})
}

// hostileSpec is a pipeline whose step, given the server's home and a run
// directory of group a's, tries everything a step of the server's user
// could, and reports what got through ("uid=N LEAK:what ...") as its output
// parameter report.
func hostileSpec(t *testing.T) map[string]any {
	t.Helper()
	const script = `home=$0; other=$1; out=$2; r=""
leak() { r="$r LEAK:$1"; }
cat /etc/shadow >/dev/null 2>&1 && leak shadow
cat "$home/k.db" >/dev/null 2>&1 && leak db
ls -A "$home" 2>/dev/null | grep -qv '^runs$' && leak home-files
ls "$other" >/dev/null 2>&1 && leak other-run
for f in "$other"/*/log; do test -s "$f" && cat "$f" >/dev/null 2>&1 && leak other-log; done
find "$home/artifacts" -type f 2>/dev/null | grep -q . && leak artifacts
env | grep -q server-s3-secret && leak env
cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' | grep -q server-s3-secret && leak proc-env
touch "$home/pwned" 2>/dev/null && leak home-write
echo x 2>/dev/null >> "$home/k.db" && leak db-write
printf 'uid=%s%s' "$(id -u)" "$r" > "$out"`
	spec := map[string]any{}
	doc := map[string]any{
		"components": map[string]any{"comp-probe": map[string]any{"executorLabel": "exec-probe",
			"inputDefinitions":  map[string]any{"parameters": map[string]any{"home": map[string]any{"parameterType": "STRING"}, "other": map[string]any{"parameterType": "STRING"}}},
			"outputDefinitions": map[string]any{"parameters": map[string]any{"report": map[string]any{"parameterType": "STRING"}}}}},
		"deploymentSpec": map[string]any{"executors": map[string]any{"exec-probe": map[string]any{"container": map[string]any{"image": "alpine",
			"command": []any{"sh", "-c", script, "{{$.inputs.parameters['home']}}", "{{$.inputs.parameters['other']}}", "{{$.outputs.parameters['report'].output_file}}"}}}}},
		"pipelineInfo": map[string]any{"name": "probe"},
		"root": map[string]any{
			"inputDefinitions": map[string]any{"parameters": map[string]any{"home": map[string]any{"parameterType": "STRING"}, "other": map[string]any{"parameterType": "STRING"}}},
			"dag": map[string]any{"tasks": map[string]any{"probe": map[string]any{"componentRef": map[string]any{"name": "comp-probe"}, "taskInfo": map[string]any{"name": "probe"},
				"inputs": map[string]any{"parameters": map[string]any{"home": map[string]any{"componentInputParameter": "home"}, "other": map[string]any{"componentInputParameter": "other"}}}}}}},
		"schemaVersion": "2.1.0",
	}
	b, _ := json.Marshal(doc)
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	return spec
}

// outputOf reads a step's output parameter from the run's stored workflow.
func outputOf(t *testing.T, k *kserver, runID, name string) string {
	t.Helper()
	run, err := k.st.GetRun(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	var wf wfv1.Workflow
	if err := json.Unmarshal([]byte(run.Workflow), &wf); err != nil {
		t.Fatal(err)
	}
	for _, n := range wf.Status.Nodes {
		if n.Outputs != nil {
			for _, p := range n.Outputs.Parameters {
				if p.Name == name && p.Value != nil {
					return p.Value.String()
				}
			}
		}
	}
	t.Fatalf("run %s has no output %s", runID, name)
	return ""
}
