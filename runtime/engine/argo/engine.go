package argo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	kengine "github.com/kubeline/kubeline/runtime/engine"
)

// Engine runs workflows in one namespace of one cluster.
type Engine struct {
	wf        versioned.Interface
	kube      kubernetes.Interface
	namespace string
	podEnv    []corev1.EnvVar
}

// SetPodEnv gives the launcher steps that use the artifact store themselves
// (experiments, trials, version lookups) env, PodEnv of the store.
func (e *Engine) SetPodEnv(env []corev1.EnvVar) { e.podEnv = env }

// New returns an engine for the cluster cfg reaches, in namespace.
func New(cfg *rest.Config, namespace string) (*Engine, error) {
	wf, err := versioned.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("argo engine: %w", err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("argo engine: %w", err)
	}
	if namespace == "" {
		namespace = "default"
	}
	return &Engine{wf: wf, kube: kube, namespace: namespace}, nil
}

// Config reads a kubeconfig (path "" means the usual places, $KUBECONFIG
// and ~/.kube/config) and one of its contexts ("" means the current one);
// with neither a kubeconfig nor a context it falls back to the in-cluster
// config. The namespace is the context's unless ns is set.
func Config(path, kubeContext, ns string) (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if path != "" {
		rules.ExplicitPath = path
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext})
	cfg, err := cc.ClientConfig()
	if err != nil && path == "" && kubeContext == "" {
		if in, ierr := rest.InClusterConfig(); ierr == nil {
			cfg, err = in, nil
		}
	}
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig: %w", err)
	}
	if ns == "" {
		if ns, _, err = cc.Namespace(); err != nil || ns == "" {
			ns = "default"
		}
	}
	return cfg, ns, nil
}

// Submit creates the workflow in the engine's namespace.
func (e *Engine) Submit(ctx context.Context, wf *wfv1.Workflow) (string, error) {
	wf = wf.DeepCopy()
	wf.Namespace = e.namespace
	addPodEnv(wf, e.podEnv)
	wf.ResourceVersion = ""
	created, err := e.wf.ArgoprojV1alpha1().Workflows(e.namespace).Create(ctx, wf, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("submit workflow %s%s to namespace %s: %w", wf.Name, wf.GenerateName, e.namespace, err)
	}
	return created.Name, nil
}

// Watch delivers the workflow's status until it completes. A watch the API
// server closes early is opened again from the last version seen.
func (e *Engine) Watch(ctx context.Context, name string) (<-chan *wfv1.Workflow, error) {
	client := e.wf.ArgoprojV1alpha1().Workflows(e.namespace)
	first, err := client.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("watch workflow %s: %w", name, err)
	}
	out := make(chan *wfv1.Workflow, 16)
	go func() {
		defer close(out)
		last := first
		send := func(w *wfv1.Workflow) bool {
			w = normalise(w)
			select {
			case out <- w:
			case <-ctx.Done():
				return false
			}
			return !w.Status.Phase.Completed()
		}
		if !send(first) {
			return
		}
		for ctx.Err() == nil {
			w, err := client.Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String(),
				ResourceVersion: last.ResourceVersion})
			if err != nil {
				return
			}
			for ev := range w.ResultChan() {
				wf, ok := ev.Object.(*wfv1.Workflow)
				if !ok || ev.Type == watch.Error {
					break
				}
				if ev.Type == watch.Deleted {
					w.Stop()
					return
				}
				last = wf
				if !send(wf) {
					w.Stop()
					return
				}
			}
			w.Stop()
		}
	}()
	return out, nil
}

// normalise states a workflow as the embedded engine does: a stopped one
// Failed with message "stopped", and the steps' outputs without the logs
// Argo's executor archived (archiveLogs adds each container's log as an
// output artifact CONTAINER-logs; the embedded engine archives logs at the
// same keys without making them outputs, and the log route finds them by
// key, artifact.LogKey).
func normalise(w *wfv1.Workflow) *wfv1.Workflow {
	stopped := w.Spec.Shutdown != "" && w.Status.Phase.Completed() && w.Status.Phase != wfv1.WorkflowSucceeded
	logs := archivedLogNodes(w)
	if !stopped && len(logs) == 0 {
		return w
	}
	w = w.DeepCopy()
	if stopped {
		w.Status.Phase, w.Status.Message = wfv1.WorkflowFailed, "stopped"
	}
	for _, id := range logs {
		n := w.Status.Nodes[id]
		n.Outputs.Artifacts = slices.DeleteFunc(n.Outputs.Artifacts, func(a wfv1.Artifact) bool { return archivedLog(w, n, a) })
		if len(n.Outputs.Artifacts) == 0 {
			n.Outputs.Artifacts = nil
		}
		w.Status.Nodes[id] = n
	}
	return w
}

