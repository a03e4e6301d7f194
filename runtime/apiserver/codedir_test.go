package apiserver_test

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// codeProbe is a one-step pipeline whose step takes a code version as its
// parameter code: it reads $KUBELINE_CODE_DIR/train.sh and tries to change
// the tree, reporting what it could do.
func codeProbe(t *testing.T) map[string]any {
	t.Helper()
	const script = `out=$0; r="dir=$(test -d "$KUBELINE_CODE_DIR" && echo yes) script=$(cat "$KUBELINE_CODE_DIR/train.sh")"
echo changed 2>/dev/null > "$KUBELINE_CODE_DIR/train.sh" && r="$r WROTE"
touch "$KUBELINE_CODE_DIR/new" 2>/dev/null && r="$r CREATED"
rm -f "$KUBELINE_CODE_DIR/train.sh" 2>/dev/null; test -e "$KUBELINE_CODE_DIR/train.sh" || r="$r REMOVED"
printf '%s' "$r" > "$out"`
	doc := map[string]any{
		"components": map[string]any{"comp-probe": map[string]any{"executorLabel": "exec-probe",
			"inputDefinitions":  map[string]any{"parameters": map[string]any{"code": map[string]any{"parameterType": "STRING"}}},
			"outputDefinitions": map[string]any{"parameters": map[string]any{"report": map[string]any{"parameterType": "STRING"}}}}},
		"deploymentSpec": map[string]any{"executors": map[string]any{"exec-probe": map[string]any{"container": map[string]any{"image": "alpine",
			"command": []any{"sh", "-c", script, "{{$.outputs.parameters['report'].output_file}}"}}}}},
		"pipelineInfo": map[string]any{"name": "code-probe"},
		"root": map[string]any{
			"inputDefinitions": map[string]any{"parameters": map[string]any{"code": map[string]any{"parameterType": "STRING"}}},
			"dag": map[string]any{"tasks": map[string]any{"probe": map[string]any{"componentRef": map[string]any{"name": "comp-probe"}, "taskInfo": map[string]any{"name": "probe"},
				"inputs": map[string]any{"parameters": map[string]any{"code": map[string]any{"componentInputParameter": "code"}}}}}}},
		"schemaVersion": "2.1.0",
	}
	b, _ := json.Marshal(doc)
	spec := map[string]any{}
	require.NoError(t, json.Unmarshal(b, &spec))
	return spec
}

// uploadCodeTree uploads a directory (as a tar archive) as a version of
// code name.
func uploadCodeTree(t *testing.T, k *kserver, name, token string, files map[string]string) resp {
	t.Helper()
	var entries []entry
	for n, body := range files {
		entries = append(entries, entry{name: n, body: body, kind: tar.TypeReg})
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("uploadfile", name+".tar")
	fw.Write(tarOf(t, entries...))
	mw.Close()
	req, _ := http.NewRequest("POST", k.kl()+"/code/"+name+"/versions:upload?archive=tar", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	return send(t, req)
}

// TestCodeDirSandboxed: on a multi-user server's embedded engine a step
// given code://app@v1 finds the tree at $KUBELINE_CODE_DIR inside its
// sandbox, read-only — it can neither change, add nor remove a file — and
// the version's content is unchanged after; the run's usage of app@v1 is
// recorded.
func TestCodeDirSandboxed(t *testing.T) {
	h := newHostile(t, serverOptions{sandboxed: true})
	r := uploadCodeTree(t, h.k, "app", h.tok["a-ds"], map[string]string{"train.sh": "echo v1", "lib/util.sh": "true"})
	require.Equal(t, 200, r.code, r.raw)
	digest := r.body["sha256"]
	run := h.run(t, "a-ml", map[string]any{"pipeline_spec": codeProbe(t), "runtime_config": map[string]any{"parameters": map[string]any{"code": "code://app@v1"}}})
	require.Equal(t, "SUCCEEDED", run["state"], "%v", run["error"])
	report := outputOf(t, h.k, run["run_id"].(string), "report")
	assert.Equal(t, "dir=yes script=echo v1", report, "the step changed its code tree")

	again := h.as("a-ds", "GET", h.k.kl()+"/code/app/versions/v1", nil)
	assert.Equal(t, digest, again.body["sha256"])
	usage := h.as("a-ds", "GET", h.k.kl()+"/code/app/versions/v1/usage", nil)
	require.Equal(t, 200, usage.code, usage.raw)
	assert.True(t, strings.Contains(usage.raw, `"how":"used"`) && strings.Contains(usage.raw, `"task":"probe"`), usage.raw)
	// And the lineage of app@v1 leads to the probe task.
	lin := h.as("a-ds", "GET", h.k.kl()+"/code/app/versions/v1/lineage", nil)
	assert.Contains(t, lin.raw, `"label":"probe"`)
}
