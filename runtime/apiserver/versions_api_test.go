package apiserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/compiler"
	"github.com/kubeline/kubeline/compiler/spec"
	"github.com/kubeline/kubeline/runtime/apiserver"
	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/engine/local"
	"github.com/kubeline/kubeline/runtime/store"
)

// newVersionedServer starts the API with versions kept in objects (or the
// local artifact directory when objects is nil).
func newVersionedServer(t *testing.T, objects artifact.Store) string {
	t.Helper()
	home := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(home, "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	if objects == nil {
		objects = artifact.Dir{Root: filepath.Join(home, "artifacts")}
	}
	ctx, cancel := context.WithCancel(context.Background())
	runner := local.NewRunner(local.Options{Home: home, Store: objects})
	compile := func(name string, data []byte, params map[string]string) (*wfv1.Workflow, error) {
		return compiler.Compile(name, data, compiler.Options{Params: params})
	}
	api := apiserver.New(ctx, st, runner, compile, spec.Unpack, "test").
		WithVersions(&artifact.Versioner{Objects: objects, Records: st})
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(func() {
		srv.Close()
		cancel()
		api.Wait()
		st.Close()
	})
	return srv.URL
}

func uploadVersion(t *testing.T, base, kind, name, content string) resp {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("uploadfile", "rows.txt")
	io.WriteString(fw, content)
	mw.Close()
	res, err := http.Post(base+"/apis/kubeline/v1/"+kind+"s/"+name+"/versions:upload", mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := resp{code: res.StatusCode, raw: string(raw)}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

// runTrain runs examples/train-model through the KFP API and waits for it.
func runTrain(t *testing.T, base, pipelineID string, params map[string]any) map[string]any {
	t.Helper()
	r := call(t, "POST", base+"/apis/v2beta1/runs", map[string]any{"display_name": "train",
		"pipeline_version_reference": map[string]any{"pipeline_id": pipelineID},
		"runtime_config":             map[string]any{"parameters": params}})
	if r.code != 200 {
		t.Fatalf("create run: %d %s", r.code, r.raw)
	}
	return waitRun(t, base+"/apis/v2beta1", r.body["run_id"].(string))
}

// versionsAcceptance is issue 5's end-to-end scenario over the API, on the
// embedded engine with the given artifact store.
func versionsAcceptance(t *testing.T, base string) {
	if r := uploadVersion(t, base, "dataset", "d", "a\nb\nc\nd\n"); r.code != 200 || r.body["version"] != 1.0 {
		t.Fatalf("upload d: %d %s", r.code, r.raw)
	}
	p := upload(t, base+"/apis/v2beta1", "../../examples/train-model/pipeline.yaml", "name=train")
	pid := p.body["pipeline_id"].(string)
	runs := []map[string]any{
		runTrain(t, base, pid, map[string]any{"lr": 0.1}),
		runTrain(t, base, pid, map[string]any{"lr": 0.2}),
		runTrain(t, base, pid, map[string]any{"lr": 0.2}),
		runTrain(t, base, pid, map[string]any{"lr": 0.3, "fail": true}),
	}
	for i, want := range []string{"SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "FAILED"} {
		if runs[i]["state"] != want {
			t.Fatalf("run %d: %v, want %s", i, runs[i]["state"], want)
		}
	}
	vs := call(t, "GET", base+"/apis/kubeline/v1/models/m/versions", nil)
	if vs.code != 200 || vs.body["total_size"] != 2.0 {
		t.Fatalf("model versions: %d %s", vs.code, vs.raw)
	}
	v2 := call(t, "GET", base+"/apis/kubeline/v1/models/m/versions/latest", nil)
	if v2.body["version"] != 2.0 || v2.body["run_id"] != runs[1]["run_id"] || !strings.Contains(v2.raw, `"name":"accuracy"`) {
		t.Fatalf("m@latest: %s", v2.raw)
	}
	lin := call(t, "GET", base+"/apis/kubeline/v1/models/m/versions/v2/lineage", nil)
	if lin.code != 200 || !strings.Contains(lin.raw, `"id":"dataset:d@v1"`) || !strings.Contains(lin.raw, `"lr":"0.2"`) || strings.Contains(lin.raw, `"lr":"0.1"`) {
		t.Fatalf("lineage of m@v2: %d %s", lin.code, lin.raw)
	}
	usage := call(t, "GET", base+"/apis/kubeline/v1/datasets/d/versions/1/usage", nil)
	for _, r := range runs {
		if !strings.Contains(usage.raw, r["run_id"].(string)) {
			t.Fatalf("usage of d@v1 lacks run %s: %s", r["run_id"], usage.raw)
		}
	}
	res, err := http.Get(base + "/apis/kubeline/v1/datasets/d/versions/v1/lineage?format=svg")
	if err != nil {
		t.Fatal(err)
	}
	svg, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.Header.Get("Content-Type") != "image/svg+xml" || !bytes.HasPrefix(svg, []byte("<svg")) || !bytes.Contains(svg, []byte("model m@v2")) {
		t.Fatalf("SVG lineage: %s %.200s", res.Header.Get("Content-Type"), svg)
	}
	metrics := call(t, "GET", base+"/apis/kubeline/v1/runs/"+runs[0]["run_id"].(string)+"/metrics", nil)
	if !strings.Contains(metrics.raw, `"accuracy"`) {
		t.Fatalf("metrics: %s", metrics.raw)
	}
	for _, bad := range []struct {
		method, path string
		body         any
		code         int
		want         string
	}{
		{"GET", "/apis/kubeline/v1/models/m/versions/v3", nil, 404, "not found"},
		{"GET", "/apis/kubeline/v1/models/m/versions/v0", nil, 400, "versions start at v1"},
		{"GET", "/apis/kubeline/v1/models/nope/versions", nil, 404, "no model named"},
		{"GET", "/apis/kubeline/v1/models/m/versions/v1/lineage?format=png", nil, 400, "format"},
		{"POST", "/apis/v2beta1/runs", map[string]any{"display_name": "x", "pipeline_version_reference": map[string]any{"pipeline_id": pid},
			"runtime_config": map[string]any{"parameters": map[string]any{"data": "dataset://d@v9"}}}, 400, "dataset d@v9"},
	} {
		r := call(t, bad.method, base+bad.path, bad.body)
		if r.code != bad.code || !strings.Contains(r.raw, bad.want) {
			t.Errorf("%s %s: %d %s, want %d with %q", bad.method, bad.path, r.code, r.raw, bad.code, bad.want)
		}
	}
}

func TestVersionsOverAPI(t *testing.T) {
	versionsAcceptance(t, newVersionedServer(t, nil))
}
