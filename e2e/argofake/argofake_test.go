package argofake

import (
	"context"
	"encoding/json"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	argofakecs "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// pod is a pod as Argo v3.7.9's controller makes it (the e2e cluster's
// outputs.yaml): template in the init container's ARGO_TEMPLATE, node id in
// an annotation, owned by its Workflow.
func pod(t *testing.T, name, node string, tmpl wfv1.Template, annotations map[string]string) *corev1.Pod {
	t.Helper()
	b, err := json.Marshal(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	a := map[string]string{AnnotationNodeID: node}
	for k, v := range annotations {
		a[k] = v
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "argo", Annotations: a,
			Labels:          map[string]string{LabelWorkflow: "wf"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "argoproj.io/v1alpha1", Kind: "Workflow", Name: "wf", UID: "uid-1"}},
		},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init", Env: []corev1.EnvVar{{Name: "ARGO_TEMPLATE", Value: string(b)}}}},
			Containers:     []corev1.Container{{Name: "wait"}, {Name: "main"}},
		},
	}
}

func TestReportOutputs(t *testing.T) {
	ctx := context.Background()
	withOutputs := wfv1.Template{Name: "produce", Outputs: wfv1.Outputs{Parameters: []wfv1.Parameter{
		{Name: "num", ValueFrom: &wfv1.ValueFrom{Path: "/tmp/num"}},
		{Name: "dflt", ValueFrom: &wfv1.ValueFrom{Path: "/tmp/d", Default: wfv1.AnyStringPtr("7")}},
	}}}
	without := wfv1.Template{Name: "echo"}
	script := pod(t, "wf-say-4", "wf-4", wfv1.Template{Name: "say"}, map[string]string{AnnotationOutputs: `{"result": "hi"}`})
	script.Spec.Containers[1].Env = []corev1.EnvVar{{Name: "ARGO_INCLUDE_SCRIPT_OUTPUT", Value: "true"}}
	done := pod(t, "wf-old", "wf-3", withOutputs, nil)
	done.Labels[LabelCompleted] = "true"
	kube := fake.NewClientset(
		pod(t, "wf-produce-1", "wf-1", withOutputs, map[string]string{AnnotationOutputs: `{"num": "42", "result": "out"}`}),
		pod(t, "wf-echo-2", "wf-2", without, nil),
		done,
		script,
	)
	argo := argofakecs.NewSimpleClientset()

	wrote, err := ReportOutputs(ctx, kube, argo, "argo", "wf", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(wrote) != 2 || wrote[0] != "wf-1" || wrote[1] != "wf-4" {
		t.Fatalf("wrote %v, want [wf-1 wf-4]", wrote)
	}
	say, err := argo.ArgoprojV1alpha1().WorkflowTaskResults("argo").Get(ctx, "wf-4", metav1.GetOptions{})
	if err != nil || say.Outputs.Result == nil || *say.Outputs.Result != "hi" {
		t.Fatalf("script's task result %+v, %v", say, err)
	}
	tr, err := argo.ArgoprojV1alpha1().WorkflowTaskResults("argo").Get(ctx, "wf-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Labels[LabelOutputsCompleted] != "true" || tr.Labels[LabelWorkflow] != "wf" {
		t.Errorf("labels %v", tr.Labels)
	}
	if len(tr.OwnerReferences) != 1 || tr.OwnerReferences[0].UID != "uid-1" || tr.OwnerReferences[0].Kind != "Workflow" {
		t.Errorf("owner %v", tr.OwnerReferences)
	}
	ps := tr.Outputs.Parameters
	if len(ps) != 2 || ps[0].Value.String() != "42" || ps[0].ValueFrom.Path != "/tmp/num" || ps[1].Value.String() != "7" {
		t.Errorf("parameters %+v", ps)
	}
	if tr.Outputs.Result == nil || *tr.Outputs.Result != "out" {
		t.Errorf("result %v", tr.Outputs.Result)
	}

	// Again: nothing new to write.
	if wrote, err := ReportOutputs(ctx, kube, argo, "argo", "", nil); err != nil || len(wrote) != 0 {
		t.Fatalf("second pass wrote %v, %v", wrote, err)
	}
}

func TestTemplateMissing(t *testing.T) {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}
	if _, err := Template(p); err == nil {
		t.Fatal("no error for a pod without ARGO_TEMPLATE")
	}
}
