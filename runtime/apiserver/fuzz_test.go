package apiserver_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/compiler"
	"github.com/kubeline/kubeline/compiler/spec"
	"github.com/kubeline/kubeline/runtime/apiserver"
	"github.com/kubeline/kubeline/runtime/store"
)

// The fuzz targets send fuzzed requests to the API server as a client
// does, over a real loopback listener, and fail on any 5xx or panic. The
// server is the real one (SQLite store, the compiler) except for its
// engine: heldEngine accepts workflows and runs nothing, because a fuzzed
// run body that compiles must not execute a fuzzed command on this
// machine.

// heldEngine is an engine.Engine whose workflows never start.
type heldEngine struct{}

func (heldEngine) Submit(_ context.Context, wf *wfv1.Workflow) (string, error) { return wf.Name, nil }
func (heldEngine) Watch(context.Context, string) (<-chan *wfv1.Workflow, error) {
	return make(chan *wfv1.Workflow), nil
}
func (heldEngine) Stop(context.Context, string) error { return nil }

var (
	fuzzOnce sync.Once
	fuzzURL  string
	fuzzIDs  struct{ pipeline, version, experiment string }
)

// fuzzServer starts one server per fuzz worker (over an in-memory SQLite store), with a pipeline, a version
// and an experiment to refer to.
func fuzzServer(t testing.TB) string {
	fuzzOnce.Do(func() {
		st, err := store.Open(context.Background(), ":memory:") // SQLite, in this process's memory

		if err != nil {
			t.Fatal(err)
		}
		compile := func(name string, data []byte, params, images map[string]string) (*wfv1.Workflow, error) {
			return compiler.Compile(name, data, compiler.Options{Params: params, Images: images, DeferImages: images == nil})
		}
		api := apiserver.New(context.Background(), st, heldEngine{}, compile, spec.Unpack, "fuzz")
		fuzzURL = httptest.NewServer(api.Handler()).URL + "/apis/v2beta1"
		p := &store.Pipeline{Name: "p", DisplayName: "p"}
		v := &store.PipelineVersion{Name: "v", DisplayName: "v", Spec: helloSpec}
		if err := st.CreatePipeline(context.Background(), p, v); err != nil {
			t.Fatal(err)
		}
		e := &store.Experiment{Name: "e"}
		if err := st.CreateExperiment(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		fuzzIDs.pipeline, fuzzIDs.version, fuzzIDs.experiment = p.ID, v.ID, e.ID
		for i := 0; i < 5; i++ {
			if err := st.CreateRun(context.Background(), &store.Run{DisplayName: fmt.Sprint("r", i), State: "SUCCEEDED",
				PipelineID: p.ID, PipelineVersionID: v.ID}); err != nil {
				t.Fatal(err)
			}
		}
	})
	if fuzzURL == "" {
		t.Fatal("no fuzz server")
	}
	return fuzzURL
}

const helloSpec = `components:
  comp-hi:
    executorLabel: exec-hi
deploymentSpec:
  executors:
    exec-hi:
      container: {image: alpine, command: [echo, hi]}
pipelineInfo: {name: hi}
root:
  dag:
    tasks:
      hi:
        componentRef: {name: comp-hi}
        taskInfo: {name: hi}
schemaVersion: 2.1.0
`

// check fails on a 5xx answer.
func check(t *testing.T, res *http.Response, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode >= 500 {
		t.Fatalf("%s: %d %s", what, res.StatusCode, b)
	}
}

// FuzzListRequest fuzzes a list's query: filter, page_token, page_size and
// sort_by, on each list route.
func FuzzListRequest(f *testing.F) {
	tok := func(v string) string {
		return base64.RawURLEncoding.EncodeToString([]byte(`{"s":"created_at false","f":"null","v":` + v + `,"i":"x"}`))
	}
	f.Add(uint8(0), `{"predicates":[{"key":"state","operation":"EQUALS","string_value":"SUCCEEDED"}]}`, "", "10", "")
	f.Add(uint8(1), `{"predicates":[{"key":"name","op":8,"stringValues":{"values":["a","b"]}}]}`, "", "", "name desc")
	f.Add(uint8(2), `%7B%22predicates%22%3A%5B%5D%7D`, tok(`1700000000000`), "2", "created_at")
	f.Add(uint8(0), `{"predicates":[{"key":"created_at","operation":"GREATER_THAN","timestamp_value":"2024-01-01T00:00:00Z"}]}`, tok(`{"a":1}`), "1.5", "")
	f.Add(uint8(3), `{"predicates":[{"key":"storage_state","operation":"NOT_EQUALS","int_value":"3"}]}`, tok(`[1]`), "0x10", "display_name asc")
	f.Add(uint8(1), `{"predicates":[{"key":"x","operation":"IS_SUBSTRING","string_value":"%_\\"}]} trailing`, "!!", "-1", "nope")
	routes := []string{"/runs", "/experiments", "/pipelines", "/recurringruns", "/pipelines/{p}/versions", "/filters"}
	f.Fuzz(func(t *testing.T, route uint8, filter, pageToken, pageSize, sortBy string) {
		base := fuzzServer(t)
		path := strings.ReplaceAll(routes[int(route)%len(routes)], "{p}", fuzzIDs.pipeline)
		q := url.Values{"filter": {filter}, "page_token": {pageToken}, "page_size": {pageSize}, "sort_by": {sortBy}}
		res, err := http.Get(base + path + "?" + q.Encode())
		check(t, res, err, "GET "+path)
	})
}

// FuzzJSONBody fuzzes the JSON body of each JSON route that creates or
// changes something.
func FuzzJSONBody(f *testing.F) {
	f.Add(uint8(0), []byte(`{"display_name":"e","description":"d"}`))
	f.Add(uint8(1), []byte(`{"display_name":"r","pipeline_version_reference":{"pipeline_id":"{p}","pipeline_version_id":"{v}"},"runtime_config":{"parameters":{"a":1}}}`))
	f.Add(uint8(1), []byte(`{"display_name":"r","pipeline_spec":{"pipelineInfo":{"name":"x"},"root":{}},"experiment_id":"{e}"}`))
	f.Add(uint8(2), []byte(`{"display_name":"rr","max_concurrency":"2","trigger":{"periodic_schedule":{"interval_second":"60"}},"pipeline_version_reference":{"pipeline_id":"{p}"}}`))
	f.Add(uint8(2), []byte(`{"display_name":"rr","max_concurrency":1.5,"trigger":{"cron_schedule":{"cron":"* * * * * *","start_time":"2024-01-01T00:00:00Z"}}}`))
	f.Add(uint8(3), []byte(`{"name":"p2","display_name":"p\u0000"}`))
	f.Add(uint8(4), []byte(`{"pipeline":{"name":"p3"},"pipeline_version":{"name":"v","pipeline_spec":{"pipeline_spec":{"pipelineInfo":{"name":"x"}},"platform_spec":{}}}}`))
	f.Add(uint8(5), []byte(`{"name":"v2","pipeline_spec":{"components":{}}}`))
	f.Add(uint8(6), []byte(`{"display_name":"renamed"} {}`))
	f.Add(uint8(7), []byte(`{"display_name":"x"}`))
	routes := []struct{ method, path string }{
		{"POST", "/experiments"}, {"POST", "/runs"}, {"POST", "/recurringruns"}, {"POST", "/pipelines"},
		{"POST", "/pipelines/create"}, {"POST", "/pipelines/{p}/versions"}, {"PATCH", "/pipelines/{p}"},
		{"PATCH", "/pipelines/{p}/versions/{v}"},
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		base := fuzzServer(t)
		r := routes[int(route)%len(routes)]
		ids := strings.NewReplacer("{p}", fuzzIDs.pipeline, "{v}", fuzzIDs.version, "{e}", fuzzIDs.experiment)
		body = []byte(ids.Replace(string(body)))
		req, _ := http.NewRequest(r.method, base+ids.Replace(r.path), bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		check(t, res, err, r.method+" "+r.path)
	})
}

// FuzzUpload fuzzes an uploaded pipeline file (YAML, JSON, .zip, .tar.gz)
// and the query naming it.
func FuzzUpload(f *testing.F) {
	f.Add([]byte(helloSpec), "name=a")
	f.Add([]byte("a: &x [1, *x]\n"), "")
	f.Add([]byte("PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), "display_name=%FF")
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255}, "name=x&description=y")
	f.Fuzz(func(t *testing.T, data []byte, query string) {
		base := fuzzServer(t)
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("uploadfile", "pipeline.yaml")
		fw.Write(data)
		mw.Close()
		// Any bytes reach the server, as a client that encodes them sends
		// them (a raw control character is no URL at all).
		q, _ := url.ParseQuery(query)
		res, err := http.Post(base+"/pipelines/upload?"+q.Encode(), mw.FormDataContentType(), &buf)
		check(t, res, err, "upload")
	})
}
