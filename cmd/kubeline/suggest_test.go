package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const experiment = `apiVersion: kubeline.io/v1alpha1
kind: Experiment
metadata: {name: tune}
spec:
  objective: {type: minimize, objectiveMetricName: loss}
  algorithm: {algorithmName: grid}
  maxTrialCount: 6
  parameters:
  - {name: x, parameterType: int, feasibleSpace: {min: "1", max: "3"}}
  - {name: opt, parameterType: categorical, feasibleSpace: {list: [a, b]}}
  trialTemplate:
    pipelineFile: pipeline.yaml
    trialParameters: [{name: x, reference: x}, {name: o, reference: opt}]
    parameters: {x: "${trialParameters.x}", opt: "${trialParameters.o}"}
`

// TestSuggestCommand walks a grid experiment to exhaustion through the CLI,
// feeding each round's suggestions back as finished trials.
func TestSuggestCommand(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "exp.yaml")
	os.WriteFile(file, []byte(experiment), 0o644)
	var trials []map[string]any
	seen := map[string]bool{}
	for round := 0; round < 5; round++ {
		b, _ := json.Marshal(trials)
		var stdout, stderr bytes.Buffer
		if code := run([]string{"suggest", file, "--trials", string(b), "--count", "4"}, nil, &stdout, &stderr); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		var ans struct {
			Assignments []map[string]string `json:"assignments"`
			Exhausted   bool                `json:"exhausted"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &ans); err != nil {
			t.Fatal(err)
		}
		for _, a := range ans.Assignments {
			key := a["x"] + a["opt"]
			if seen[key] {
				t.Fatalf("round %d suggested %v again", round, a)
			}
			seen[key] = true
			x, _ := strconv.Atoi(a["x"])
			trials = append(trials, map[string]any{"params": a, "state": "Succeeded", "value": float64(x)})
		}
		if ans.Exhausted {
			break
		}
	}
	if len(seen) != 6 {
		t.Fatalf("the 3 x 2 grid gave %d assignments: %v", len(seen), seen)
	}
	var stderr bytes.Buffer
	bad := strings.Replace(experiment, "algorithmName: grid", "algorithmName: annealing", 1)
	os.WriteFile(file, []byte(bad), 0o644)
	if code := run([]string{"suggest", file}, nil, &bytes.Buffer{}, &stderr); code != 1 || !strings.Contains(stderr.String(), "spec.algorithm.algorithmName") {
		t.Fatalf("invalid experiment: exit %d %s", code, stderr.String())
	}
}
