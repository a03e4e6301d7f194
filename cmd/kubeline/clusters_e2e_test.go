//go:build e2e

package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeline/kubeline/runtime/engine/argo"
)

// TestRunsLandWhereSent: two registered clusters (two namespaces of the e2e
// API server); `kubeline run --cluster NAME` runs each pipeline in its
// cluster's namespace, on the real controller.
func TestRunsLandWhereSent(t *testing.T) {
	kc := os.Getenv("KUBELINE_E2E_KUBECONFIG")
	if kc == "" {
		t.Fatal("KUBELINE_E2E_KUBECONFIG is not set: start the e2e environment with e2e/cluster.sh up (make e2e does)")
	}
	t.Setenv("KUBELINE_HOME", t.TempDir())
	cfg, _, err := argo.Config(kc, "", "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	kube := kubernetes.NewForConfigOrDie(cfg)
	wfs := versioned.NewForConfigOrDie(cfg)
	sent := map[string]string{"a": "e2e-a", "b": "e2e-b"}
	for name, ns := range sent {
		_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		if code, _, errOut := cli(t, "clusters", "add", name, "--kubeconfig", kc, "--namespace", ns); code != 0 {
			t.Fatalf("clusters add %s: %s", name, errOut)
		}
	}
	pipelines := map[string]string{"a": "hello_world.yaml", "b": "hello_world.yaml"}
	for name, file := range pipelines {
		code, out, errOut := cli(t, "run", "--cluster", name, "../../../shared/kfp-corpus/ir/valid/"+file)
		if code != 0 || !strings.Contains(out, "Succeeded") {
			t.Fatalf("run --cluster %s: exit %d\n%s%s", name, code, out, errOut)
		}
	}
	for _, ns := range sent {
		list, err := wfs.ArgoprojV1alpha1().Workflows(ns).List(ctx, metav1.ListOptions{LabelSelector: "kubeline.io/pipeline=echo"})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 1 {
			t.Fatalf("namespace %s holds %d of the runs, want 1", ns, len(list.Items))
		}
	}
}
