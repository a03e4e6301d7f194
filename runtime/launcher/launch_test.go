package launcher

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kubeflow/pipelines/api/v2alpha1/go/pipelinespec"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
)

// iface decodes a component interface written as KFP JSON.
func iface(t *testing.T, s string) *pipelinespec.ComponentSpec {
	t.Helper()
	c := &pipelinespec.ComponentSpec{}
	if err := protojson.Unmarshal([]byte(s), c); err != nil {
		t.Fatal(err)
	}
	return c
}

func opts(t *testing.T, comp string, in map[string]string, cmd ...string) (Options, *bytes.Buffer) {
	dir := t.TempDir()
	var out bytes.Buffer
	return Options{
		Task: "t", Component: iface(t, comp), Inputs: in, Command: cmd,
		InputsDir: filepath.Join(dir, "in"), OutputsDir: filepath.Join(dir, "out"), WorkDir: dir,
		Env: []string{"PATH=" + os.Getenv("PATH")}, Stdout: &out, Stderr: &out,
		Pipeline:     PipelineInfo{JobName: "wf-1", JobUID: "uid-1", Pod: "wf-1-t-123"},
		ArtifactRoot: "file://" + filepath.Join(dir, "repo"),
	}, &out
}

func readOut(t *testing.T, o Options, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(o.OutputsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const paramComp = `{"inputDefinitions":{"parameters":{
  "a":{"parameterType":"STRING"},
  "n":{"parameterType":"NUMBER_INTEGER"},
  "opt":{"parameterType":"STRING","isOptional":true},
  "d":{"parameterType":"NUMBER_DOUBLE","defaultValue":0.5},
  "l":{"parameterType":"LIST","isOptional":true}}},
 "outputDefinitions":{"parameters":{"out":{"parameterType":"STRING"},"count":{"parameterType":"NUMBER_INTEGER"}}}}`

func TestParametersAndPlaceholders(t *testing.T) {
	cases := []struct {
		name   string
		in     map[string]string
		script []string
		want   string
	}{
		{"values by type", map[string]string{"a": "hi", "n": "3.0"},
			[]string{"{{$.inputs.parameters['a']}}-{{$.inputs.parameters['n']}}-{{$.inputs.parameters['d']}}"}, "hi-3-0.5"},
		{"IfPresent else", map[string]string{"a": "x", "n": "1"},
			[]string{`{"IfPresent": {"InputName": "opt", "Then": ["{{$.inputs.parameters['opt']}}"], "Else": ["absent"]}}`}, "absent"},
		{"IfPresent then", map[string]string{"a": "x", "n": "1", "opt": "here"},
			[]string{`{"IfPresent": {"InputName": "opt", "Then": ["got-{{$.inputs.parameters['opt']}}"], "Else": ["absent"]}}`}, "got-here"},
		{"IfPresent without else", map[string]string{"a": "x", "n": "1"},
			[]string{`{"IfPresent": {"InputName": "opt", "Then": ["--opt", "{{$.inputs.parameters['opt']}}"]}}`, "end"}, "end"},
		{"Concat", map[string]string{"a": "x", "n": "7"},
			[]string{`{"Concat": ["pre-", "{{$.inputs.parameters['a']}}", "+", "{{$.inputs.parameters['n']}}"]}`}, "pre-x+7"},
		{"list as JSON", map[string]string{"a": "x", "n": "7", "l": `[1, "b"]`},
			[]string{"{{$.inputs.parameters['l']}}"}, `[1,"b"]`},
		{"pipeline placeholders", map[string]string{"a": "x", "n": "7"},
			[]string{"{{$.pipeline_job_name}}/{{$.pipeline_task_name}}/{{$.pipeline_job_uuid}}"}, "wf-1/t/uid-1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := append([]string{"sh", "-c", `printf %s "$*" > "$0"; printf 2 > "$(dirname "$0")/c"; cp "$(dirname "$0")/c" "$OUTC"`,
				"{{$.outputs.parameters['out'].output_file}}"}, tc.script...)
			o, log := opts(t, paramComp, tc.in, cmd...)
			o.Env = append(o.Env, "OUTC="+filepath.Join(o.OutputsDir, ".kfp", "parameters", "count"))
			if err := Run(context.Background(), o); err != nil {
				t.Fatalf("%v\n%s", err, log)
			}
			if diff := cmp.Diff(tc.want, readOut(t, o, "out")); diff != "" {
				t.Errorf("out (-want +got):\n%s", diff)
			}
			if got := readOut(t, o, "count"); got != "2" {
				t.Errorf("count = %q, want 2", got)
			}
		})
	}
}

