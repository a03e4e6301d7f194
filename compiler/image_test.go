package compiler

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// catalogPipeline has three tasks: train and eval name catalog images,
// fetch a plain reference.
const catalogPipeline = `components:
  comp-train: {executorLabel: exec-train}
  comp-eval: {executorLabel: exec-eval}
  comp-fetch: {executorLabel: exec-fetch}
deploymentSpec:
  executors:
    exec-train:
      container: {image: 'image://%s', command: [python3, -c, 'print(1)']}
    exec-eval:
      container: {image: 'image://%s', command: [python3, -c, 'print(2)']}
    exec-fetch:
      container: {image: 'alpine:3.20', command: [sh, -c, 'true']}
pipelineInfo: {name: catalog}
root:
  dag:
    tasks:
      train: {componentRef: {name: comp-train}, taskInfo: {name: train}}
      eval: {componentRef: {name: comp-eval}, taskInfo: {name: eval}, dependentTasks: [train]}
      fetch: {componentRef: {name: comp-fetch}, taskInfo: {name: fetch}}
schemaVersion: 2.1.0
`

// TestCatalogImages: image://NAME compiles to the catalog's reference (the
// workflow names plain images only); unknown names are one error per task
// naming it, all reported together; no catalog at all says so.
func TestCatalogImages(t *testing.T) {
	catalog := map[string]string{"torch": "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime", "sk": "quay.io/jupyter/scipy-notebook:2026-08-24"}
	wf, err := Compile("p.yaml", []byte(fmt.Sprintf(catalogPipeline, "torch", "sk")), Options{Images: catalog})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, tmpl := range wf.Spec.Templates {
		if tmpl.Container != nil {
			got[tmpl.Name] = tmpl.Container.Image
		}
	}
	want := map[string]string{"train": catalog["torch"], "eval": catalog["sk"], "fetch": "alpine:3.20"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("container images (-want +got)\n%s", diff)
	}
	b, _ := Marshal(wf)
	if strings.Contains(string(b), "image://") {
		t.Fatalf("the workflow still names the catalog:\n%s", b)
	}

	_, err = Compile("p.yaml", []byte(fmt.Sprintf(catalogPipeline, "torhc", "nope")), Options{Images: catalog})
	if err == nil {
		t.Fatal("unknown catalog names compiled")
	}
	for _, w := range []string{
		"root.dag.tasks[train]: deploymentSpec.executors[exec-train].container.image: image://torhc is not in the image catalog (it has sk, torch)",
		"root.dag.tasks[eval]: deploymentSpec.executors[exec-eval].container.image: image://nope is not in the image catalog",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
	if strings.Contains(err.Error(), "fetch") {
		t.Errorf("the plain image of fetch was refused:\n%v", err)
	}
	_, err = Compile("p.yaml", []byte(fmt.Sprintf(catalogPipeline, "torch", "sk")), Options{})
	if err == nil || !strings.Contains(err.Error(), "root.dag.tasks[train]") || !strings.Contains(err.Error(), "has none") {
		t.Fatalf("no catalog: %v", err)
	}
}

// TestCatalogImagesDeployment: a KServe Deployment's predictor and
// transformer may name catalog images too.
func TestCatalogImagesDeployment(t *testing.T) {
	doc := `apiVersion: kubeline.io/v1alpha1
kind: Deployment
metadata: {name: iris}
spec:
  model: iris@v1
  target: kserve
  predictor: {image: 'image://sk', command: [python3, serve.py]}
  transformer: {image: 'image://%s', command: [python3, t.py]}
`
	wf, err := Compile("d.yaml", []byte(fmt.Sprintf(doc, "sk")), Options{Images: map[string]string{"sk": "ghcr.io/team/sk:1"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Marshal(wf)
	if strings.Contains(string(b), "image://") || strings.Count(string(b), "ghcr.io/team/sk:1") != 2 {
		t.Fatalf("deployment images not resolved:\n%s", b)
	}
	_, err = Compile("d.yaml", []byte(fmt.Sprintf(doc, "gone")), Options{Images: map[string]string{"sk": "ghcr.io/team/sk:1"}})
	if err == nil || !strings.Contains(err.Error(), "spec.transformer.image: image://gone is not in the image catalog") {
		t.Fatalf("unknown transformer image: %v", err)
	}
}
