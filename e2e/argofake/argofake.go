package argofake

import (
	"context"
	"encoding/json"
	"fmt"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Labels and annotations that Argo sets or reads, and the e2e environment's.
const (
	LabelWorkflow           = "workflows.argoproj.io/workflow"
	LabelCompleted          = "workflows.argoproj.io/completed"
	LabelOutputsCompleted   = "workflows.argoproj.io/report-outputs-completed"
	AnnotationNodeID        = "workflows.argoproj.io/node-id"
	AnnotationOutputs       = "e2e.kubeline.dev/outputs" // JSON {"param": "value", "result": "stdout"}
	envTemplate             = "ARGO_TEMPLATE"
	envIncludeScriptOutput  = "ARGO_INCLUDE_SCRIPT_OUTPUT"
	envTemplateOffloaded    = "offloaded"
	outputsResultKey        = "result"
	taskResultAPIVersion    = "argoproj.io/v1alpha1"
	taskResultKind          = "WorkflowTaskResult"
	workflowKindForOwnerRef = "Workflow"
)

// Values gives the outputs a step reports: tmpl.Outputs with values set.
type Values func(pod *corev1.Pod, tmpl *wfv1.Template) (*wfv1.Outputs, error)

// AnnotationValues is the default Values: each output parameter's value from
// the pod's annotation e2e.kubeline.dev/outputs (set through the template's
// metadata.annotations), else its valueFrom.default, else ""; "result" in
// the annotation is a script's stdout.
func AnnotationValues(pod *corev1.Pod, tmpl *wfv1.Template) (*wfv1.Outputs, error) {
	vals := map[string]string{}
	if a, ok := pod.Annotations[AnnotationOutputs]; ok {
		if err := json.Unmarshal([]byte(a), &vals); err != nil {
			return nil, fmt.Errorf("pod %s: annotation %s: %w", pod.Name, AnnotationOutputs, err)
		}
	}
	out := tmpl.Outputs.DeepCopy()
	for i := range out.Parameters {
		p := &out.Parameters[i]
		v, ok := vals[p.Name]
		if !ok && p.ValueFrom != nil && p.ValueFrom.Default != nil {
			v, ok = p.ValueFrom.Default.String(), true
		}
		p.Value = wfv1.AnyStringPtr(v)
	}
	if r, ok := vals[outputsResultKey]; ok {
		out.Result = &r
	}
	return out, nil
}

// Template is the template a pod of Argo runs: the JSON in env ARGO_TEMPLATE
// of its containers (in v3.7, of the init container "init").
func Template(pod *corev1.Pod) (*wfv1.Template, error) {
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			for _, e := range c.Env {
				if e.Name != envTemplate {
					continue
				}
				if e.Value == envTemplateOffloaded {
					return nil, fmt.Errorf("pod %s: its template is offloaded to a ConfigMap (not handled)", pod.Name)
				}
				var t wfv1.Template
				if err := json.Unmarshal([]byte(e.Value), &t); err != nil {
					return nil, fmt.Errorf("pod %s: %s: %w", pod.Name, envTemplate, err)
				}
				return &t, nil
			}
		}
	}
	return nil, fmt.Errorf("pod %s: no %s", pod.Name, envTemplate)
}

// includesScriptOutput: a later step uses this script's stdout (outputs.result).
// Argo does not wait for such a result: it must be written before the pod ends.
func includesScriptOutput(pod *corev1.Pod) bool {
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			for _, e := range c.Env {
				if e.Name == envIncludeScriptOutput && e.Value == "true" {
					return true
				}
			}
		}
	}
	return false
}

// ReportOutputs writes the task result of each pod of workflow wf (every
// workflow when wf is "") in namespace ns whose template declares outputs (or
// whose script output a later step uses),
// that has none yet and that Argo has not labelled completed (Argo deletes a
// finished workflow's task results). It returns the node ids it wrote. Call
// it repeatedly while workflows run (values nil: AnnotationValues).
func ReportOutputs(ctx context.Context, kube kubernetes.Interface, argo versioned.Interface, ns, wf string, values Values) ([]string, error) {
	if values == nil {
		values = AnnotationValues
	}
	sel := LabelWorkflow
	if wf != "" {
		sel = LabelWorkflow + "=" + wf
	}
	pods, err := kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, err
	}
	results := argo.ArgoprojV1alpha1().WorkflowTaskResults(ns)
	have, err := results.List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	done := map[string]bool{}
	for _, r := range have.Items {
		done[r.Name] = true
	}
	var wrote []string
	for i := range pods.Items {
		pod := &pods.Items[i]
		node := pod.Annotations[AnnotationNodeID]
		if node == "" {
			node = pod.Name
		}
		if done[node] || pod.Labels[LabelCompleted] == "true" {
			continue
		}
		tmpl, err := Template(pod)
		if err != nil {
			return wrote, err
		}
		if !tmpl.HasOutputs() && !includesScriptOutput(pod) {
			continue
		}
		out, err := values(pod, tmpl)
		if err != nil {
			return wrote, err
		}
		tr := &wfv1.WorkflowTaskResult{
			TypeMeta: metav1.TypeMeta{APIVersion: taskResultAPIVersion, Kind: taskResultKind},
			ObjectMeta: metav1.ObjectMeta{
				Name:      node,
				Namespace: ns,
				Labels: map[string]string{
					LabelWorkflow:         pod.Labels[LabelWorkflow],
					LabelOutputsCompleted: "true",
				},
			},
			NodeResult: wfv1.NodeResult{Outputs: out},
		}
		for _, o := range pod.OwnerReferences {
			if o.Kind == workflowKindForOwnerRef {
				tr.OwnerReferences = []metav1.OwnerReference{{APIVersion: taskResultAPIVersion, Kind: o.Kind, Name: o.Name, UID: o.UID}}
			}
		}
		if _, err := results.Create(ctx, tr, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return wrote, err
		}
		wrote = append(wrote, node)
	}
	return wrote, nil
}