func TestExecutorInputAndOutput(t *testing.T) {
	// The command reads executor_input ({{$}}) and answers through
	// executor_output.json at the outputFile it names, as KFP's Python
	// executor does.
	script := `python3 -c '
import json, sys
ei = json.loads(sys.argv[1])
n = ei["inputs"]["parameterValues"]["n"]
out = {"parameterValues": {"count": n * 2, "out": ei["inputs"]["parameterValues"]["a"].upper()}}
open(ei["outputs"]["outputFile"], "w").write(json.dumps(out))
' "$0"`
	o, log := opts(t, paramComp, map[string]string{"a": "abc", "n": "21"}, "sh", "-c", script, "{{$}}")
	if err := Run(context.Background(), o); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if got := readOut(t, o, "count"); got != "42" {
		t.Errorf("count = %q, want 42", got)
	}
	if got := readOut(t, o, "out"); got != "ABC" {
		t.Errorf("out = %q, want ABC", got)
	}
}

const artComp = `{"inputDefinitions":{"artifacts":{"src":{"artifactType":{"schemaTitle":"system.Dataset"}}}},
 "outputDefinitions":{"artifacts":{"dst":{"artifactType":{"schemaTitle":"system.Model"}}}}}`

func TestArtifacts(t *testing.T) {
	o, log := opts(t, artComp, nil, "sh", "-c", `tr a-z A-Z < "$0" > "$1"; echo "$2" > "$1.uri"`,
		"{{$.inputs.artifacts['src'].path}}", "{{$.outputs.artifacts['dst'].path}}", "{{$.outputs.artifacts['dst'].uri}}")
	// An input artifact as a previous kubeline step leaves it.
	src := filepath.Join(o.InputsDir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "data"), []byte("hello"), 0o644)
	os.WriteFile(filepath.Join(src, "metadata.json"), []byte(`{"uri":"minio://b/k/src/data","type":"system.Dataset","metadata":{"rows":1}}`), 0o644)
	if err := Run(context.Background(), o); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	data, err := os.ReadFile(filepath.Join(o.OutputsDir, "dst", "data"))
	if err != nil || string(data) != "HELLO" {
		t.Fatalf("output artifact data %q, %v", data, err)
	}
	var md artifact
	if err := json.Unmarshal([]byte(readOut(t, o, "dst/metadata.json")), &md); err != nil {
		t.Fatal(err)
	}
	wantURI := o.ArtifactRoot + "/kubeline/wf-1/wf-1-t-123/dst/data"
	if md.URI != wantURI || md.Type != "system.Model" {
		t.Fatalf("metadata %+v, want uri %s", md, wantURI)
	}
	uri, _ := os.ReadFile(filepath.Join(o.OutputsDir, "dst", "data.uri"))
	if strings.TrimSpace(string(uri)) != wantURI {
		t.Fatalf("uri placeholder gave %q", uri)
	}
	if readOut(t, o, "dst.artifact") != readOut(t, o, "dst/metadata.json") {
		t.Fatal("descriptor differs from metadata.json")
	}
}

func TestArtifactListFromDescriptors(t *testing.T) {
	dir := t.TempDir()
	var descs []string
	for i, body := range []string{"one", "two"} {
		p := filepath.Join(dir, string(rune('a'+i)))
		os.WriteFile(p, []byte(body), 0o644)
		descs = append(descs, `"{\"uri\":\"file://`+p+`\"}"`)
	}
	comp := `{"inputDefinitions":{"artifacts":{"xs":{"artifactType":{"schemaTitle":"system.Dataset"},"isArtifactList":true}}},
	  "outputDefinitions":{"parameters":{"out":{"parameterType":"STRING"}}}}`
	// Argo aggregates loop outputs as a JSON list of JSON strings.
	o, log := opts(t, comp, map[string]string{"xs-artifact": "[" + strings.Join(descs, ",") + "]"}, "sh", "-c",
		`python3 -c 'import json,sys; l=json.loads(sys.argv[1])["inputs"]["artifacts"]["xs"]["artifacts"]; print(len(l), end="")' "$1" > "$0"`,
		"{{$.outputs.parameters['out'].output_file}}", "{{$}}")
	if err := Run(context.Background(), o); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if got := readOut(t, o, "out"); got != "2" {
		t.Fatalf("artifact list has %s entries, want 2", got)
	}
}

