package argo

import (
	"context"
	"fmt"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PodIP is the IP of the pod of a running step of workflow name (wf is a
// snapshot of it): where a long-running step, an IDE's notebook, listens.
// It is "" while no step's pod has an IP yet.
func (e *Engine) PodIP(ctx context.Context, name string, wf *wfv1.Workflow) (string, error) {
	for _, n := range wf.Status.Nodes {
		if n.Type != wfv1.NodeTypePod || n.Phase != wfv1.NodeRunning {
			continue
		}
		pod, err := e.kube.CoreV1().Pods(e.namespace).Get(ctx, podName(wf, n), metav1.GetOptions{})
		if err != nil {
			return "", fmt.Errorf("the pod of step %s of %s: %w", n.DisplayName, name, err)
		}
		return pod.Status.PodIP, nil
	}
	return "", nil
}
