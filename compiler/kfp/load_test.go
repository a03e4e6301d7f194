package kfp

import (
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeline/kubeline/compiler/spec"
)

const corpus = "../../../shared/kfp-corpus"

func loadFile(t testing.TB, path string) (*Pipeline, error) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data, err = spec.Unpack(filepath.Base(path), data)
	if err != nil {
		return nil, err
	}
	docs, err := spec.Parse(data)
	if err != nil {
		return nil, err
	}
	return Load(docs)
}

func TestLoadCorpusValid(t *testing.T) {
	var files []string
	for _, dir := range []string{"ir/valid", "ir/argo_compatibility"} {
		filepath.WalkDir(filepath.Join(corpus, dir), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, p)
			}
			return nil
		})
	}
	if len(files) < 150 {
		t.Fatalf("found %d corpus files under %s, want 150+", len(files), corpus)
	}
	for _, f := range files {
		t.Run(strings.TrimPrefix(f, corpus+"/"), func(t *testing.T) {
			if _, err := loadFile(t, f); err != nil {
				t.Errorf("load: %v", err)
			}
		})
	}
}

func TestLoadCorpusInvalid(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join(corpus, "ir/invalid"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			_, err := loadFile(t, filepath.Join(corpus, "ir/invalid", e.Name()))
			if err == nil {
				t.Fatal("loaded an invalid file without error")
			}
			t.Log(err)
		})
	}
}

func parse(t *testing.T, s string) []spec.Document {
	t.Helper()
	docs, err := spec.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

const minimal = `pipelineInfo: {name: p}
root:
  dag:
    tasks:
      t:
        componentRef: {name: comp-t}
        taskInfo: {name: t}
components:
  comp-t: {executorLabel: exec-t}
deploymentSpec:
  executors:
    exec-t:
      container: {image: alpine, command: [echo]}
`

func TestPlatformStrict(t *testing.T) {
	cases := []struct {
		name, platform, want string
	}{
		{"unknown field", "platforms:\n  kubernetes:\n    deploymentSpec:\n      executors:\n        exec-t:\n          secretAsEnvv: []\n", `20:11: platforms.kubernetes.deploymentSpec.executors[exec-t].secretAsEnvv: unknown field "secretAsEnvv" of KubernetesExecutorConfig`},
		{"integer not a number", "platforms:\n  kubernetes:\n    deploymentSpec:\n      executors:\n        exec-t:\n          activeDeadlineSeconds: soon\n", `20:34: platforms.kubernetes.deploymentSpec.executors[exec-t].activeDeadlineSeconds: expected an integer, got "soon"`},
		{"int32 out of range", "platforms:\n  kubernetes:\n    deploymentSpec:\n      executors:\n        exec-t:\n          nodeAffinity: [{weight: '3000000000'}]\n", `nodeAffinity[0].weight: 3000000000 is out of range for an int32`},
		{"fractional integer", "platforms:\n  kubernetes:\n    deploymentSpec:\n      executors:\n        exec-t:\n          tolerations: [{tolerationSeconds: 1.5}]\n", `tolerations[0].tolerationSeconds: expected an integer, got 1.5`},
		{"bool as string", "platforms:\n  kubernetes:\n    deploymentSpec:\n      executors:\n        exec-t:\n          secretAsVolume: [{secretName: s, mountPath: /s, optional: 'yes'}]\n", `secretAsVolume[0].optional: expected true or false, got the scalar "yes"`},
		{"oneof twice", "platforms:\n  kubernetes:\n    deploymentSpec:\n      executors:\n        exec-t:\n          pvcMount: [{constant: a, componentInputParameter: b, mountPath: /m}]\n", `pvcMount[0].componentInputParameter: constant and componentInputParameter are one of pvc_reference: set only one`},
		{"same field by both names", "platforms:\n  kubernetes:\n    deploymentSpec:\n      executors:\n        exec-t:\n          image_pull_policy: Always\n          imagePullPolicy: Never\n", `imagePullPolicy: field imagePullPolicy given twice`},
		{"nested unknown", "platforms:\n  kubernetes:\n    deploymentSpec:\n      executors:\n        exec-t:\n          initContainers: [{name: a, image: b, privileged: true}]\n", `initContainers[0].privileged: unknown field "privileged" of InitContainer`},
		{"unknown executor", "platforms:\n  kubernetes:\n    deploymentSpec:\n      executors:\n        exec-x:\n          podMetadata: {labels: {a: b}}\n", `executor "exec-x" is not defined`},
		{"unknown platform", "platforms:\n  gcp: {}\n", `unknown platform "gcp"`},
		{"workspace without size", "platforms:\n  kubernetes:\n    pipelineConfig:\n      workspace: {kubernetes: {}}\n", "workspace.size: required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(parse(t, minimal+"---\n"+tc.platform))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want error containing %q, got %v", tc.want, err)
			}
		})
	}
	p, err := Load(parse(t, minimal+"---\nplatforms:\n  kubernetes:\n    pipelineConfig:\n      workspace: {size: 2Gi}\n    deploymentSpec:\n      executors:\n        exec-t:\n          nodeSelector: {labels: {gpu: a100}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Workspace == nil || p.Workspace.Size != "2Gi" {
		t.Fatalf("workspace not kept: %+v", p.Workspace)
	}
	if p.Kubernetes["exec-t"].NodeSelector.Labels["gpu"] != "a100" {
		t.Fatalf("node selector not kept: %+v", p.Kubernetes["exec-t"])
	}
}

