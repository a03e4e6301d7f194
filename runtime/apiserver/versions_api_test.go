package apiserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/artifact/s3test"
)

// newVersionedServer starts the API with its artifacts and versions in
// objects (or the local artifact directory when nil).
func newVersionedServer(t *testing.T, objects artifact.Store) string {
	t.Helper()
	return startKubeline(t, serverOptions{objects: objects}).root
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
		{"GET", "/apis/kubeline/v1/models/nope/versions", nil, 404, `model \"nope\": not found`},
		{"GET", "/apis/kubeline/v1/models/m/versions/v1/lineage?format=png", nil, 400, "format"},
		{"POST", "/apis/v2beta1/runs", map[string]any{"display_name": "x", "pipeline_version_reference": map[string]any{"pipeline_id": pid},
			"runtime_config": map[string]any{"parameters": map[string]any{"data": "dataset://d@v9"}}}, 400, "dataset d@v9"},
		{"POST", "/apis/v2beta1/runs", map[string]any{"display_name": "x", "pipeline_version_reference": map[string]any{"pipeline_id": pid},
			"runtime_config": map[string]any{"parameters": map[string]any{"kubeline.io/version:trian.model": "model:m"}}}, 400,
			`trian.model=model:m: the pipeline has no task \"trian\" (tasks: evaluate, importer, train)`},
		{"POST", "/apis/v2beta1/runs", map[string]any{"display_name": "x", "pipeline_version_reference": map[string]any{"pipeline_id": pid},
			"runtime_config": map[string]any{"parameters": map[string]any{"kubeline.io/version:train.modl": "model:m"}}}, 400,
			`train.modl=model:m: task train has no output artifact \"modl\" (its output artifacts: model)`},
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

// s3Store is a bucket on a fresh versitygw.
func s3Store(t *testing.T) (*artifact.S3, *s3test.Gateway) {
	t.Helper()
	gw := s3test.Start(t)
	s, err := artifact.NewS3(artifact.S3Config{Endpoint: gw.Endpoint, Bucket: "mlpipeline", AccessKey: gw.Access, SecretKey: gw.Secret, Region: gw.Region})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, gw
}

// TestVersionsOverS3 is issue 5's end-to-end scenario with every artifact,
// version and experiment record in a real S3 server.
func TestVersionsOverS3(t *testing.T) {
	s, _ := s3Store(t)
	versionsAcceptance(t, newVersionedServer(t, s))
	objs, err := s.List(context.Background(), "kubeline/versions/models/m/")
	var content, index []string
	for _, o := range objs {
		if o.SHA256 == "" {
			t.Fatalf("object %+v has no sha256", o)
		}
		if strings.HasSuffix(o.Key, ".json") {
			index = append(index, o.Key)
		} else if strings.HasSuffix(o.Key, "/"+o.SHA256) { // content-addressed
			content = append(content, o.Key)
		}
	}
	if err != nil || len(content) != 2 || len(index) != 2 {
		t.Fatalf("model m in S3: content %v, index %v (%v)", content, index, err)
	}
}

// TestS3StoppedMidRun: the S3 server dies while a step trains; the run ends
// FAILED naming the artifact and the store, no version is created and
// nothing is half-written; once the server is back, a retry succeeds.
func TestS3StoppedMidRun(t *testing.T) {
	s, gw := s3Store(t)
	base := newVersionedServer(t, s)
	api := base + "/apis/v2beta1"
	p := upload(t, api, "testdata/slow_model.yaml", "name=slow")
	r := call(t, "POST", api+"/runs", map[string]any{"display_name": "slow",
		"pipeline_version_reference": map[string]any{"pipeline_id": p.body["pipeline_id"]}})
	if r.code != 200 {
		t.Fatalf("create run: %d %s", r.code, r.raw)
	}
	id := r.body["run_id"].(string)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(call(t, "GET", api+"/runs/"+id, nil).raw, `"RUNNING"`) {
		if time.Now().After(deadline) {
			t.Fatal("the run never ran")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the step is training
	gw.Stop()
	run := waitRun(t, api, id)
	msg := fmt.Sprint(run["error"], run["run_details"])
	if run["state"] != "FAILED" || !strings.Contains(msg, "/model") || !strings.Contains(msg, "minio://mlpipeline at "+gw.Endpoint) {
		t.Fatalf("run with the store gone: %v\n%s", run["state"], msg)
	}
	t.Logf("the run failed with: %v", run["error"])
	gw.Restart()
	if v := call(t, "GET", base+"/apis/kubeline/v1/models/m/versions", nil); v.code != 404 {
		t.Fatalf("a failed run made a version: %d %s", v.code, v.raw)
	}
	// Nothing half-written: no output, no version, no staged upload.
	objs, err := s.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if strings.HasSuffix(o.Key, "/model/data") || strings.Contains(o.Key, "kubeline/versions/") || strings.Contains(o.Key, ".kubeline/") {
			t.Fatalf("left in the store after the failure: %s (%d bytes)", o.Key, o.Size)
		}
	}
	if rr := call(t, "POST", api+"/runs/"+id+":retry", nil); rr.code != 200 {
		t.Fatalf("retry: %d %s", rr.code, rr.raw)
	}
	if run := waitRun(t, api, id); run["state"] != "SUCCEEDED" {
		t.Fatalf("retry after the store came back: %v %v", run["state"], run["error"])
	}
	v := call(t, "GET", base+"/apis/kubeline/v1/models/m/versions/latest", nil)
	if v.code != 200 || v.body["version"] != 1.0 || v.body["size_bytes"] != 7340032.0 {
		t.Fatalf("m after the retry: %d %s", v.code, v.raw)
	}
}
