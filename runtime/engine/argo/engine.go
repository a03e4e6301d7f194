package argo

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"

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

// normalise states a stopped workflow as the embedded engine does: Failed
// with message "stopped".
func normalise(w *wfv1.Workflow) *wfv1.Workflow {
	if w.Spec.Shutdown != "" && w.Status.Phase.Completed() && w.Status.Phase != wfv1.WorkflowSucceeded {
		w = w.DeepCopy()
		w.Status.Phase, w.Status.Message = wfv1.WorkflowFailed, "stopped"
	}
	return w
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
	pod := podName(wf, n)
	return e.kube.CoreV1().Pods(e.namespace).GetLogs(pod, &corev1.PodLogOptions{Container: "main"}).Stream(ctx)
}

var errNoStep = errors.New("not a step of the workflow")

// podName is the name Argo gives a step's pod: with pod names v2 (Argo's
// default, annotation workflows.argoproj.io/pod-name-format) WORKFLOW-
// TEMPLATE-FNV32A(node name), the prefix cut to 62 characters; with v1 the
// node id. It is written here rather than imported because Argo's
// workflow/util package pulls in its persistence drivers (cgo SQLite).
func podName(wf *wfv1.Workflow, n wfv1.NodeStatus) string {
	if wf.Annotations["workflows.argoproj.io/pod-name-format"] == "v1" {
		return n.ID
	}
	if wf.Name == n.Name {
		return wf.Name
	}
	prefix := wf.Name
	if n.TemplateName != "" {
		prefix += "-" + n.TemplateName
	}
	if len(prefix) > 62 {
		prefix = prefix[:62]
	}
	h := fnv.New32a()
	h.Write([]byte(n.Name))
	return fmt.Sprintf("%s-%d", prefix, h.Sum32())
}
