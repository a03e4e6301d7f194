package compiler

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	yamlv2 "go.yaml.in/yaml/v2"
	"sigs.k8s.io/yaml"

	"github.com/kubeline/kubeline/compiler/argo"
	"github.com/kubeline/kubeline/compiler/deploy"
	"github.com/kubeline/kubeline/compiler/hpo"
	"github.com/kubeline/kubeline/compiler/imagebuild"
	"github.com/kubeline/kubeline/compiler/kfp"
	"github.com/kubeline/kubeline/compiler/spec"
)

// Options tune a compilation.
type Options struct {
	// Params override pipeline parameters (root input parameters) by name.
	Params map[string]string
	// ParamsField names where Params came from in errors ("--param" when
	// empty).
	ParamsField string
	// Image is the kubeline image for the init container and kubeline's own
	// steps; argo.DefaultImage when empty.
	Image string
	// BaseDir is where files a document names by relative path are read
	// from (an Experiment's trialTemplate.pipelineFile); "." when empty.
	BaseDir string
	// NoFiles refuses documents that name files to read (a server compiles
	// its users' documents: it reads no host file on their behalf).
	NoFiles bool
	// PipelineVersion returns the pipeline spec (KFP's pipeline_spec, as
	// YAML or JSON) of a stored pipeline version, for an Experiment whose
	// trial is a pipelineVersionReference. Nil refuses such references.
	PipelineVersion func(pipelineID, versionID string) ([]byte, error)
	// Limits bound reading the file (spec.DefaultLimits when zero).
	Limits spec.Limits
	// Images is the image catalog (names to image references) that
	// image://NAME images are resolved with; an unknown name is an error
	// naming the task.
	Images map[string]string
	// DeferImages leaves image://NAME unresolved: the compilation only
	// validates (argo.Options.DeferImages).
	DeferImages bool
}

func (o Options) argo() argo.Options {
	return argo.Options{Params: o.Params, ParamsField: o.ParamsField, Image: o.Image, Images: o.Images, DeferImages: o.DeferImages}
}

// Compile compiles the spec file name (its bytes in data) into one Argo
// Workflow. Every problem of the document is in the returned error.
func Compile(name string, data []byte, opts Options) (*wfv1.Workflow, error) {
	data, err := opts.Limits.Unpack(name, data)
	if err != nil {
		return nil, err
	}
	docs, release, err := opts.Limits.ParseReusing(data)
	if err != nil {
		release()
		return nil, err
	}
	switch docs[0].Kind {
	case spec.KindPipeline, spec.KindPlatform:
		// Neither kfp.Pipeline nor the workflow holds a YAML node (they
		// hold strings, which are not the parse's memory): once compiled,
		// the tree's memory goes back for the next file.
		p, err := kfp.Load(docs)
		if err != nil {
			release()
			return nil, err
		}
		wf, err := argo.Compile(p, opts.argo())
		release()
		return wf, err
	case spec.KindExperiment:
		return compileExperiment(docs[0], opts)
	case spec.KindDeployment:
		d, err := deploy.Decode(docs[0].Node)
		if err != nil {
			return nil, err
		}
		return deploy.CompileWorkflow(d, opts.argo())
	case spec.KindImageBuild:
		b, err := imagebuild.Decode(docs[0].Node)
		if err != nil {
			return nil, err
		}
		return imagebuild.CompileWorkflow(b, opts.argo())
	case spec.KindProject:
		return nil, fmt.Errorf("%s: kind %s is %w by this version of kubeline", name, docs[0].Kind, spec.ErrUnsupported)
	case spec.KindMonitor:
		m, err := deploy.DecodeMonitor(docs[0].Node)
		if err == nil {
			err = m.Validate()
		}
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%s: a Monitor is not compiled into a workflow: the server keeps it (kubeline monitors create %s)", name, name)
	}
	var es spec.Errors
	es.Add("", spec.PosOf(docs[0].Node), "unknown document kind: expected a KFP pipeline spec (pipelineInfo, root, components, deploymentSpec)")
	return nil, es.Err()
}

