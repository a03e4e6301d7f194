//go:build e2e

package argo

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeline/kubeline/compiler/ide"
)

// realNode is a Ready node that runs real pods (not one kwok fakes), ""
// when the cluster has none.
func realNode(t *testing.T, e *Engine) string {
	t.Helper()
	nodes, err := e.kube.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes.Items {
		if n.Annotations["kwok.x-k8s.io/node"] == "fake" {
			continue
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return n.Name
			}
		}
	}
	return ""
}

// TestIDEWorkflowServes (issue 21, acceptance 4): the compiled IDE
// workflow runs on Argo until it is stopped; its notebook step's pod is
// Running and the engine finds its address (what the server reports as the
// IDE's URL). On a real node the URL answers HTTP; on kwok's fake nodes no
// process runs, so the test holds the pod Running (kwok's hold label) and
// says that the URL was not asked.
func TestIDEWorkflowServes(t *testing.T) {
	t.Parallel()
	e := engine(t)
	ctx := context.Background()
	wf, err := ide.CompileWorkflow(ide.Spec{Name: "e2e-lab", Image: "python:3.12-slim",
		Command: []string{"python3", "-m", "http.server", ide.PortVar}})
	if err != nil {
		t.Fatal(err)
	}
	real := realNode(t, e)
	tmpl := &wf.Spec.Templates[0]
	if real == "" {
		tmpl.Metadata.Labels["e2e.kubeline.dev/hold"] = "true"
	} else {
		tmpl.NodeSelector = map[string]string{"kubernetes.io/hostname": real}
	}
	name, err := e.Submit(ctx, wf)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := e.Watch(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	var ip string
	deadline := time.After(3 * time.Minute)
	for ip == "" {
		select {
		case w, ok := <-ch:
			if !ok || w.Status.Phase.Completed() {
				t.Fatalf("the IDE workflow ended before it served: %v %s", w.Status.Phase, w.Status.Message)
			}
			if w.Status.Phase != wfv1.WorkflowRunning {
				continue
			}
			if ip, err = e.PodIP(ctx, name, w); err != nil {
				t.Fatal(err)
			}
		case <-deadline:
			t.Fatal("the IDE's pod never ran with an address")
		case <-time.After(time.Second):
			w, err := e.wf.ArgoprojV1alpha1().Workflows(e.namespace).Get(ctx, name, metav1.GetOptions{})
			if err == nil && w.Status.Phase == wfv1.WorkflowRunning {
				ip, _ = e.PodIP(ctx, name, w)
			}
		}
	}
	url := "http://" + ip + ":" + strconv.Itoa(ide.DefaultPort) + "/"
	if real == "" {
		t.Logf("kwok's fake pod of %s is Running at %s; no process runs there, so its URL %s was not asked", name, ip, url)
	} else {
		answered := false
		for stop := time.Now().Add(2 * time.Minute); time.Now().Before(stop) && !answered; time.Sleep(time.Second) {
			if res, err := http.Get(url); err == nil {
				res.Body.Close()
				answered = res.StatusCode == http.StatusOK
			}
		}
		if !answered {
			t.Fatalf("the IDE's URL %s on node %s never answered", url, real)
		}
		t.Logf("the IDE's URL %s on real node %s answered", url, real)
	}
	cur, err := e.wf.ArgoprojV1alpha1().Workflows(e.namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svcURL, err := e.Expose(ctx, name, cur, "ide-e2e-lab", map[string]string{ide.LabelIDE: "e2e-lab"}, ide.DefaultPort)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := e.kube.CoreV1().Services(e.namespace).Get(ctx, "ide-e2e-lab", metav1.GetOptions{})
	if err != nil || svcURL != "http://ide-e2e-lab."+e.namespace+".svc:8888/" || svc.OwnerReferences[0].UID != cur.UID {
		t.Fatalf("the IDE's Service: %s %+v %v", svcURL, svc, err)
	}
	if _, err := e.Expose(ctx, name, cur, "ide-e2e-lab", map[string]string{ide.LabelIDE: "e2e-lab"}, ide.DefaultPort); err != nil {
		t.Fatalf("expose again: %v", err)
	}
	if err := e.Stop(ctx, name); err != nil {
		t.Fatal(err)
	}
	if w := last(t, ch); !w.Status.Phase.Completed() || w.Status.Message != "stopped" {
		t.Fatalf("after the stop: %s %q", w.Status.Phase, w.Status.Message)
	}
}
