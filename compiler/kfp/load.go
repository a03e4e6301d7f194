package kfp

import (
	"fmt"
	"strings"

	"github.com/google/cel-go/common/ast"
	"github.com/kubeflow/pipelines/api/v2alpha1/go/pipelinespec"
	"gopkg.in/yaml.v3"

	"github.com/kubeline/kubeline/compiler/spec"
)

// Pipeline is a decoded, validated KFP pipeline.
type Pipeline struct {
	// Spec is the pipeline IR. Its deploymentSpec (a Struct) is left empty:
	// the deployment spec is decoded strictly into Deployment.
	Spec *pipelinespec.PipelineSpec
	// Name is pipelineInfo.name.
	Name string
	// Kubernetes holds the kubernetes platform config by executor label.
	Kubernetes map[string]*KubernetesConfig
	// Workspace is platforms.kubernetes.pipelineConfig.workspace, if set.
	Workspace *Workspace
	// DownloadToWorkspace lists importer executors whose artifact is copied into
	// the workspace (ImporterSpec.downloadToWorkspace).
	DownloadToWorkspace map[string]bool
	// Deployment is deploymentSpec, decoded strictly (the IR stores it as a Struct).
	Deployment *pipelinespec.PipelineDeploymentConfig
	// Conditions holds the parsed trigger conditions by their text (read
	// only: the compiler translates them without parsing them again).
	Conditions map[string]*ast.AST
	// DAGs holds the task graph of every DAG component by component name; the
	// root DAG is under RootName.
	DAGs map[string]*DAG
}

// RootName is the key of the root DAG in Pipeline.DAGs.
const RootName = "root"

// Load decodes the documents of one KFP file (the PipelineSpec and an optional
// platform document) and validates them. Every problem is reported at once.
func Load(docs []spec.Document) (*Pipeline, error) {
	var errs spec.Errors
	p := &Pipeline{
		Spec:                &pipelinespec.PipelineSpec{},
		Kubernetes:          map[string]*KubernetesConfig{},
		DownloadToWorkspace: map[string]bool{},
		Conditions:          map[string]*ast.AST{},
	}
	var pipelineDoc, platformDoc *spec.Document
	for i := range docs {
		d := &docs[i]
		switch d.Kind {
		case spec.KindPipeline:
			if pipelineDoc != nil {
				errs.Add(fmt.Sprintf("document %d", d.Index+1), spec.PosOf(d.Node), "a second pipeline spec in one file")
				continue
			}
			pipelineDoc = d
		case spec.KindPlatform:
			if platformDoc != nil {
				errs.Add(fmt.Sprintf("document %d", d.Index+1), spec.PosOf(d.Node), "a second platform spec in one file")
				continue
			}
			platformDoc = d
		default:
			errs.Add(fmt.Sprintf("document %d", d.Index+1), spec.PosOf(d.Node),
				"not a KFP pipeline spec: expected the fields pipelineInfo, root, components, deploymentSpec")
		}
	}
	if pipelineDoc == nil {
		if len(errs) == 0 {
			errs.Add("", nil, "no KFP pipeline spec in the file")
		}
		return nil, errs.Err()
	}
	dec := &strictDecoder{errs: &errs, newer: p.newerFields(&errs)}
	dec.decodeProto(pipelineDoc.Node, "", p.Spec)
	p.Deployment = &pipelinespec.PipelineDeploymentConfig{}
	if dn := spec.Lookup(pipelineDoc.Node, "deploymentSpec"); dn != nil {
		dec.decodeProto(dn, "deploymentSpec", p.Deployment)
	} else {
		errs.Add("deploymentSpec", spec.PosOf(pipelineDoc.Node), "required: the executors of the pipeline's components")
	}
	if platformDoc != nil {
		p.loadPlatform(dec, platformDoc, &errs)
	}
	// Validate what decoded even when some of it did not, so a document's
	// unknown fields and its broken references are reported together;
	// problems at or under a place that failed to decode are left out (they
	// follow from it).
	p.Name = p.Spec.GetPipelineInfo().GetName()
	decoded := len(errs)
	var checks spec.Errors
	validate(p, pipelineDoc, &checks)
	for _, c := range checks {
		if !related(errs[:decoded], c.Path) {
			errs = append(errs, c)
		}
	}
	if len(errs) > 0 {
		return nil, errs.Err()
	}
	return p, nil
}

// related says whether path is at, above or under one of errs' paths.
func related(errs spec.Errors, path string) bool {
	for _, e := range errs {
		if within(path, e.Path) || within(e.Path, path) {
			return true
		}
	}
	return false
}

// within says whether path is base or a path under it.
func within(path, base string) bool {
	if !strings.HasPrefix(path, base) {
		return false
	}
	rest := path[len(base):]
	return rest == "" || base == "" || rest[0] == '.' || rest[0] == '['
}

// newerFields are the fields the SDK writes that the served proto predates.
// Each is kept in Pipeline, never silently dropped.
func (p *Pipeline) newerFields(errs *spec.Errors) map[newerField]func(string, *spec.Pos, any) {
	return map[newerField]func(string, *spec.Pos, any){
		{"ml_pipelines.PipelineConfig", "workspace"}: func(path string, pos *spec.Pos, v any) {
			ws := &Workspace{}
			if err := decodeStrict(v, ws); err != nil {
				errs.Add(spec.Key(path, "workspace"), pos, "%v", err)
				return
			}
			if ws.Size == "" {
				errs.Add(spec.Key(spec.Key(path, "workspace"), "size"), pos, "required: the workspace size, e.g. 1Gi")
			}
			p.Workspace = ws
		},
		{"ml_pipelines.PipelineDeploymentConfig.ImporterSpec", "downloadToWorkspace"}: func(path string, pos *spec.Pos, v any) {
			b, ok := v.(bool)
			if !ok {
				errs.Add(spec.Key(path, "downloadToWorkspace"), pos, "expected true or false")
				return
			}
			// path is deploymentSpec.executors[LABEL].importer
			label := strings.TrimSuffix(strings.TrimPrefix(path, "deploymentSpec.executors["), "].importer")
			p.DownloadToWorkspace[label] = b
		},
	}
}

func (p *Pipeline) loadPlatform(dec *strictDecoder, d *spec.Document, errs *spec.Errors) {
	var ps pipelinespec.PlatformSpec
	dec.decodeProto(d.Node, "", &ps)
	if len(*errs) > 0 {
		return
	}
	for name := range ps.GetPlatforms() {
		if name != "kubernetes" {
			errs.Add(spec.Named("platforms", name), spec.PosOf(d.Node), "unknown platform %q: kubeline compiles for kubernetes", name)
		}
	}
	execNode := spec.Lookup(spec.Lookup(spec.Lookup(spec.Lookup(d.Node, "platforms"), "kubernetes"), "deploymentSpec"), "executors")
	if execNode == nil || execNode.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(execNode.Content); i += 2 {
		label := execNode.Content[i].Value
		cfg := &KubernetesConfig{}
		decodeStruct(execNode.Content[i+1], spec.Named("platforms.kubernetes.deploymentSpec.executors", label), cfg, errs)
		p.Kubernetes[label] = cfg
	}
}