// Marshal renders a workflow as YAML, the form `kubeline compile` writes.
// Empty fields that Go's encoders leave behind (inputs: {}, metadata: {},
// creationTimestamp: null, resources: {}) are dropped; they mean nothing to
// Argo and would only grow the file.
func Marshal(wf *wfv1.Workflow) ([]byte, error) {
	// The tree is written and dropped: it is built in a pooled arena.
	arena := newTreeArena()
	if tree, ok := buildTree(wf, arena); ok {
		if out, ok := writeYAML(tree, 0); ok {
			arena.release()
			return out, nil
		}
	}
	arena.release()
	b, err := json.Marshal(wf)
	if err != nil {
		return nil, fmt.Errorf("render workflow: %w", err)
	}
	v, err := yamlTree(b)
	if err != nil {
		return nil, err
	}
	if out, ok := writeYAML(v, len(b)+len(b)/4); ok {
		return out, nil
	}
	out, err := yamlv2.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("render workflow as YAML: %w", err)
	}
	return out, nil
}

// prunable are keys whose empty value carries no meaning in a Workflow.
var prunable = map[string]bool{"inputs": true, "outputs": true, "metadata": true, "arguments": true,
	"resources": true, "status": true, "creationTimestamp": true}

// compileExperiment compiles a Katib-style Experiment and its trial
// pipeline into one Workflow (see compiler/hpo).
func compileExperiment(doc spec.Document, opts Options) (*wfv1.Workflow, error) {
	e, err := hpo.Decode(doc.Node)
	if err != nil {
		return nil, err
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	name, data, err := trialPipeline(&e.Spec.TrialTemplate, opts)
	if err != nil {
		return nil, err
	}
	if d, err := spec.Parse(data); err != nil || d[0].Kind != spec.KindPipeline {
		return nil, fmt.Errorf("spec.trialTemplate (%s): a trial must be a KFP pipeline spec", name)
	}
	popts := opts
	popts.Params = nil
	pipeline, err := Compile(filepath.Base(name), data, popts)
	if err != nil {
		return nil, fmt.Errorf("spec.trialTemplate (%s):\n%w", name, err)
	}
	return hpo.CompileWorkflow(e, pipeline, opts.argo())
}

// trialPipeline reads the trial's pipeline: a file, the inline spec or a
// stored pipeline version.
func trialPipeline(tt *hpo.TrialTemplate, opts Options) (string, []byte, error) {
	switch {
	case tt.PipelineFile != "" && opts.NoFiles:
		return "", nil, fmt.Errorf("spec.trialTemplate.pipelineFile: a server reads no file for a document: give the trial's pipeline inline (pipelineSpec) or as a stored version (pipelineVersionReference)")
	case tt.PipelineFile != "":
		path := tt.PipelineFile
		if !filepath.IsAbs(path) {
			path = filepath.Join(opts.BaseDir, path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return "", nil, fmt.Errorf("spec.trialTemplate.pipelineFile: %w", err)
		}
		return tt.PipelineFile, data, nil
	case tt.PipelineVersionReference != nil:
		ref := tt.PipelineVersionReference
		if opts.PipelineVersion == nil {
			return "", nil, fmt.Errorf("spec.trialTemplate.pipelineVersionReference: a stored pipeline version needs a kubeline server (--server URL)")
		}
		data, err := opts.PipelineVersion(ref.PipelineID, ref.PipelineVersionID)
		if err != nil {
			return "", nil, fmt.Errorf("spec.trialTemplate.pipelineVersionReference: %w", err)
		}
		return ref.PipelineID + "@" + ref.PipelineVersionID, data, nil
	}
	data, err := yaml.Marshal(tt.PipelineSpec)
	if err != nil {
		return "", nil, fmt.Errorf("spec.trialTemplate.pipelineSpec: %w", err)
	}
	return "pipelineSpec", data, nil
}
