package compiler

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeline/kubeline/compiler/spec"
)

func TestCompileInvalidCorpus(t *testing.T) {
	want := map[string]string{
		"empty_file.yaml":   "empty document",
		"empty_zip.zip":     "",
		"invalid-zip.zip":   "",
		"invalid_yaml.yaml": `unknown field "components_1"`,
		"no_name.yaml":      "pipelineInfo.name",
		"wrong_format.png":  "",
	}
	entries, err := os.ReadDir(filepath.Join(corpus, "ir/invalid"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		t.Fatalf("ir/invalid has %d files, the test knows %d", len(entries), len(want))
	}
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(corpus, "ir/invalid", e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			wf, err := Compile(e.Name(), data, Options{})
			if err == nil || wf != nil {
				t.Fatalf("compiled an invalid file: wf=%v err=%v", wf != nil, err)
			}
			if !strings.Contains(err.Error(), want[e.Name()]) {
				t.Fatalf("error %q does not mention %q", err, want[e.Name()])
			}
		})
	}
}

const brokenPipeline = `pipelineInfo:
  name: broken
root:
  dag:
    tasks:
      train:
        componentRef:
          name: comp-train
        colour: blue
        inputs:
          parameters:
            lr:
              taskOutputParameter:
                producerTask: missing
                outputParameterKey: x
      eval:
        componentRef:
          name: comp-nope
        dependentTasks: [ghost]
components:
  comp-train:
    executorLabel: exec-train
    inputDefinitions:
      parameters:
        lr: {parameterType: NUMBER_DOUBLE}
deploymentSpec:
  executors:
    exec-train:
      container:
        image: alpine
        command: [sh]
        sizzle: true
`

// TestErrorsAllAtOnce checks that one pass reports every problem of a
// document, each with its spec path and YAML position.
func TestErrorsAllAtOnce(t *testing.T) {
	_, err := Compile("broken.yaml", []byte(brokenPipeline), Options{})
	if err == nil {
		t.Fatal("compiled a broken pipeline")
	}
	var es spec.Errors
	if !errors.As(err, &es) {
		t.Fatalf("error is %T, want spec.Errors", err)
	}
	got := err.Error()
	for _, want := range []string{
		`9:9: root.dag.tasks[train].colour: unknown field "colour" of PipelineTaskSpec`,
		`deploymentSpec.executors[exec-train].container.sizzle: unknown field "sizzle"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors do not contain %q:\n%s", want, got)
		}
	}
	// Unknown fields stop decoding; fix them and the reference errors show, all together.
	fixed := strings.Replace(strings.Replace(brokenPipeline, "        colour: blue\n", "", 1), "        sizzle: true\n", "", 1)
	_, err = Compile("broken.yaml", []byte(fixed), Options{})
	if err == nil {
		t.Fatal("compiled a pipeline with dangling references")
	}
	got = err.Error()
	for _, want := range []string{
		`root.dag.tasks[train].inputs.parameters[lr].taskOutputParameter.producerTask: task "missing" is not in this DAG`,
		`root.dag.tasks[eval].componentRef.name: component "comp-nope" is not defined`,
		`root.dag.tasks[eval].dependentTasks: task "ghost" is not in this DAG`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors do not contain %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n") + 1; n < 3 {
		t.Errorf("want every error reported, got %d lines:\n%s", n, got)
	}
}

func TestYAMLSyntaxErrorHasLine(t *testing.T) {
	_, err := Compile("bad.yaml", []byte("pipelineInfo:\n  name: x\nroot: [\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), "invalid YAML") {
		t.Fatalf("want a YAML syntax error, got %v", err)
	}
	var es spec.Errors
	if !errors.As(err, &es) || es[0].Line == 0 {
		t.Fatalf("YAML error carries no line: %v", err)
	}
}

func TestUnknownParam(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(corpus, "ir/valid/critical/add_numbers.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Compile("add_numbers.yaml", data, Options{Params: map[string]string{"nope": "1"}})
	if err == nil || !strings.Contains(err.Error(), `--param[nope]: the pipeline has no parameter "nope"`) {
		t.Fatalf("want an unknown-parameter error, got %v", err)
	}
	wf, err := Compile("add_numbers.yaml", data, Options{Params: map[string]string{"a": "40"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range wf.Spec.Arguments.Parameters {
		if p.Name == "a" && p.Value.String() != "40" {
			t.Fatalf("--param a=40 gave %q", p.Value.String())
		}
	}
}

func TestArchives(t *testing.T) {
	for _, f := range []string{"ir/valid/arguments_parameters.zip"} {
		data, err := os.ReadFile(filepath.Join(corpus, f))
		if err != nil {
			t.Fatal(err)
		}
		wf, err := Compile(filepath.Base(f), data, Options{})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := lint(wf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
}

func TestTarGz(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(corpus, "ir/valid/hello_world.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: "pipeline.yaml", Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write(data)
	tw.Close()
	gz.Close()
	wf, err := Compile("p.tar.gz", buf.Bytes(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if wf.Spec.Entrypoint != "root" || len(wf.Spec.Templates) < 2 {
		t.Fatalf("unexpected workflow from tar.gz: entrypoint %q, %d templates", wf.Spec.Entrypoint, len(wf.Spec.Templates))
	}
}