func TestDownloadToWorkspaceKept(t *testing.T) {
	p, err := loadFile(t, filepath.Join(corpus, "ir/valid/critical/pipeline_with_importer_workspace.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.DownloadToWorkspace) == 0 {
		t.Fatal("downloadToWorkspace was dropped")
	}
	for label := range p.DownloadToWorkspace {
		if _, ok := p.Deployment.GetExecutors()[label]; !ok {
			t.Fatalf("downloadToWorkspace recorded under %q, not an executor label", label)
		}
	}
}

// TestNewerFieldsAreNewer guards the table of fields the served proto
// predates: each must really be missing from its message, or the table would
// shadow a field protojson knows.
func TestNewerFieldsAreNewer(t *testing.T) {
	var errs spec.Errors
	p := &Pipeline{DownloadToWorkspace: map[string]bool{}}
	for f := range p.newerFields(&errs) {
		md, err := protoregistry.GlobalFiles.FindDescriptorByName(f.message)
		if err != nil {
			t.Fatalf("%s: %v", f.message, err)
		}
		fields := md.(protoreflect.MessageDescriptor).Fields()
		if fields.ByJSONName(f.name) != nil || fields.ByName(protoreflect.Name(f.name)) != nil {
			t.Errorf("%s has field %s now: remove it from the newer-field table", f.message, f.name)
		}
	}
}

func TestCycleReported(t *testing.T) {
	doc := strings.Replace(minimal, "        taskInfo: {name: t}\n", "        taskInfo: {name: t}\n        dependentTasks: [u]\n      u:\n        componentRef: {name: comp-t}\n        dependentTasks: [t]\n", 1)
	_, err := Load(parse(t, doc))
	if err == nil || !strings.Contains(err.Error(), "dependency cycle") {
		t.Fatalf("want a cycle error, got %v", err)
	}
}

// TestLoadReportsDecodeAndReferenceErrorsTogether: an unknown field and an
// undefined component in one document come out in one report (they came
// one at a time: the references were checked only once the document
// decoded cleanly); a problem that follows from a field that did not
// decode is left out (mutation-checked: without that, "required: the
// component this task runs" and "root.dag: required" come too); a broken
// document never panics the validator.
func TestLoadReportsDecodeAndReferenceErrorsTogether(t *testing.T) {
	const head = "pipelineInfo: {name: x}\nschemaVersion: 2.1.0\ncomponents:\n  comp-a: {executorLabel: exec-a}\n" +
		"deploymentSpec: {executors: {exec-a: {container: {image: alpine, command: [echo]}}}}\n"
	cases := []struct {
		name string
		root string
		want []string
	}{
		{"unknown field and undefined component",
			"root:\n  dag:\n    tasks:\n      train: {componentRef: {name: comp-a}, taskInfo: {name: train}, colour: red}\n" +
				"      eval: {componentRef: {name: comp-nope}, taskInfo: {name: eval}}\n",
			[]string{
				`9:70: root.dag.tasks[train].colour: unknown field "colour" of PipelineTaskSpec`,
				`10:13: root.dag.tasks[eval].componentRef.name: component "comp-nope" is not defined in components`,
			}},
		{"a task that does not decode is not also reported as missing its component",
			"root:\n  dag:\n    tasks:\n      train: {componentRef: {name: [1]}, taskInfo: {name: train}}\n" +
				"      eval: {componentRef: {name: comp-nope}, taskInfo: {name: eval}, dependentTasks: [nope]}\n",
			[]string{
				"9:36: root.dag.tasks[train].componentRef.name: expected a string, got a list",
				`10:13: root.dag.tasks[eval].componentRef.name: component "comp-nope" is not defined in components`,
				`10:13: root.dag.tasks[eval].dependentTasks: task "nope" is not in this DAG`,
			}},
		{"a wrongly typed root", "root: [1, 2]\n", []string{"6:7: root: expected a mapping, got a list"}},
		{"a wrongly typed task map", "root:\n  dag:\n    tasks: [a, b]\n", []string{"8:12: root.dag.tasks: expected a mapping, got a list"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			docs, err := spec.Parse([]byte(head + tc.root))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Load(docs)
			if err == nil {
				t.Fatal("no error")
			}
			if d := cmp.Diff(tc.want, strings.Split(err.Error(), "\n")); d != "" {
				t.Errorf("errors (-want +got):\n%s", d)
			}
		})
	}
}
