//go:build e2e

package argo

import (
	"context"
	"fmt"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// unschedulable is a parity case whose step asks more than the e2e node
// has (parity.yaml's unschedulable): instead of the run, the test checks
// that the apiserver took the step's pod with the limits the pipeline asks
// for (each a resource name Kubernetes accepts) and that the scheduler
// left it Pending for want of room, then deletes the workflow.
type unschedulable struct {
	Reason string            `json:"reason"`
	Limits map[string]string `json:"limits"`
}

func (c *realCluster) checkUnschedulable(t *testing.T, wf *wfv1.Workflow, u *unschedulable) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	name, err := c.e.Submit(ctx, wf)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := c.e.wf.ArgoprojV1alpha1().Workflows(c.Name).Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete %s: %v", name, err)
		}
	}()
	pod, msg, err := c.pendingPod(ctx, name)
	if err != nil {
		t.Fatalf("%v\n%s", err, c.Pods(name))
	}
	got := map[string]string{}
	for _, ctr := range pod.Spec.Containers {
		if ctr.Name == "main" {
			for n, q := range ctr.Resources.Limits {
				got[string(n)] = q.String()
			}
		}
	}
	if d := cmp.Diff(u.Limits, got); d != "" {
		t.Errorf("pod %s: main container's limits (-want +got):\n%s", pod.Name, d)
	}
	t.Logf("NOT RUN HERE (%s): pod %s Pending, the scheduler says %q; its limits are the pipeline's", u.Reason, pod.Name, msg)
}

// pendingPod waits for a pod of workflow name that the scheduler could not
// place (steps before it run), and returns it with the scheduler's message.
func (c *realCluster) pendingPod(ctx context.Context, name string) (*corev1.Pod, string, error) {
	for {
		pods, err := c.Kube.CoreV1().Pods(c.Name).List(ctx, metav1.ListOptions{LabelSelector: "workflows.argoproj.io/workflow=" + name})
		if err != nil {
			return nil, "", fmt.Errorf("pods of %s: %w", name, err)
		}
		for i, p := range pods.Items {
			for _, cond := range p.Status.Conditions {
				if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Reason == corev1.PodReasonUnschedulable {
					return &pods.Items[i], cond.Message, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil, "", fmt.Errorf("no pod of %s was left unschedulable: %w", name, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}
