package apiserver_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubeline/kubeline/runtime/apiserver"
	"github.com/kubeline/kubeline/runtime/engine"
	"github.com/kubeline/kubeline/runtime/store"
)

// TestWorkflowNameFitsKubernetes: a run's workflow name, with the whole run
// id, is a valid object name and label value (Argo labels every pod with
// its workflow's name; at most 63 characters), and its pods' names stay
// within Kubernetes' 253.
func TestWorkflowNameFitsKubernetes(t *testing.T) {
	id := store.NewID()
	name := apiserver.WorkflowName(id)
	if name != "run-"+id {
		t.Errorf("WorkflowName(%s) = %s, want the whole id in it", id, name)
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		t.Errorf("%s is no object name: %v", name, errs)
	}
	if errs := validation.IsValidLabelValue(name); len(errs) > 0 {
		t.Errorf("%s is no label value: %v", name, errs)
	}
	long := "a-template-name-as-long-as-the-kfp-sdk-writes-them-for-nested-pipelines-and-loops"
	pod := engine.PodName(name, name+".root.for-loop-2(7).train", long)
	if errs := validation.IsDNS1123Subdomain(pod); len(errs) > 0 {
		t.Errorf("pod name %s: %v", pod, errs)
	}
}
