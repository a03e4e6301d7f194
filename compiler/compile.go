package compiler

import (
	"fmt"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"sigs.k8s.io/yaml"

	"github.com/kubeline/kubeline/compiler/argo"
	"github.com/kubeline/kubeline/compiler/kfp"
	"github.com/kubeline/kubeline/compiler/spec"
)

// Options tune a compilation.
type Options = argo.Options

// Compile compiles the spec file name (its bytes in data) into one Argo
// Workflow. Every problem of the document is in the returned error.
func Compile(name string, data []byte, opts Options) (*wfv1.Workflow, error) {
	data, err := spec.Unpack(name, data)
	if err != nil {
		return nil, err
	}
	docs, err := spec.Parse(data)
	if err != nil {
		return nil, err
	}
	switch docs[0].Kind {
	case spec.KindPipeline, spec.KindPlatform:
		p, err := kfp.Load(docs)
		if err != nil {
			return nil, err
		}
		return argo.Compile(p, opts)
	case spec.KindExperiment, spec.KindDeployment, spec.KindProject:
		return nil, fmt.Errorf("%s: kind %s is %w by this version of kubeline", name, docs[0].Kind, spec.ErrUnsupported)
	}
	var es spec.Errors
	es.Add("", spec.PosOf(docs[0].Node), "unknown document kind: expected a KFP pipeline spec (pipelineInfo, root, components, deploymentSpec)")
	return nil, es.Err()
}

// Marshal renders a workflow as YAML, the form `kubeline compile` writes.
func Marshal(wf *wfv1.Workflow) ([]byte, error) {
	b, err := yaml.Marshal(wf)
	if err != nil {
		return nil, fmt.Errorf("render workflow as YAML: %w", err)
	}
	return b, nil
}
