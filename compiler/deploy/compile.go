package deploy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	apiv1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubeline/kubeline/compiler/argo"
)

// Labels kubeline puts on what a Deployment makes.
const (
	LabelDeployment   = "kubeline.io/deployment"
	LabelModel        = "kubeline.io/model"
	LabelModelVersion = "kubeline.io/model-version"
	// StorageURIParam is the resolve step's output: the model version's
	// content, as KServe's storage initializer reads it.
	StorageURIParam = "storage-uri"
	// Ready is the resource template's success condition: KServe reports
	// the predictor's model loaded, which is when it marks the
	// InferenceService Ready.
	Ready       = "status.modelStatus.states.activeModelState == Loaded"
	FailedToRun = "status.modelStatus.states.targetModelState == FailedToLoad"
)

// served is the model version the InferenceService's predictor loads: the
// canary's when there is one (KServe keeps the previous revision for the
// rest of the traffic).
func (d *Deployment) served() string {
	if d.Spec.Canary != nil {
		return d.Spec.Canary.Model
	}
	return d.Spec.Model
}

// InferenceService renders the KServe InferenceService serving the model
// whose content is at storageURI.
func (d *Deployment) InferenceService(storageURI string) map[string]any {
	name, n, _ := ParseModel(d.served())
	version := "latest"
	if n > 0 {
		version = strconv.Itoa(n)
	}
	predictor := map[string]any{"containers": []any{d.container(d.Spec.Predictor, storageURI, true)}}
	predictor["minReplicas"], predictor["maxReplicas"] = d.Spec.replicaRange()
	if c := d.Spec.Canary; c != nil {
		predictor["canaryTrafficPercent"] = c.TrafficPercent
	}
	spec := map[string]any{"predictor": predictor}
	if t := d.Spec.Transformer; t != nil {
		spec["transformer"] = map[string]any{"containers": []any{d.container(*t, "", false)}}
	}
	meta := map[string]any{"name": d.Metadata.Name,
		"labels": map[string]any{LabelDeployment: d.Metadata.Name, LabelModel: name, LabelModelVersion: version}}
	if d.Metadata.Namespace != "" {
		meta["namespace"] = d.Metadata.Namespace
	}
	if d.Spec.Canary != nil {
		meta["annotations"] = map[string]any{"kubeline.io/stable-model": d.Spec.Model, "kubeline.io/canary-model": d.Spec.Canary.Model}
	}
	return map[string]any{"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "metadata": meta, "spec": spec}
}

// container is a KServe container: the predictor's gets the model through
// STORAGE_URI (KServe's storage initializer puts it in /mnt/models) and
// the resources.
func (d *Deployment) container(c Component, storageURI string, predictor bool) map[string]any {
	out := map[string]any{"name": "kserve-container", "image": c.Image}
	if len(c.Command) > 0 {
		out["command"] = c.Command
	}
	if len(c.Args) > 0 {
		out["args"] = c.Args
	}
	var env []any
	if predictor {
		env = append(env, map[string]any{"name": "STORAGE_URI", "value": storageURI}, map[string]any{"name": "MODEL_DIR", "value": "/mnt/models"})
	}
	env = append(env, map[string]any{"name": "MODEL_NAME", "value": d.Metadata.Name})
	if c.Protocol != "" {
		env = append(env, map[string]any{"name": "PROTOCOL", "value": c.Protocol})
	}
	for _, e := range c.Env {
		env = append(env, map[string]any{"name": e.Name, "value": e.Value})
	}
	out["env"] = env
	if r := d.Spec.Resources; predictor && r != nil {
		out["resources"] = r.kserve()
	}
	return out
}

// CompileWorkflow makes the Deployment's Argo Workflow: resolve the model
// version, then apply the InferenceService with a resource template that
// succeeds when the model is loaded.
func CompileWorkflow(d *Deployment, opts argo.Options) (*wfv1.Workflow, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	image := opts.Image
	if image == "" {
		image = argo.DefaultImage
	}
	d, err := d.withCatalogImages(opts.Images)
	if err != nil {
		return nil, err
	}
	manifest, err := yaml.Marshal(d.InferenceService("{{inputs.parameters." + StorageURIParam + "}}"))
	if err != nil {
		return nil, fmt.Errorf("render InferenceService %s: %w", d.Metadata.Name, err)
	}
	wf := &wfv1.Workflow{}
	wf.APIVersion, wf.Kind = "argoproj.io/v1alpha1", "Workflow"
	wf.GenerateName = "deploy-" + d.Metadata.Name + "-"
	wf.Namespace = d.Metadata.Namespace
	wf.Labels = map[string]string{LabelDeployment: d.Metadata.Name}
	wf.Spec.Entrypoint = "deploy"
	wf.Spec.Volumes = []apiv1.Volume{{Name: "kubeline-bin", VolumeSource: apiv1.VolumeSource{EmptyDir: &apiv1.EmptyDirVolumeSource{}}}}
	wf.Spec.PodSpecPatch = argo.PodSpecPatch(image)
	resolve := &apiv1.Container{Image: image, Command: []string{argo.Launcher, "launch"},
		Args: []string{"--task", "resolve-model", "--resolve-version", "model://" + d.served()}}
	wf.Spec.Templates = []wfv1.Template{
		{Name: "deploy", DAG: &wfv1.DAGTemplate{Tasks: []wfv1.DAGTask{
			{Name: "resolve-model", Template: "resolve-model"},
			{Name: "apply", Template: "apply-inference-service", Depends: "resolve-model",
				Arguments: wfv1.Arguments{Parameters: []wfv1.Parameter{{Name: StorageURIParam,
					Value: wfv1.AnyStringPtr("{{tasks.resolve-model.outputs.parameters." + StorageURIParam + "}}")}}}},
		}}},
		{Name: "resolve-model", Container: resolve, Outputs: wfv1.Outputs{Parameters: []wfv1.Parameter{{Name: StorageURIParam,
			ValueFrom: &wfv1.ValueFrom{Path: argo.OutputsDir + "/" + StorageURIParam}}}}},
		{Name: "apply-inference-service", Inputs: wfv1.Inputs{Parameters: []wfv1.Parameter{{Name: StorageURIParam}}},
			Resource: &wfv1.ResourceTemplate{Action: "apply", Manifest: strings.TrimSpace(string(manifest)) + "\n",
				SuccessCondition: Ready, FailureCondition: FailedToRun}},
	}
	return wf, nil
}

// withCatalogImages is d with its predictor's and transformer's
// image://NAME images resolved in the image catalog; every unknown name is
// an error naming its field.
func (d *Deployment) withCatalogImages(images map[string]string) (*Deployment, error) {
	out := *d
	var errs []error
	resolve := func(field string, c *Component) {
		got, err := argo.ResolveImage(c.Image, images)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.image: %w", field, err))
			return
		}
		c.Image = got
	}
	resolve("spec.predictor", &out.Spec.Predictor)
	if t := d.Spec.Transformer; t != nil {
		tc := *t
		resolve("spec.transformer", &tc)
		out.Spec.Transformer = &tc
	}
	return &out, errors.Join(errs...)
}