// archivedLogNodes are the nodes whose outputs hold an archived log.
func archivedLogNodes(w *wfv1.Workflow) []string {
	var ids []string
	for id, n := range w.Status.Nodes {
		if n.Outputs != nil && slices.ContainsFunc(n.Outputs.Artifacts, func(a wfv1.Artifact) bool { return archivedLog(w, n, a) }) {
			ids = append(ids, id)
		}
	}
	return ids
}

// archivedLog says whether a is the log Argo's executor archived for a
// container of node n: named CONTAINER-logs, stored as CONTAINER.log, and
// not an output the step's template declares.
func archivedLog(w *wfv1.Workflow, n wfv1.NodeStatus, a wfv1.Artifact) bool {
	container, ok := strings.CutSuffix(a.Name, "-logs")
	if !ok || a.S3 == nil || path.Base(a.S3.Key) != container+".log" {
		return false
	}
	if t := w.GetTemplateByName(n.TemplateName); t != nil && slices.ContainsFunc(t.Outputs.Artifacts, func(d wfv1.Artifact) bool { return d.Name == a.Name }) {
		return false
	}
	return true
}

// Stop asks Argo to stop the workflow (shutdown strategy Stop: running
// steps are stopped, nothing new starts, exit handlers run).
func (e *Engine) Stop(ctx context.Context, name string) error {
	patch := []byte(`{"spec":{"shutdown":"Stop"}}`)
	_, err := e.wf.ArgoprojV1alpha1().Workflows(e.namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("stop workflow %s: %w", name, err)
	}
	return nil
}

// Logs streams the main container's log of one step (a Pod node).
func (e *Engine) Logs(ctx context.Context, name, nodeID string) (io.ReadCloser, error) {
	wf, err := e.wf.ArgoprojV1alpha1().Workflows(e.namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("logs of %s: %w", name, err)
	}
	n, ok := wf.Status.Nodes[nodeID]
	if !ok || n.Type != wfv1.NodeTypePod {
		return nil, fmt.Errorf("logs of %s: no step %s: %w", name, nodeID, errNoStep)
	}
	return e.PodLog(ctx, name, podName(wf, n))
}

// PodLog streams what the main container of pod, a step of workflow, has
// printed, while the pod exists (the Kubernetes API's pods/log). A pod of
// another workflow, or none of Argo's, is refused.
func (e *Engine) PodLog(ctx context.Context, workflow, pod string) (io.ReadCloser, error) {
	p, err := e.kube.CoreV1().Pods(e.namespace).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("log of pod %s: %w", pod, err)
	}
	if p.Labels[labelWorkflow] != workflow {
		return nil, fmt.Errorf("log of pod %s: %w %s", pod, errNoStep, workflow)
	}
	rc, err := e.kube.CoreV1().Pods(e.namespace).GetLogs(pod, &corev1.PodLogOptions{Container: "main"}).Stream(ctx)
	if err != nil {
		return nil, fmt.Errorf("log of pod %s: %w", pod, err)
	}
	return rc, nil
}

// labelWorkflow is the label Argo gives a workflow's pods (its name).
const labelWorkflow = "workflows.argoproj.io/workflow"

var errNoStep = errors.New("not a step of the workflow")

// podName is the name Argo gives a step's pod: with pod names v2 (Argo's
// default, annotation workflows.argoproj.io/pod-name-format)
// engine.PodName; with v1 the node id.
func podName(wf *wfv1.Workflow, n wfv1.NodeStatus) string {
	if wf.Annotations["workflows.argoproj.io/pod-name-format"] == "v1" {
		return n.ID
	}
	return kengine.PodName(wf.Name, n.Name, n.TemplateName)
}
