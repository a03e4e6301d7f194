package argo

import (
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/kubeflow/pipelines/api/v2alpha1/go/pipelinespec"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/kubeline/kubeline/compiler/spec"
)

func intstrFrom(n int) intstr.IntOrString { return intstr.FromInt(n) }

// importerTemplate runs a KFP importer as a kubeline step: the launcher
// resolves the URI (constant, or the task's "uri" input), copies the object
// into the step's output artifact and records its metadata.
func (c *compiler) importerTemplate(compName string, a *taskArgs, imp *pipelinespec.PipelineDeploymentConfig_ImporterSpec, label, expath string) string {
	comp := c.p.Spec.GetComponents()[compName]
	for name := range a.present {
		if name != TaskParam && name != "uri" && name != imp.GetArtifactUri().GetRuntimeParameter() {
			if _, ok := comp.GetInputDefinitions().GetParameters()[name]; !ok {
				delete(a.present, name)
				delete(a.params, name)
			}
		}
	}
	desc := map[string]any{"typeSchema": jsonValue(compactJSON(imp.GetTypeSchema())), "reimport": imp.GetReimport()}
	if u := imp.GetArtifactUri(); u.GetConstant() != nil {
		desc["uri"] = u.GetConstant().GetStringValue()
	} else if rp := u.GetRuntimeParameter(); rp != "" {
		desc["uriParameter"] = rp
	} else {
		c.errs.Add(expath+".importer.artifactUri", nil, "required: a constant or runtimeParameter URI")
	}
	if md := imp.GetMetadata(); md != nil {
		desc["metadata"] = md.AsMap()
	}
	if c.p.DownloadToWorkspace[label] {
		desc["downloadToWorkspace"] = true
	}
	tmpl := wfv1.Template{}
	args := []string{"--task", "{{inputs.parameters." + TaskParam + "}}", "--component", componentInterface(comp, nil), "--importer", mustJSON(desc)}
	for _, name := range sortedKeys(a.present) {
		tmpl.Inputs.Parameters = append(tmpl.Inputs.Parameters, wfv1.Parameter{Name: name})
		if name != TaskParam {
			args = append(args, "--in", name+"={{inputs.parameters."+name+"}}")
		}
	}
	c.outputs(compName, &tmpl)
	tmpl.Container = &corev1.Container{Image: c.opts.Image, Command: []string{Launcher, "launch"}, Args: args}
	return c.addShared(label, tmpl)
}

func jsonValue(s string) any {
	var v any
	_ = jsonUnmarshal([]byte(s), &v)
	return v
}

// pvcTemplate compiles the kfp-kubernetes CreatePVC / DeletePVC stub
// executors into Argo resource templates.
func (c *compiler) pvcTemplate(t *pipelinespec.PipelineTaskSpec, a *taskArgs, label, expath string) string {
	image := c.execs[label].GetContainer().GetImage()
	tmpl := wfv1.Template{}
	for _, name := range sortedKeys(a.present) {
		tmpl.Inputs.Parameters = append(tmpl.Inputs.Parameters, wfv1.Parameter{Name: name})
	}
	ref := func(name, fallback string) string {
		if a.present[name] {
			return "{{inputs.parameters." + name + "}}"
		}
		return fallback
	}
	switch image {
	case "argostub/createpvc":
		tmpl.Resource = &wfv1.ResourceTemplate{Action: "create", SetOwnerReference: true, Manifest: createPVCManifest(a, ref)}
		tmpl.Outputs.Parameters = []wfv1.Parameter{{Name: "name", ValueFrom: &wfv1.ValueFrom{JSONPath: "{.metadata.name}"}}}
	case "argostub/deletepvc":
		if !a.present["pvc_name"] {
			c.errs.Add(spec.Named("components", t.GetComponentRef().GetName()), nil, "DeletePVC needs its pvc_name input")
			return ""
		}
		tmpl.Resource = &wfv1.ResourceTemplate{Action: "delete", Flags: []string{"--wait=false"},
			Manifest: "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: " + ref("pvc_name", "") + "\n"}
	default:
		c.errs.Add(expath+".container.image", nil, "stub executor %q is %v", image, spec.ErrUnsupported)
		return ""
	}
	return c.addShared(label, tmpl)
}

// createPVCManifest is the PVC a CreatePVC task makes, from its inputs (the
// fields of kfp_kubernetes.CreatePvc): pvc_name or a generated name with
// pvc_name_suffix, access_modes, size, storage_class_name (omitted when
// default_storage_class is true), volume_name, annotations and data_source.
// JSON-valued inputs are spliced into the manifest unquoted (JSON is YAML).
func createPVCManifest(a *taskArgs, ref func(name, fallback string) string) string {
	meta := map[string]any{}
	if a.present["pvc_name"] {
		meta["name"] = ref("pvc_name", "")
	} else {
		meta["generateName"] = "{{workflow.name}}-" + ref("pvc_name_suffix", "pvc")
	}
	spliced := map[string]string{}
	splice := func(name string) string {
		marker := "KUBELINE_JSON_" + strings.ToUpper(name)
		spliced[marker] = ref(name, "")
		return marker
	}
	specm := map[string]any{
		"accessModes": jsonValue(`["ReadWriteOnce"]`),
		"resources":   map[string]any{"requests": map[string]any{"storage": ref("size", "1Gi")}},
	}
	if a.present["access_modes"] {
		specm["accessModes"] = splice("access_modes")
	}
	if a.present["storage_class_name"] && a.params["default_storage_class"] != "true" {
		specm["storageClassName"] = ref("storage_class_name", "")
	}
	if a.present["volume_name"] {
		specm["volumeName"] = ref("volume_name", "")
	}
	if a.present["data_source"] {
		specm["dataSource"] = splice("data_source")
	}
	if a.present["annotations"] {
		meta["annotations"] = splice("annotations")
	}
	manifest := map[string]any{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta, "spec": specm}
	b, _ := yaml.Marshal(manifest)
	text := string(b)
	for _, marker := range sortedKeys(spliced) {
		text = strings.Replace(text, marker, spliced[marker], 1)
	}
	return text
}
