package local_test

import (
	"fmt"
	"sync"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubeline/kubeline/runtime/engine/local"
	"github.com/kubeline/kubeline/runtime/launcher"
)

// TestSubscribersSeeEveryChange: OnNodes receives every node's final
// state (the last delivery of each node equals the returned workflow's
// node), the last OnUpdate snapshot is the final status, and nothing
// delivered — node copies or snapshots — is changed by the engine
// afterwards.
func TestSubscribersSeeEveryChange(t *testing.T) {
	type kept struct{ got, copied any }
	var (
		mu      sync.Mutex
		last    = wfv1.Nodes{}
		calls   int
		keep    []kept
		lastWF  *wfv1.Workflow
		ordered = map[string]int{} // node id -> index of its first delivery
	)
	opts := local.Options{Home: t.TempDir(), PythonExecutor: launcher.PythonBuiltin, MaxProcesses: 2,
		OnNodes: func(ns []wfv1.NodeStatus) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			for _, n := range ns {
				if _, seen := ordered[n.ID]; !seen {
					ordered[n.ID] = len(ordered)
				}
				last[n.ID] = n
			}
			keep = append(keep, kept{ns, deepCopyNodes(ns)})
		},
		OnUpdate: func(wf *wfv1.Workflow) {
			mu.Lock()
			defer mu.Unlock()
			lastWF = wf
			keep = append(keep, kept{wf, wf.DeepCopy()})
		},
	}
	out, logs := runWFWith(t, compileFile(t, "../../../examples/fan-out/pipeline.yaml", nil), opts)
	if out.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("phase %s: %s\n%s", out.Status.Phase, summary(out), logs)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(out.Status.Nodes, last); diff != "" {
		t.Errorf("last delivered state of each node differs from the final workflow (-final +delivered):\n%s", diff)
	}
	if diff := cmp.Diff(out.Status, lastWF.Status); diff != "" {
		t.Errorf("last snapshot differs from the final workflow (-final +snapshot):\n%s", diff)
	}
	for i, k := range keep {
		if diff := cmp.Diff(k.copied, k.got); diff != "" {
			t.Fatalf("delivery %d was changed after it was delivered (-as delivered +now):\n%s", i, diff)
		}
	}
	// Every node is delivered after the node it hangs from (its boundary).
	for id, n := range out.Status.Nodes {
		if b, ok := ordered[n.BoundaryID]; ok && b > ordered[id] {
			t.Errorf("node %s delivered before its boundary %s", n.DisplayName, n.BoundaryID)
		}
	}
	if calls >= len(keep) || calls == 0 {
		t.Errorf("%d OnNodes calls of %d deliveries", calls, len(keep))
	}
}

func deepCopyNodes(ns []wfv1.NodeStatus) []wfv1.NodeStatus {
	out := make([]wfv1.NodeStatus, len(ns))
	for i := range ns {
		ns[i].DeepCopyInto(&out[i])
	}
	return out
}

// TestLoopManyItemsFewSlots: a loop of more items than the engine keeps
// in flight (2 × MaxProcesses) runs every item once, and the group lists
// its items in item order, as Argo does.
func TestLoopManyItemsFewSlots(t *testing.T) {
	const n = 25
	items := make([]wfv1.Item, n)
	for i := range items {
		items[i] = wfv1.Item{Value: []byte(fmt.Sprintf("%q", fmt.Sprintf("v%d", i)))}
	}
	wf := &wfv1.Workflow{}
	wf.Name = "loop"
	wf.Spec.Entrypoint = "main"
	wf.Spec.Templates = []wfv1.Template{
		{Name: "main", DAG: &wfv1.DAGTemplate{Tasks: []wfv1.DAGTask{{Name: "each", Template: "echo", WithItems: items,
			Arguments: wfv1.Arguments{Parameters: []wfv1.Parameter{{Name: "x", Value: wfv1.AnyStringPtr("{{item}}")}}}}}}},
		{Name: "echo", Inputs: wfv1.Inputs{Parameters: []wfv1.Parameter{{Name: "x"}}},
			Container: &corev1.Container{Command: []string{"sh", "-c", `echo "$0" > /out.txt`, "{{inputs.parameters.x}}"}},
			Outputs:   wfv1.Outputs{Parameters: []wfv1.Parameter{{Name: "x", ValueFrom: &wfv1.ValueFrom{Path: "/out.txt"}}}}},
	}
	out, logs := runWFWith(t, wf, local.Options{Home: t.TempDir(), MaxProcesses: 1})
	if out.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("phase %s: %s\n%s", out.Status.Phase, summary(out), logs)
	}
	group := nodesByDisplay(out)["each"]
	var got, want []string
	for i := 0; i < n; i++ {
		want = append(want, fmt.Sprintf("each(%d:v%d) Succeeded v%d", i, i, i)) // one trailing newline trimmed, as Argo does
	}
	for _, id := range group.Children {
		c := out.Status.Nodes[id]
		got = append(got, fmt.Sprintf("%s %s %s", c.DisplayName, c.Phase, param(t, c, "x")))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the group's items (-want +got):\n%s", diff)
	}
}
