package main

import (
	"regexp"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStepName(t *testing.T) {
	nodes := nodeTree{
		"outer1": {display: "for-loop-2(1:b)", boundary: "wf"},
		"inner0": {display: "for-loop-4(0:7)", boundary: "outer1"},
		"long":   {display: `for-loop-6(3:{"a": 1, "b": "a long value indeed"})`, boundary: "wf"},
		"wf":     {display: "wf"},
		// A boundary loop (not made by Argo) ends the walk.
		"self": {display: "for-loop-8(5:x)", boundary: "self"},
	}
	cases := []struct {
		node wfv1.NodeStatus
		want string
	}{
		{wfv1.NodeStatus{DisplayName: "train", BoundaryID: "wf"}, "train"},
		{wfv1.NodeStatus{DisplayName: "square", BoundaryID: "inner0"}, "square [b, 7]"},
		{wfv1.NodeStatus{DisplayName: "fit", BoundaryID: "long"}, "fit [#3]"},
		{wfv1.NodeStatus{DisplayName: "echo(2:x)", BoundaryID: "wf"}, "echo [x]"},
		{wfv1.NodeStatus{DisplayName: "lost", BoundaryID: "gone"}, "lost"},
		{wfv1.NodeStatus{DisplayName: "spin", BoundaryID: "self"}, "spin [x]"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, stepName(tc.node, nodes))
	}
}

// TestProgressNamesIterations runs the fan-out example as a user does with
// stderr not a terminal: each loop iteration's lines name its item (the
// five `square` lines were identical), and the iterations' Running lines
// come in the loop's order.
func TestProgressNamesIterations(t *testing.T) {
	pipeline := absPath(t, "../../examples/fan-out/pipeline.yaml")
	r := kubelineIn(t, t.TempDir(), []string{"KUBELINE_HOME=" + t.TempDir()}, "run", pipeline)
	require.Equal(t, 0, r.code, r.stderr)
	var running, succeeded []string
	step := regexp.MustCompile(`^([✓…]) (square.*?)\s+(Running|Succeeded)`)
	for _, l := range strings.Split(r.stderr, "\n") {
		m := step.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if m[3] == "Running" {
			running = append(running, m[2])
		} else {
			succeeded = append(succeeded, m[2])
		}
	}
	all := []string{"square [1]", "square [2]", "square [3]", "square [4]", "square [5]"}
	assert.ElementsMatch(t, all, succeeded)
	if d := cmp.Diff(all, running); d != "" {
		t.Errorf("Running lines (-want +got):\n%s\n%s", d, r.stderr)
	}
}