func TestFinalStatus(t *testing.T) {
	comp := `{"inputDefinitions":{"parameters":{"status":{"parameterType":"TASK_FINAL_STATUS"}}},
	  "outputDefinitions":{"parameters":{"out":{"parameterType":"STRING"}}}}`
	o, log := opts(t, comp, map[string]string{"status": `{"state":"Failed","pipelineTaskName":"exit-handler-1"}`},
		"sh", "-c", `printf %s "$1" > "$0"`, "{{$.outputs.parameters['out'].output_file}}", "{{$.inputs.parameters['status']}}")
	if err := Run(context.Background(), o); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(readOut(t, o, "out")), &st); err != nil {
		t.Fatal(err)
	}
	if st["state"] != "FAILED" || st["pipelineTaskName"] != "exit-handler-1" || st["pipelineJobResourceName"] != "wf-1" {
		t.Fatalf("final status %v", st)
	}
}

func TestFailures(t *testing.T) {
	cases := []struct {
		name string
		in   map[string]string
		cmd  []string
		want string
	}{
		{"missing required input", map[string]string{"a": "x"}, []string{"true"}, `required input "n" has no value`},
		{"bad integer", map[string]string{"a": "x", "n": "three"}, []string{"true"}, `input "n": want an integer`},
		{"output not written", map[string]string{"a": "x", "n": "1"}, []string{"true"}, `output parameter "count" was not written`},
		{"exit code", map[string]string{"a": "x", "n": "1"}, []string{"sh", "-c", "exit 3"}, "exited with code 3"},
		{"no such program", map[string]string{"a": "x", "n": "1"}, []string{"/nonexistent/prog"}, "run /nonexistent/prog"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, _ := opts(t, paramComp, tc.in, tc.cmd...)
			err := Run(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want error containing %q, got %v", tc.want, err)
			}
		})
	}
	o, _ := opts(t, paramComp, map[string]string{"a": "x", "n": "1"}, "sh", "-c", "exit 3")
	var ee *ExitError
	if err := Run(context.Background(), o); !errors.As(err, &ee) || ee.Code != 3 {
		t.Fatalf("want *ExitError code 3, got %v", err)
	}
}

// TestExecutorOutputPathPlaceholder: {{$.outputs.output_file}} (the SDK's
// dsl.PIPELINE_TASK_EXECUTOR_OUTPUT_PATH_PLACEHOLDER) is where a command
// writes executor_output.json: the metadata it gives an output artifact is
// the artifact's.
func TestExecutorOutputPathPlaceholder(t *testing.T) {
	comp := `{"outputDefinitions":{"artifacts":{"m":{"artifactType":{"schemaTitle":"system.Model"}}}}}`
	o, log := opts(t, comp, nil, "sh", "-c",
		`printf model > "$1" && printf '{"artifacts":{"m":{"artifacts":[{"metadata":{"kubeline.io/model":"mm"}}]}}}' > "$0"`,
		"{{$.outputs.output_file}}", "{{$.outputs.artifacts['m'].path}}")
	if err := Run(context.Background(), o); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	var md struct {
		Metadata map[string]any `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(readOut(t, o, "m/metadata.json")), &md); err != nil {
		t.Fatal(err)
	}
	if md.Metadata["kubeline.io/model"] != "mm" {
		t.Fatalf("metadata %v", md.Metadata)
	}
}

// TestCommandOnStepPath: a step's command is looked up on the PATH of the
// step's environment, as in a container, not on the launcher's own (a
// kubeline component's `kubeline step ...` runs the kubeline whose
// directory the engine puts first on the steps' PATH).
func TestCommandOnStepPath(t *testing.T) {
	bin := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(bin, "kubeline-test-tool"), []byte("#!/bin/sh\necho tool ran \"$@\"\n"), 0o755))
	o, log := opts(t, `{}`, nil, "kubeline-test-tool", "x")
	o.Env = []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")}
	require.NoError(t, Run(context.Background(), o), log.String())
	require.Contains(t, log.String(), "tool ran x")
}
