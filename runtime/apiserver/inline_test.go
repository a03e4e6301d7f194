package apiserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/kubeline/kubeline/compiler/spec"
	"github.com/kubeline/kubeline/runtime/admission"
)

// holdEngine takes every submitted workflow and never runs it: the
// property below is about what is compiled, and the corpus's commands
// (images kubeline would run as host processes) are not meant to run here.
// It says so instead of faking a run: Watch ends at once, runs stay PENDING.
type holdEngine struct {
	mu        sync.Mutex
	submitted int
}

func (h *holdEngine) Submit(_ context.Context, wf *wfv1.Workflow) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.submitted++
	return wf.Name, nil
}

func (h *holdEngine) Watch(context.Context, string) (<-chan *wfv1.Workflow, error) {
	ch := make(chan *wfv1.Workflow)
	close(ch)
	return ch, nil
}

func (h *holdEngine) Stop(context.Context, string) error { return nil }

// clientJSON converts a pipeline file as the kfp SDK does before sending it
// inline: each YAML document loaded, the pair of a spec and its platform
// spec as {"pipeline_spec": ..., "platform_spec": ...}.
func clientJSON(t *testing.T, data []byte) (json.RawMessage, map[string]any) {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []map[string]any
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
	var body any = docs[0]
	if len(docs) > 1 {
		body = map[string]any{"pipeline_spec": docs[0], "platform_spec": docs[1]}
	}
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return b, docs[0]
}

// requiredValues gives a value to every root parameter that has no default
// and is not optional, by its type.
func requiredValues(spec map[string]any) map[string]any {
	out := map[string]any{}
	root, _ := spec["root"].(map[string]any)
	defs, _ := root["inputDefinitions"].(map[string]any)
	params, _ := defs["parameters"].(map[string]any)
	for name, p := range params {
		def, _ := p.(map[string]any)
		if _, ok := def["defaultValue"]; ok || def["isOptional"] == true {
			continue
		}
		switch def["parameterType"] {
		case "NUMBER_INTEGER":
			out[name] = 3
		case "NUMBER_DOUBLE":
			out[name] = 1.5
		case "BOOLEAN":
			out[name] = true
		case "LIST":
			out[name] = []any{"a", "b"}
		case "STRUCT":
			out[name] = map[string]any{"a": 1}
		default:
			out[name] = "value"
		}
	}
	return out
}

func rel(f string) string { return strings.TrimPrefix(f, corpus) }

// manifest is the workflow the server compiled for a run, as the v1 run
// detail shows it, without the per-run annotation.
func manifest(t *testing.T, root, runID string) string {
	t.Helper()
	r := call(t, "GET", root+"/apis/v1beta1/runs/"+runID, nil)
	rt, _ := r.body["pipeline_runtime"].(map[string]any)
	m, _ := rt["workflow_manifest"].(string)
	if r.code != 200 || m == "" {
		t.Fatalf("v1 run %s: %d %s", runID, r.code, r.raw)
	}
	var wf wfv1.Workflow
	if err := json.Unmarshal([]byte(m), &wf); err != nil {
		t.Fatal(err)
	}
	delete(wf.Annotations, "kubeline.io/run-id")
	b, _ := json.MarshalIndent(&wf, "", " ")
	return string(b)
}

