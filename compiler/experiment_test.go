package compiler

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestCompileExperiment compiles the example Experiment into its one
// Workflow, checks it with Argo's own validator and against the golden file,
// and checks the threading of the trial's parameters.
func TestCompileExperiment(t *testing.T) {
	const file = "../examples/hpo/experiment.yaml"
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	wf, err := Compile(filepath.Base(file), data, Options{BaseDir: filepath.Dir(file)})
	if err != nil {
		t.Fatal(err)
	}
	if err := lint(wf); err != nil {
		t.Fatalf("Argo's validator: %v", err)
	}
	out, err := Marshal(wf)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "experiment.golden.yaml")
	if *updateGolden {
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./compiler -run TestCompileExperiment -update)", err)
	}
	if d := cmp.Diff(string(want), string(out)); d != "" {
		t.Fatalf("compiled experiment differs from %s (-want +got):\n%s", golden, d)
	}
	byName := map[string]wfv1.Template{}
	for _, tm := range wf.Spec.Templates {
		byName[tm.Name] = tm
		if strings.HasPrefix(tm.Name, "trial-") && strings.Contains(mustJSON(t, tm), "{{workflow.parameters.x}}") {
			t.Errorf("trial template %s still reads the workflow parameter x", tm.Name)
		}
	}
	train := byName["trial-train"].Container
	if train == nil || train.Args[0] != "--trial" || strings.Contains(strings.Join(train.Args, " "), "--cache") {
		t.Fatalf("the trial's launcher step does not collect metrics without caching: %v", train)
	}
	var trialArgs []string
	for _, task := range byName["hpo-experiment"].DAG.Tasks {
		if task.Name == "trial" {
			for _, p := range task.Arguments.Parameters {
				trialArgs = append(trialArgs, p.Name+"="+p.Value.String())
			}
		}
	}
	wantArgs := []string{"kubeline-trial={{item.kubeline-trial}}", "kubeline-param-epochs=5", "kubeline-param-fail_above=1000",
		"kubeline-param-pause=0", "kubeline-param-x={{item.x}}", "kubeline-param-y={{item.y}}"}
	if d := cmp.Diff(wantArgs, trialArgs); d != "" {
		t.Fatalf("trial arguments (-want +got):\n%s", d)
	}
	// The next round's suggest step reads every trial's record: it runs
	// only once every trial DAG succeeded, and a trial DAG's only leaf is
	// its observe step (the DAG takes its phase), so a lost observation
	// ends the experiment instead of leaving a record Running behind.
	for _, task := range byName["hpo-experiment"].DAG.Tasks {
		if task.Name == "next" && task.Depends != "trial.Succeeded" {
			t.Errorf("the next round depends on %q: it must wait for every trial to be observed (trial.Succeeded)", task.Depends)
		}
	}
	var leaves []string
	for _, task := range byName["hpo-trial"].DAG.Tasks {
		used := false
		for _, other := range byName["hpo-trial"].DAG.Tasks {
			used = used || strings.Contains(other.Depends, task.Name+".")
		}
		if !used {
			leaves = append(leaves, task.Name)
		}
	}
	if d := cmp.Diff([]string{"observe"}, leaves); d != "" {
		t.Errorf("a trial DAG's leaves (-want +got):\n%s", d)
	}
}

func TestCompileExperimentErrors(t *testing.T) {
	dir := t.TempDir()
	pipeline, err := os.ReadFile("../examples/hpo/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "train.yaml"), pipeline, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "self.yaml"), []byte(experimentDoc("self.yaml", "x")), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, doc, want string }{
		{"unknown pipeline parameter", experimentDoc("train.yaml", "learning_rate"), `spec.trialTemplate.parameters[learning_rate]: the trial pipeline has no parameter "learning_rate"`},
		{"missing pipeline file", experimentDoc("nope.yaml", "x"), "spec.trialTemplate.pipelineFile: open"},
		{"trial is not a pipeline", experimentDoc("self.yaml", "x"), "a trial must be a KFP pipeline spec"},
		{"unknown field", strings.Replace(experimentDoc("train.yaml", "x"), "maxTrialCount", "maxTrials", 1), `unknown field "maxTrials"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile("e.yaml", []byte(tc.doc), Options{BaseDir: dir})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
}

func experimentDoc(pipelineFile, param string) string {
	return `apiVersion: kubeline.io/v1alpha1
kind: Experiment
metadata: {name: e}
spec:
  objective: {type: minimize, objectiveMetricName: loss}
  algorithm: {algorithmName: random}
  maxTrialCount: 4
  parameters:
  - {name: x, parameterType: double, feasibleSpace: {min: "0", max: "1"}}
  trialTemplate:
    pipelineFile: ` + pipelineFile + `
    trialParameters: [{name: x, reference: x}]
    parameters: {` + param + `: "${trialParameters.x}"}
`
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCompileExperimentInlinePipeline: a trial given inline as pipelineSpec
// compiles to the same workflow as the same pipeline given as a file.
func TestCompileExperimentInlinePipeline(t *testing.T) {
	src, err := os.ReadFile("../examples/hpo/experiment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	train, err := os.ReadFile("../examples/hpo/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var inline strings.Builder
	inline.WriteString("    pipelineSpec:\n")
	for _, line := range strings.Split(strings.TrimRight(string(train), "\n"), "\n") {
		inline.WriteString("      " + line + "\n")
	}
	doc := strings.Replace(string(src), "    pipelineFile: pipeline.yaml\n", inline.String(), 1)
	if doc == string(src) {
		t.Fatal("the example no longer names pipeline.yaml")
	}
	byFile, err := Compile("experiment.yaml", src, Options{BaseDir: "../examples/hpo"})
	if err != nil {
		t.Fatal(err)
	}
	byValue, err := Compile("experiment.yaml", []byte(doc), Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := Marshal(byFile)
	b, _ := Marshal(byValue)
	if d := cmp.Diff(string(a), string(b)); d != "" {
		t.Fatalf("inline and file trials differ:\n%s", d)
	}
	both := strings.Replace(doc, "    pipelineSpec:\n", "    pipelineFile: pipeline.yaml\n    pipelineSpec:\n", 1)
	if _, err := Compile("experiment.yaml", []byte(both), Options{}); err == nil || !strings.Contains(err.Error(), "exactly one of pipelineFile, pipelineSpec and pipelineVersionReference") {
		t.Fatalf("two trial pipelines: %v", err)
	}
}
