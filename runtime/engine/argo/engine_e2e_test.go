//go:build e2e

package argo

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// These tests need the e2e environment (e2e/cluster.sh up): a real
// kube-apiserver and Argo's workflow-controller, pods faked by kwok.
// KUBELINE_E2E_KUBECONFIG names its kubeconfig; without it the tests fail.
func engine(t *testing.T) *Engine {
	t.Helper()
	path := os.Getenv("KUBELINE_E2E_KUBECONFIG")
	if path == "" {
		t.Fatal("KUBELINE_E2E_KUBECONFIG is not set: start the e2e environment with e2e/cluster.sh up")
	}
	cfg, ns, err := Config(path, "", "default")
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(cfg, ns)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func last(t *testing.T, ch <-chan *wfv1.Workflow) *wfv1.Workflow {
	t.Helper()
	return lastWithin(t, ch, 2*time.Minute)
}

// lastWithin is the last status of ch, which must close (the workflow
// completed) within d.
func lastWithin(t *testing.T, ch <-chan *wfv1.Workflow, d time.Duration) *wfv1.Workflow {
	t.Helper()
	var w *wfv1.Workflow
	timeout := time.After(d)
	for {
		select {
		case x, ok := <-ch:
			if !ok {
				if w == nil {
					t.Fatal("no status")
				}
				return w
			}
			w = x
		case <-timeout:
			if w == nil {
				t.Fatalf("no status of the workflow in %s", d)
			}
			t.Fatalf("the workflow did not complete in %s; last phase %v, spec.shutdown %q, nodes %v", d, w.Status.Phase, w.Spec.Shutdown, nodePhases(w))
		}
	}
}

func TestSubmitWatch(t *testing.T) {
	t.Parallel()
	e := engine(t)
	ctx := context.Background()
	wf := &wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-hello-"}, Spec: wfv1.WorkflowSpec{
		Entrypoint: "main",
		Templates:  []wfv1.Template{{Name: "main", Container: &corev1.Container{Image: "alpine:3.20", Command: []string{"true"}}}},
	}}
	name, err := e.Submit(ctx, wf)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := e.Watch(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if w := last(t, ch); w.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("phase %s: %s", w.Status.Phase, w.Status.Message)
	}
}

func TestStop(t *testing.T) {
	e := engine(t)
	ctx := context.Background()
	wf := &wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-stop-"}, Spec: wfv1.WorkflowSpec{
		Entrypoint: "main",
		Templates:  []wfv1.Template{{Name: "main", Suspend: &wfv1.SuspendTemplate{}}},
	}}
	name, err := e.Submit(ctx, wf)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := e.Watch(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	// Stop once the suspend node is active (Running): the controller fails
	// an active suspend node on Stop; the workflow's own phase is Running
	// before that.
	suspended := false
	for w := range ch {
		if activeSuspend(w) {
			suspended = true
			break
		}
	}
	if !suspended {
		t.Fatal("the watch ended before the suspend node was active")
	}
	if err := e.Stop(ctx, name); err != nil {
		t.Fatal(err)
	}
	w := lastWithin(t, ch, 5*time.Minute)
	if w.Status.Phase != wfv1.WorkflowFailed || w.Status.Message != "stopped" {
		t.Fatalf("a stopped workflow: %s %q (spec.shutdown %q, nodes %v)", w.Status.Phase, w.Status.Message, w.Spec.Shutdown, nodePhases(w))
	}
}

// activeSuspend says whether w has a suspend node that is Running.
func activeSuspend(w *wfv1.Workflow) bool {
	for _, n := range w.Status.Nodes {
		if n.Type == wfv1.NodeTypeSuspend && n.Phase == wfv1.NodeRunning {
			return true
		}
	}
	return false
}

// nodePhases is each node of w with its type, phase and message.
func nodePhases(w *wfv1.Workflow) []string {
	var out []string
	for _, n := range w.Status.Nodes {
		out = append(out, fmt.Sprintf("%s %s %s %q", n.Name, n.Type, n.Phase, n.Message))
	}
	return out
}