// TestInlineSpecCompilesAsUploaded is the property that an inline spec
// travels as it came: every corpus pipeline, sent inline to POST /runs the
// way the kfp SDK sends it and uploaded as a file then run by version,
// compiles to the identical workflow (read back from GET
// /apis/v1beta1/runs/{id}). Files kubeline rejects are rejected both ways.
func TestInlineSpecCompilesAsUploaded(t *testing.T) {
	hold := &holdEngine{}
	k := startKubeline(t, serverOptions{engine: hold, cluster: []admission.ClusterNode{{Name: "n1", GPUType: "nvidia.com/gpu", GPUs: 64}}})
	base := k.kfp()
	var files []string
	for _, dir := range []string{"valid", "argo_compatibility"} {
		err := filepath.WalkDir(filepath.Join(corpus, dir), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(files) < 150 {
		t.Fatalf("found %d corpus files, want 150+", len(files))
	}
	compared := 0
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if data, err = spec.Unpack(filepath.Base(f), data); err != nil { // the SDK sends an archive's pipeline.yaml
			t.Fatal(err)
		}
		inline, doc := clientJSON(t, data)
		params := requiredValues(doc)
		up := upload(t, base, f, "name="+url.QueryEscape(rel(f)))
		in := call(t, "POST", base+"/runs", map[string]any{"display_name": name + " inline", "pipeline_spec": inline,
			"runtime_config": map[string]any{"parameters": params}})
		if up.code != 200 {
			if in.code != 400 {
				t.Errorf("%s: upload refused (%d %s) but the inline spec gave %d %s", name, up.code, up.raw, in.code, in.raw)
			}
			continue
		}
		if in.code != 200 {
			t.Errorf("%s: uploaded, but the inline spec was refused: %d %s", name, in.code, in.raw)
			continue
		}
		byVersion := call(t, "POST", base+"/runs", map[string]any{"display_name": name + " uploaded",
			"pipeline_version_reference": map[string]any{"pipeline_id": up.body["pipeline_id"]},
			"runtime_config":             map[string]any{"parameters": params}})
		if byVersion.code != 200 {
			t.Errorf("%s: run of the uploaded version: %d %s", name, byVersion.code, byVersion.raw)
			continue
		}
		if diff := cmp.Diff(manifest(t, k.root, byVersion.body["run_id"].(string)), manifest(t, k.root, in.body["run_id"].(string))); diff != "" {
			t.Errorf("%s: the inline spec compiled differently from the upload (-uploaded +inline):\n%s", name, diff)
		}
		compared++
	}
	if compared < 140 {
		t.Fatalf("compared %d pipelines, want 140+", compared)
	}
	t.Logf("%d corpus pipelines compile alike inline and uploaded; %d workflows submitted", compared, hold.submitted)
}

// TestRunErrorsInAPIWords: a run's bad parameters are named by their place
// in the API (runtime_config.parameters[NAME]), not by the CLI's flag, and
// a v1 run detail marks a v2 run the way the UI's compare page checks.
func TestRunErrorsInAPIWords(t *testing.T) {
	k := startKubeline(t, serverOptions{engine: &holdEngine{}})
	base := k.kfp()
	data, err := os.ReadFile("../../examples/hello-params/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	inline, doc := clientJSON(t, data)
	// The same pipeline with a parameter that has no default.
	params := doc["root"].(map[string]any)["inputDefinitions"].(map[string]any)["parameters"].(map[string]any)
	delete(params["recipient"].(map[string]any), "isOptional")
	delete(params["recipient"].(map[string]any), "defaultValue")
	required, _ := json.Marshal(doc)
	for _, c := range []struct {
		spec   json.RawMessage
		params map[string]any
		want   string
	}{
		{inline, map[string]any{"nope": "x"}, `run: runtime_config.parameters[nope]: the pipeline has no parameter "nope"`},
		{required, nil, `run.runtime_config.parameters[recipient]: the pipeline needs a value`},
		// Values are checked against the declared types when the run is made (#26.6).
		{inline, map[string]any{"repeat": "abc"}, `run: runtime_config.parameters[repeat]: "abc" is not an integer: the pipeline declares repeat NUMBER_INTEGER`},
		{inline, map[string]any{"repeat": 2.5}, `runtime_config.parameters[repeat]: "2.5" is not an integer`},
	} {
		r := call(t, "POST", base+"/runs", map[string]any{"display_name": "bad", "pipeline_spec": c.spec,
			"runtime_config": map[string]any{"parameters": c.params}})
		if msg, _ := r.body["message"].(string); r.code != 400 || !strings.Contains(msg, c.want) || strings.Contains(msg, "--param") {
			t.Errorf("params %v: got %d %s, want 400 with %q", c.params, r.code, r.raw, c.want)
		}
	}
	r := call(t, "POST", base+"/runs", map[string]any{"display_name": "ok", "pipeline_spec": inline,
		"runtime_config": map[string]any{"parameters": map[string]any{"repeat": 2}}})
	if r.code != 200 {
		t.Fatalf("run: %d %s", r.code, r.raw)
	}
	v1 := call(t, "GET", k.root+"/apis/v1beta1/runs/"+r.body["run_id"].(string), nil)
	run, _ := v1.body["run"].(map[string]any)
	ps, _ := run["pipeline_spec"].(map[string]any)
	if manifest, _ := ps["pipeline_manifest"].(string); !strings.Contains(manifest, `"pipelineInfo"`) || run["status"] != "Pending" ||
		run["storage_state"] != "STORAGESTATE_AVAILABLE" {
		t.Errorf("v1 run detail: %s", v1.raw)
	}
	if r := call(t, "GET", k.root+"/apis/v1beta1/runs/nope", nil); r.code != 404 {
		t.Errorf("v1 run of an unknown id: %d %s", r.code, r.raw)
	}
}
