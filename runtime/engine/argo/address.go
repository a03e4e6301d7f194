package argo

import (
	"context"
	"fmt"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
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

// Expose puts a Service named name in front of the pods labelled selector,
// port to port, owned by workflow name (Kubernetes deletes it with the
// workflow), and returns its in-cluster URL. A Service of that name that
// exists already (an earlier run of the same IDE) is kept: its selector
// finds the new pod.
func (e *Engine) Expose(ctx context.Context, workflow string, wf *wfv1.Workflow, name string, selector map[string]string, port int) (string, error) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.namespace, Labels: selector,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "argoproj.io/v1alpha1", Kind: "Workflow", Name: workflow, UID: wf.UID}}},
		Spec: corev1.ServiceSpec{Selector: selector, Ports: []corev1.ServicePort{{Name: "http", Port: int32(port), TargetPort: intstr.FromInt32(int32(port))}}},
	}
	_, err := e.kube.CoreV1().Services(e.namespace).Create(ctx, svc, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("expose %s: %w", workflow, err)
	}
	return fmt.Sprintf("http://%s.%s.svc:%d/", name, e.namespace, port), nil
}
