package engine

import (
	"context"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// Engine runs workflows. Submit starts a run and returns at once with the
// workflow's name; Watch delivers status snapshots until the run ends (the
// last one has a completed phase) and then closes the channel; Stop asks a
// running workflow to stop: running steps are signalled, nothing new starts,
// and the run ends Failed with message "stopped".
type Engine interface {
	Submit(ctx context.Context, wf *wfv1.Workflow) (name string, err error)
	Watch(ctx context.Context, name string) (<-chan *wfv1.Workflow, error)
	Stop(ctx context.Context, name string) error
}

// What the API server marks a multi-user run's workflow with, for the
// embedded engine: the group it runs for (step caching stays within it)
// and, as a JSON list, the artifact-store keys it may read besides its own
// — the dataset and model versions its version URIs were resolved to
// (runtime/versioning writes it). Annotations a compiled spec carries under
// these names are dropped first.
const (
	LabelGroup             = "kubeline.io/group"
	AnnotationReadableKeys = "kubeline.io/readable-keys"
)

// FailedSteps says which steps of a finished workflow failed and why
// ("NAME: MESSAGE; ..." sorted, DAG nodes left out: Argo leaves a failed
// DAG's message empty or repeats its steps'). It is "" when none did.
func FailedSteps(wf *wfv1.Workflow) string {
	var parts []string
	for _, n := range wf.Status.Nodes {
		if (n.Phase == wfv1.NodeFailed || n.Phase == wfv1.NodeError) && n.Message != "" && n.Type != wfv1.NodeTypeDAG {
			parts = append(parts, n.DisplayName+": "+n.Message)
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

// PodName is the name Argo gives the pod of a step (node name nodeName,
// template tmplName) in workflow wfName with its default v2 pod names:
// WORKFLOW-TEMPLATE-fnv32a(node name) (workflow/util.GeneratePodName). The
// embedded engine names its steps alike, so artifact keys and logs agree.
func PodName(wfName, nodeName, tmplName string) string {
	if wfName == nodeName {
		return wfName
	}
	prefix := wfName
	if tmplName != "" {
		prefix = wfName + "-" + tmplName
	}
	if len(prefix) > 253-10-1 {
		prefix = prefix[:253-10-1]
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(nodeName))
	return fmt.Sprintf("%s-%v", prefix, h.Sum32())
}
