package apiserver_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeline/kubeline/runtime/apiserver"
)

const corpus = "../../../shared/kfp-corpus/ir/"

// newServer starts the API on a real loopback listener over SQLite and the
// embedded engine.
func newServer(t *testing.T) string {
	t.Helper()
	return newServerWith(t, nil)
}

// newServerWith also lets the test start the scheduler.
func newServerWith(t *testing.T, with func(*apiserver.Server, context.Context)) string {
	t.Helper()
	return startKubeline(t, serverOptions{with: with}).root + "/apis/v2beta1"
}

type resp struct {
	code int
	body map[string]any
	raw  string
}

func call(t *testing.T, method, u string, body any) resp {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, u, r)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := resp{code: res.StatusCode, raw: string(raw)}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

func upload(t *testing.T, base, path, query string) resp {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("uploadfile", filepath.Base(path))
	fw.Write(data)
	mw.Close()
	res, err := http.Post(base+"/pipelines/upload?"+query, mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := resp{code: res.StatusCode, raw: string(raw)}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

func TestHealthz(t *testing.T) {
	base := newServer(t)
	r := call(t, "GET", base+"/healthz", nil)
	if r.code != 200 || r.body["pipeline_store"] != "database" {
		t.Fatalf("healthz %d %s", r.code, r.raw)
	}
	if r := call(t, "GET", base+"/nope", nil); r.code != 404 || r.body["message"] == nil {
		t.Fatalf("unknown endpoint %d %s", r.code, r.raw)
	}
}

func TestUploadsAndInvalidFiles(t *testing.T) {
	base := newServer(t)
	for _, f := range []string{"valid/hello_world.yaml", "valid/arguments_parameters.zip"} {
		r := upload(t, base, corpus+f, "name="+url.QueryEscape(f))
		if r.code != 200 || r.body["pipeline_id"] == nil {
			t.Fatalf("%s: %d %s", f, r.code, r.raw)
		}
	}
	entries, _ := os.ReadDir(corpus + "invalid")
	for _, e := range entries {
		r := upload(t, base, corpus+"invalid/"+e.Name(), "name=bad-"+e.Name())
		msg, _ := r.body["error_message"].(string)
		if r.code != 400 || msg == "" {
			t.Errorf("%s: %d %s, want 400 with a message", e.Name(), r.code, r.raw)
		}
	}
	if r := upload(t, base, corpus+"valid/hello_world.yaml", "name=valid/hello_world.yaml"); r.code != 409 {
		t.Fatalf("duplicate name: %d %s, want 409", r.code, r.raw)
	}
}

func TestListsPagingAndFilters(t *testing.T) {
	base := newServer(t)
	for i := 0; i < 25; i++ {
		if r := call(t, "POST", base+"/experiments", map[string]any{"display_name": fmt.Sprintf("exp-%02d", i)}); r.code != 200 {
			t.Fatalf("create: %d %s", r.code, r.raw)
		}
	}
	var names []string
	token := ""
	for page := 0; page < 3; page++ {
		r := call(t, "GET", base+"/experiments?page_size=10&sort_by=display_name%20desc&filter=&page_token="+token, nil)
		if r.code != 200 || r.body["total_size"] != float64(25) {
			t.Fatalf("page %d: %d %s", page, r.code, r.raw)
		}
		for _, e := range r.body["experiments"].([]any) {
			names = append(names, e.(map[string]any)["display_name"].(string))
		}
		token, _ = r.body["next_page_token"].(string)
	}
	if len(names) != 25 || names[0] != "exp-24" || names[24] != "exp-00" || token != "" {
		t.Fatalf("3 pages gave %d names (%v ... ), last token %q", len(names), names[:1], token)
	}
	r := call(t, "GET", base+"/experiments?page_size=10&sort_by=display_name", nil)
	if r2 := call(t, "GET", base+"/experiments?page_size=10&sort_by=display_name%20desc&page_token="+r.body["next_page_token"].(string), nil); r2.code != 400 {
		t.Fatalf("mismatched token: %d", r2.code)
	}
	sdk := url.QueryEscape(`{"predicates":[{"operation":1,"key":"display_name","stringValue":"exp-07"}]}`)
	ui := url.QueryEscape(url.QueryEscape(`{"predicates":[{"operation":"IS_SUBSTRING","key":"display_name","string_value":"exp-1"}]}`))
	for filter, want := range map[string]float64{sdk: 1, ui: 10} {
		r := call(t, "GET", base+"/experiments?filter="+filter, nil)
		if r.code != 200 || r.body["total_size"] != want {
			t.Errorf("filter %s: %d %s", filter, r.code, r.raw)
		}
	}
	if r := call(t, "GET", base+"/experiments?page_size=-1", nil); r.code != 400 {
		t.Fatalf("negative page_size: %d", r.code)
	}
	if r := call(t, "POST", base+"/experiments", map[string]any{"display_name": "x", "colour": "blue"}); r.code != 400 {
		t.Fatalf("unknown field: %d %s", r.code, r.raw)
	}
}

// waitRun polls a run until it reaches a final state.
func waitRun(t *testing.T, base, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		r := call(t, "GET", base+"/runs/"+id, nil)
		switch r.body["state"] {
		case "SUCCEEDED", "FAILED", "CANCELED":
			return r.body
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("run %s did not finish", id)
	return nil
}

func TestRunsToSucceededAndFailed(t *testing.T) {
	base := newServer(t)
	p := upload(t, base, "../../examples/hello-params/pipeline.yaml", "name=hello")
	exp := call(t, "POST", base+"/experiments", map[string]any{"display_name": "default"})
	// Only pipeline_id: the latest version runs.
	r := call(t, "POST", base+"/runs", map[string]any{"display_name": "ok", "experiment_id": exp.body["experiment_id"],
		"pipeline_version_reference": map[string]any{"pipeline_id": p.body["pipeline_id"]},
		"runtime_config":             map[string]any{"parameters": map[string]any{"recipient": "api", "repeat": 2}}})
	if r.code != 200 || r.body["finished_at"] != "1970-01-01T00:00:00Z" {
		t.Fatalf("create run: %d %s", r.code, r.raw)
	}
	run := waitRun(t, base, r.body["run_id"].(string))
	if run["state"] != "SUCCEEDED" {
		t.Fatalf("run %v", run)
	}
	tasks := run["run_details"].(map[string]any)["task_details"].([]any)
	found := false
	for _, tk := range tasks {
		m := tk.(map[string]any)
		found = found || (m["display_name"] == "shout" && m["state"] == "SUCCEEDED")
	}
	if !found || len(run["state_history"].([]any)) < 2 {
		t.Fatalf("task_details %v, history %v", tasks, run["state_history"])
	}
	// An inline spec that fails.
	specData, _ := os.ReadFile("../engine/local/testdata/exit.yaml")
	var specJSON map[string]any
	if err := yamlToJSON(specData, &specJSON); err != nil {
		t.Fatal(err)
	}
	r = call(t, "POST", base+"/runs", map[string]any{"display_name": "bad", "pipeline_spec": specJSON})
	if r.code != 200 {
		t.Fatalf("inline run: %d %s", r.code, r.raw)
	}
	if run := waitRun(t, base, r.body["run_id"].(string)); run["state"] != "FAILED" {
		t.Fatalf("failing run ended %v", run["state"])
	}
	list := call(t, "GET", base+"/runs?filter="+url.QueryEscape(`{"predicates":[{"operation":"EQUALS","key":"state","string_value":"FAILED"}]}`), nil)
	if list.body["total_size"] != float64(1) {
		t.Fatalf("FAILED runs: %s", list.raw)
	}
	if r := call(t, "POST", base+"/runs/"+run["run_id"].(string)+":archive", nil); r.code != 200 {
		t.Fatalf("archive: %d %s", r.code, r.raw)
	}
	if r := call(t, "GET", base+"/runs/"+run["run_id"].(string), nil); r.body["storage_state"] != "ARCHIVED" {
		t.Fatalf("after archive: %s", r.raw)
	}
	if r := call(t, "POST", base+"/runs/nope:terminate", nil); r.code != 404 {
		t.Fatalf("terminate unknown run: %d", r.code)
	}
	if r := call(t, "POST", base+"/runs", map[string]any{"display_name": "x"}); r.code != 400 || !strings.Contains(r.raw, "pipeline_version_reference") {
		t.Fatalf("run without a pipeline: %d %s", r.code, r.raw)
	}
}

func TestTerminateAndRetry(t *testing.T) {
	base := newServer(t)
	spec := map[string]any{}
	if err := yamlToJSON([]byte(`components:
  comp-nap: {executorLabel: exec-nap}
deploymentSpec:
  executors:
    exec-nap:
      container: {image: alpine, command: [sh, -c, 'sleep 30']}
pipelineInfo: {name: nap}
root:
  dag:
    tasks:
      nap: {componentRef: {name: comp-nap}, taskInfo: {name: nap}}
schemaVersion: 2.1.0
`), &spec); err != nil {
		t.Fatal(err)
	}
	r := call(t, "POST", base+"/runs", map[string]any{"display_name": "nap", "pipeline_spec": spec})
	id := r.body["run_id"].(string)
	for i := 0; i < 100; i++ {
		if call(t, "GET", base+"/runs/"+id, nil).body["state"] == "RUNNING" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := call(t, "POST", base+"/runs/"+id+":terminate", nil); r.code != 200 {
		t.Fatalf("terminate: %d %s", r.code, r.raw)
	}
	run := waitRun(t, base, id)
	if run["state"] != "CANCELED" {
		t.Fatalf("terminated run ended %v", run["state"])
	}
	var states []string
	for _, h := range run["state_history"].([]any) {
		states = append(states, h.(map[string]any)["state"].(string))
	}
	if strings.Join(states, ",") != "PENDING,RUNNING,CANCELING,CANCELED" {
		t.Fatalf("state history %v", states)
	}
	if r := call(t, "POST", base+"/runs/"+id+":retry", nil); r.code != 200 {
		t.Fatalf("retry: %d %s", r.code, r.raw)
	}
	for i := 0; i < 100; i++ {
		if call(t, "GET", base+"/runs/"+id, nil).body["state"] == "RUNNING" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := call(t, "GET", base+"/runs/"+id, nil); r.body["state"] != "RUNNING" {
		t.Fatalf("retried run is %v", r.body["state"])
	}
	call(t, "POST", base+"/runs/"+id+":terminate", nil)
	waitRun(t, base, id)
	if r := call(t, "POST", base+"/runs/"+id+":terminate", nil); r.code != 400 {
		t.Fatalf("terminating a finished run: %d", r.code)
	}
}

func TestRecurringRuns(t *testing.T) {
	base := newServerWith(t, func(api *apiserver.Server, ctx context.Context) { go api.Schedule(ctx, 100*time.Millisecond) })
	p := upload(t, base, "../../examples/hello-params/pipeline.yaml", "name=hello")
	r := call(t, "POST", base+"/recurringruns", map[string]any{"display_name": "every-second",
		"pipeline_version_reference": map[string]any{"pipeline_id": p.body["pipeline_id"]},
		"trigger":                    map[string]any{"periodic_schedule": map[string]any{"interval_second": 1}},
		"max_concurrency":            "1", "mode": "ENABLE", "no_catchup": true})
	if r.code != 200 || r.body["status"] != "ENABLED" || r.body["max_concurrency"] != "1" {
		t.Fatalf("create: %d %s", r.code, r.raw)
	}
	id := r.body["recurring_run_id"].(string)
	filter := url.QueryEscape(fmt.Sprintf(`{"predicates":[{"operation":"EQUALS","key":"recurring_run_id","string_value":%q}]}`, id))
	count := func() float64 { return call(t, "GET", base+"/runs?filter="+filter, nil).body["total_size"].(float64) }
	deadline := time.Now().Add(10 * time.Second)
	for count() < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := count(); n < 2 {
		t.Fatalf("%v runs fired in 10 s by an every-second schedule", n)
	}
	if r := call(t, "POST", base+"/recurringruns/"+id+":disable", nil); r.code != 200 {
		t.Fatalf("disable: %d %s", r.code, r.raw)
	}
	time.Sleep(300 * time.Millisecond) // a tick in flight may still fire once
	before := count()
	time.Sleep(1500 * time.Millisecond)
	if after := count(); after != before {
		t.Fatalf("a disabled schedule fired: %v -> %v runs", before, after)
	}
	list := call(t, "GET", base+"/recurringruns", nil)
	if _, ok := list.body["recurringRuns"]; !ok || list.body["total_size"] != float64(1) {
		t.Fatalf("list: %s", list.raw)
	}
	if r := call(t, "GET", base+"/recurringruns/"+id, nil); r.body["status"] != "DISABLED" {
		t.Fatalf("after disable: %s", r.raw)
	}
	bad := call(t, "POST", base+"/recurringruns", map[string]any{"display_name": "x",
		"pipeline_version_reference": map[string]any{"pipeline_id": p.body["pipeline_id"]},
		"trigger":                    map[string]any{"cron_schedule": map[string]any{"cron": "not a cron"}}})
	if bad.code != 400 {
		t.Fatalf("invalid cron: %d %s", bad.code, bad.raw)
	}
}

func TestEveryOtherEndpoint(t *testing.T) {
	base := newServer(t)
	// Upload as tar.gz, then a second version, then update both.
	p := uploadTarGz(t, base, "../../examples/word-count/pipeline.yaml", "name=wc")
	if p.code != 200 {
		t.Fatalf("tar.gz upload: %d %s", p.code, p.raw)
	}
	pid := p.body["pipeline_id"].(string)
	if r := call(t, "PATCH", base+"/pipelines/"+pid, map[string]any{"description": "counts words"}); r.code != 200 || r.body["description"] != "counts words" {
		t.Fatalf("patch pipeline: %d %s", r.code, r.raw)
	}
	if r := call(t, "GET", base+"/pipelines/names/wc", nil); r.body["pipeline_id"] != pid {
		t.Fatalf("by name: %s", r.raw)
	}
	vs := call(t, "GET", base+"/pipelines/"+pid+"/versions", nil)
	vid := vs.body["pipeline_versions"].([]any)[0].(map[string]any)["pipeline_version_id"].(string)
	if r := call(t, "PATCH", base+"/pipelines/"+pid+"/versions/"+vid, map[string]any{"display_name": "first"}); r.code != 200 || r.body["display_name"] != "first" {
		t.Fatalf("patch version: %d %s", r.code, r.raw)
	}
	// upload_version adds a second version under pipelineid.
	data, _ := os.ReadFile("../../examples/word-count/pipeline.yaml")
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("uploadfile", "v2.yaml")
	fw.Write(data)
	mw.Close()
	res, err := http.Post(base+"/pipelines/upload_version?name=v2&pipelineid="+pid, mw.FormDataContentType(), &buf)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("upload_version: %v %v", err, res)
	}
	res.Body.Close()
	if r := call(t, "GET", base+"/pipelines/"+pid+"/versions", nil); r.body["total_size"] != float64(2) {
		t.Fatalf("versions after upload_version: %s", r.raw)
	}
	root := strings.TrimSuffix(base, "/v2beta1")
	if r := call(t, "GET", root+"/v1beta1/pipeline_versions/"+vid+"/templates", nil); !strings.Contains(fmt.Sprint(r.body["template"]), "word-count") {
		t.Fatalf("v1 templates: %s", r.raw)
	}
	if r := call(t, "GET", root+"/v1beta1/pipeline_versions?resource_key.type=PIPELINE&resource_key.id="+pid+"&page_size=50&sort_by=created_at%20desc", nil); r.body["total_size"] != float64(2) {
		t.Fatalf("v1 versions: %s", r.raw)
	}
	if r := call(t, "GET", root+"/v1beta1/runs/whatever", nil); r.code != 404 {
		t.Fatalf("v1 run: %d", r.code)
	}
	// Run it and read an artifact back.
	r := call(t, "POST", base+"/runs", map[string]any{"display_name": "wc", "pipeline_version_reference": map[string]any{"pipeline_id": pid, "pipeline_version_id": vid}})
	run := waitRun(t, base, r.body["run_id"].(string))
	if run["state"] != "SUCCEEDED" {
		t.Fatalf("run: %v", run["state"])
	}
	node := ""
	for _, tk := range run["run_details"].(map[string]any)["task_details"].([]any) {
		if m := tk.(map[string]any); m["display_name"] == "write-text" {
			node = m["task_id"].(string)
		}
	}
	a := call(t, "GET", base+"/runs/"+run["run_id"].(string)+"/nodes/"+node+"/artifacts/text:read", nil)
	data, _ = base64.StdEncoding.DecodeString(fmt.Sprint(a.body["data"]))
	if a.code != 200 || !strings.Contains(string(data), "the") {
		t.Fatalf("artifact read: %d %s", a.code, a.raw)
	}
	// Experiments: archive, unarchive, delete.
	e := call(t, "POST", base+"/experiments", map[string]any{"display_name": "e"})
	eid := e.body["experiment_id"].(string)
	for _, action := range []string{":archive", ":unarchive"} {
		if r := call(t, "POST", base+"/experiments/"+eid+action, nil); r.code != 200 {
			t.Fatalf("%s: %d", action, r.code)
		}
	}
	if r := call(t, "DELETE", base+"/experiments/"+eid, nil); r.code != 200 {
		t.Fatalf("delete experiment: %d", r.code)
	}
	if r := call(t, "GET", base+"/experiments/"+eid, nil); r.code != 404 {
		t.Fatalf("deleted experiment: %d", r.code)
	}
	// Version and pipeline deletion, cascade.
	if r := call(t, "DELETE", base+"/pipelines/"+pid, nil); r.code != 409 {
		t.Fatalf("delete pipeline with versions: %d", r.code)
	}
	if r := call(t, "DELETE", base+"/pipelines/"+pid+"?cascade=true", nil); r.code != 200 {
		t.Fatalf("cascade delete: %d %s", r.code, r.raw)
	}
	// The report endpoint updates a run from a reported workflow.
	rep, _ := json.Marshal(map[string]any{"metadata": map[string]any{"name": "x", "annotations": map[string]any{apiserver.AnnotationRunID: run["run_id"]}},
		"status": map[string]any{"phase": "Failed", "message": "reported"}})
	if r := call(t, "POST", base+"/workflows", map[string]any{"workflow": string(rep)}); r.code != 200 {
		t.Fatalf("report: %d %s", r.code, r.raw)
	}
	if r := call(t, "GET", base+"/runs/"+run["run_id"].(string), nil); r.body["state"] != "FAILED" {
		t.Fatalf("after report: %v", r.body["state"])
	}
	if r := call(t, "DELETE", base+"/runs/"+run["run_id"].(string), nil); r.code != 200 {
		t.Fatalf("delete run: %d", r.code)
	}
	if r := call(t, "GET", base+"/runs/"+run["run_id"].(string), nil); r.code != 404 {
		t.Fatalf("deleted run: %d", r.code)
	}
	for _, ep := range []string{"/scheduledworkflows", "/visualizations/default"} {
		if r := call(t, "POST", base+ep, map[string]any{}); r.code != 400 || r.body["message"] == nil {
			t.Fatalf("%s: %d %s", ep, r.code, r.raw)
		}
	}
	if r := call(t, "GET", base+"/auth", nil); r.code != 200 {
		t.Fatalf("auth: %d", r.code)
	}
	if r := call(t, "GET", base+"/filters?filter="+url.QueryEscape(`{"predicates":[{"operation":1,"key":"a","stringValue":"b"}]}`), nil); r.code != 200 {
		t.Fatalf("filters: %d %s", r.code, r.raw)
	}
}

func uploadTarGz(t *testing.T, base, path, query string) resp {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tgz bytes.Buffer
	gz := gzip.NewWriter(&tgz)
	tw := tar.NewWriter(gz)
	tw.WriteHeader(&tar.Header{Name: "pipeline.yaml", Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
	tw.Write(data)
	tw.Close()
	gz.Close()
	dir := t.TempDir()
	f := filepath.Join(dir, "pipeline.tar.gz")
	os.WriteFile(f, tgz.Bytes(), 0o644)
	return upload(t, base, f, query)
}
