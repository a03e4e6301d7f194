package admission

import (
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"sigs.k8s.io/yaml"
)

// gpuTemplates are steps needing 0, 1, 2 and 4 GPUs.
const gpuTemplates = `
  - name: cpu
    container: {image: x}
  - name: g1
    container: {image: x, resources: {limits: {nvidia.com/gpu: 1}}}
  - name: g2
    container: {image: x, resources: {limits: {nvidia.com/gpu: 2}}}
  - name: g4
    container: {image: x, resources: {limits: {nvidia.com/gpu: 4}}}
`

func workflow(t *testing.T, body string) *wfv1.Workflow {
	t.Helper()
	wf := &wfv1.Workflow{}
	if err := yaml.UnmarshalStrict([]byte("spec:\n  entrypoint: main\n"+body), wf); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	return wf
}

// Each case's answer is computed by hand in its comment.
func TestPeakDemand(t *testing.T) {
	cases := []struct {
		name          string
		body          string
		gpus, largest int64
		dynamic       bool
	}{
		{"chain: one step at a time, the biggest wins (4)", `  templates:
  - name: main
    dag: {tasks: [{name: a, template: g1}, {name: b, template: g4, depends: a}, {name: c, template: g2, depends: b}]}
` + gpuTemplates, 4, 4, false},
		{"fan-out: all at once (1+2+4+1)", `  templates:
  - name: main
    dag: {tasks: [{name: a, template: g1}, {name: b, template: g2}, {name: c, template: g4}, {name: d, template: g1}]}
` + gpuTemplates, 8, 4, false},
		{"fan-out with parallelism 2: the two biggest (4+2)", `  templates:
  - name: main
    parallelism: 2
    dag: {tasks: [{name: a, template: g1}, {name: b, template: g2}, {name: c, template: g4}, {name: d, template: g1}]}
` + gpuTemplates, 6, 4, false},
		{"diamond: the middle pair (2+2) beats the ends (4, 1)", `  templates:
  - name: main
    dag: {tasks: [{name: a, template: g4}, {name: b, template: g2, depends: a}, {name: c, template: g2, depends: a}, {name: d, template: g1, depends: b && c}]}
` + gpuTemplates, 4, 4, false},
		{"two chains side by side: best cut {b, d} (2+4)", `  templates:
  - name: main
    dag: {tasks: [{name: a, template: g1}, {name: b, template: g2, depends: a}, {name: c, template: g1}, {name: d, template: g4, depends: c}]}
` + gpuTemplates, 6, 4, false},
		{"loop of 3 over a 2-GPU step (6)", `  templates:
  - name: main
    dag: {tasks: [{name: l, template: g2, withItems: [1, 2, 3]}]}
` + gpuTemplates, 6, 2, false},
		{"loop of 5 with the KFP parallelism wrapper of 2: 2 x 2", `  templates:
  - name: main
    dag: {tasks: [{name: w, template: wrap}]}
  - name: wrap
    parallelism: 2
    dag: {tasks: [{name: l, template: g2, withSequence: {count: "5"}}]}
` + gpuTemplates, 4, 2, false},
		{"nested loops: 2 outer x 3 inner x 1 GPU (6)", `  templates:
  - name: main
    dag: {tasks: [{name: outer, template: body, withItems: [a, b]}]}
  - name: body
    dag: {tasks: [{name: inner, template: g1, withItems: [1, 2, 3]}]}
` + gpuTemplates, 6, 1, false},
		{"exit hook runs after its task: max(2, 4) next to a 1-GPU sibling (5)", `  templates:
  - name: main
    dag: {tasks: [{name: body, template: g2, hooks: {exit: {template: g4}}}, {name: side, template: g1}]}
` + gpuTemplates, 5, 4, false},
		{"retry: attempts one after another (2), next to 1 (3)", `  templates:
  - name: main
    dag: {tasks: [{name: r, template: flaky}, {name: s, template: g1}]}
  - name: flaky
    retryStrategy: {limit: 3}
    container: {image: x, resources: {limits: {nvidia.com/gpu: 2}}}
` + gpuTemplates, 3, 2, false},
		{"workflow parallelism 1: one pod at a time, the biggest (4)", `  parallelism: 1
  templates:
  - name: main
    dag: {tasks: [{name: a, template: g1}, {name: b, template: g4}, {name: c, template: g2}]}
` + gpuTemplates, 4, 4, false},
		{"dynamic fan-out without a limit counts one iteration (2 + 1)", `  templates:
  - name: main
    dag: {tasks: [{name: gen, template: cpu}, {name: l, template: g2, withParam: "{{tasks.gen.outputs.result}}", depends: gen}, {name: s, template: g1}]}
` + gpuTemplates, 3, 2, true},
		{"withParam from a workflow parameter is known: 4 x 1", `  arguments: {parameters: [{name: xs, value: "[1,2,3,4]"}]}
  templates:
  - name: main
    dag: {tasks: [{name: l, template: g1, withParam: "{{workflow.parameters.xs}}"}]}
` + gpuTemplates, 4, 1, false},
		{"per-node packing: a 4-GPU step needs a 4-GPU node though the peak is 5", `  templates:
  - name: main
    dag: {tasks: [{name: big, template: g4}, {name: small, template: g1}]}
` + gpuTemplates, 5, 4, false},
		{"a round that calls itself after its GPU steps (an HPO experiment): one round's peak (2 x 2)", `  templates:
  - name: main
    dag: {tasks: [{name: suggest, template: cpu}, {name: trial, template: g2, withItems: [1, 2], depends: suggest},
      {name: next, template: main, depends: trial.Succeeded || trial.Failed}]}
` + gpuTemplates, 4, 2, false},
		{"CPU only", `  templates:
  - name: main
    dag: {tasks: [{name: a, template: cpu}]}
` + gpuTemplates, 0, 0, false},
	}
	if len(cases) < 10 {
		t.Fatal("want 10+ graphs")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := PeakDemand(workflow(t, tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if d.GPUs != tc.gpus || d.LargestStep != tc.largest || d.Dynamic != tc.dynamic {
				t.Fatalf("got %+v, want gpus %d largest %d dynamic %v", d, tc.gpus, tc.largest, tc.dynamic)
			}
			if tc.gpus > 0 && d.Resource != "nvidia.com/gpu" {
				t.Fatalf("resource %q", d.Resource)
			}
		})
	}
}

func TestPeakDemandErrors(t *testing.T) {
	for name, body := range map[string]string{
		"missing template":                  "  templates:\n  - name: main\n    dag: {tasks: [{name: a, template: nope}]}\n",
		"recursion beside a GPU step":       "  templates:\n  - name: main\n    dag: {tasks: [{name: a, template: main}, {name: b, template: g1}]}\n" + gpuTemplates,
		"recursion inside a loop of rounds": "  templates:\n  - name: main\n    dag: {tasks: [{name: s, template: g1}, {name: again, template: main, withItems: [1, 2], depends: s}]}\n" + gpuTemplates,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := PeakDemand(workflow(t, body)); err == nil {
				t.Fatal("no error")
			}
		})
	}
}
