package hpo

import (
	"strings"
	"testing"

	"github.com/kubeline/kubeline/compiler/spec"
)

const good = `apiVersion: kubeline.io/v1alpha1
kind: Experiment
metadata: {name: tune}
spec:
  objective: {type: minimize, goal: 0.01, objectiveMetricName: loss}
  algorithm:
    algorithmName: bayesianoptimization
    algorithmSettings: [{name: random_state, value: "7"}]
  earlyStopping: {algorithmName: medianstop}
  parallelTrialCount: 2
  maxTrialCount: 12
  maxFailedTrialCount: 3
  parameters:
  - {name: lr, parameterType: double, feasibleSpace: {min: "0.001", max: "0.1", distribution: logUniform}}
  - {name: layers, parameterType: int, feasibleSpace: {min: "1", max: "4"}}
  - {name: opt, parameterType: categorical, feasibleSpace: {list: [sgd, adam]}}
  trialTemplate:
    pipelineFile: pipeline.yaml
    trialParameters:
    - {name: learningRate, reference: lr}
    - {name: depth, reference: layers}
    - {name: optimizer, reference: opt}
    parameters: {lr: "${trialParameters.learningRate}", depth: "${trialParameters.depth}", opt: "${trialParameters.optimizer}"}
`

func decode(t *testing.T, src string) (*Experiment, error) {
	t.Helper()
	docs, err := spec.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if docs[0].Kind != spec.KindExperiment {
		t.Fatalf("kind %q", docs[0].Kind)
	}
	return Decode(docs[0].Node)
}

func TestValidExperiment(t *testing.T) {
	e, err := decode(t, good)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Validate(); err != nil {
		t.Fatal(err)
	}
	if e.Spec.Parameters[0].FeasibleSpace.Distribution != "logUniform" || *e.Spec.Objective.Goal != 0.01 {
		t.Fatalf("%+v", e.Spec)
	}
}

func TestExperimentErrorsAllAtOnce(t *testing.T) {
	bad := strings.NewReplacer(
		"type: minimize", "type: smallest",
		"algorithmName: bayesianoptimization", "algorithmName: annealing",
		`min: "1", max: "4"`, `min: "5", max: "4"`,
		"reference: opt", "reference: optimiser",
		`opt: "${trialParameters.optimizer}"`, `opt: "${trialParameters.optimizer}", x: "${trialParameters.nope}"`,
		"maxFailedTrialCount: 3", "maxFailedTrialCount: 30",
	).Replace(good)
	e, err := decode(t, bad)
	if err != nil {
		t.Fatal(err)
	}
	err = e.Validate()
	if err == nil {
		t.Fatal("no errors")
	}
	for _, want := range []string{
		`spec.objective.type: want minimize or maximize, got "smallest"`,
		`spec.algorithm.algorithmName: unknown algorithm "annealing"`,
		`spec.parameters[layers].feasibleSpace: max 4 is below min 5`,
		`spec.trialTemplate.trialParameters[2].reference: "optimiser" is not a parameter`,
		`spec.trialTemplate.parameters[x]: ${trialParameters.nope} is not declared`,
		`spec.maxFailedTrialCount: want 0..maxTrialCount (12), got 30`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
}

func TestExperimentStrict(t *testing.T) {
	_, err := decode(t, strings.Replace(good, "parallelTrialCount: 2", "parallelTrialCount: 2\n  colour: blue", 1))
	if err == nil || !strings.Contains(err.Error(), "colour") {
		t.Fatalf("unknown field: %v", err)
	}
}

func TestMoreRules(t *testing.T) {
	cases := map[string]struct{ from, to, want string }{
		"unused trial parameter":   {`depth: "${trialParameters.depth}", `, ``, `"depth" is declared but never used`},
		"both pipeline forms":      {"pipelineFile: pipeline.yaml", "pipelineFile: pipeline.yaml\n    pipelineSpec: {a: 1}", "exactly one of pipelineFile, pipelineSpec and pipelineVersionReference"},
		"no max trials":            {"maxTrialCount: 12", "", "spec.maxTrialCount: required"},
		"parallel above max":       {"parallelTrialCount: 2", "parallelTrialCount: 20", "spec.parallelTrialCount: want 1..maxTrialCount"},
		"repeated metric":          {"objectiveMetricName: loss}", "objectiveMetricName: loss, additionalMetricNames: [loss]}", "repeats the objective metric"},
		"categorical without list": {"feasibleSpace: {list: [sgd, adam]}", "feasibleSpace: {}", "spec.parameters[opt].feasibleSpace.list: required"},
		"bad collector regex":      {"maxFailedTrialCount: 3", "maxFailedTrialCount: 3\n  metricsCollectorSpec: {collector: {kind: StdOut}, source: {filter: {metricsFormat: [\"(\\\\w+)=\"]}}}", "needs two capture groups"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e, err := decode(t, strings.Replace(good, tc.from, tc.to, 1))
			if err == nil {
				err = e.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want %q, got %v", tc.want, err)
			}
		})
	}
}
