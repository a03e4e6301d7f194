package argo

import (
	"strconv"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/kubeflow/pipelines/api/v2alpha1/go/pipelinespec"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubeline/kubeline/compiler/spec"
)

type containerSpec = pipelinespec.PipelineDeploymentConfig_PipelineContainerSpec

// execTemplate returns the container (or resource) template that runs the
// executor of comp for task t with arguments a. Tasks with the same executor,
// interface, inputs and settings share one template.
func (c *compiler) execTemplate(s *scope, t *pipelinespec.PipelineTaskSpec, comp *pipelinespec.ComponentSpec, a *taskArgs, path string) string {
	label := comp.GetExecutorLabel()
	ex := c.execs[label]
	expath := spec.Named("deploymentSpec.executors", label)
	taskName := t.GetTaskInfo().GetName()
	if taskName == "" {
		taskName = path[strings.LastIndex(path, "[")+1 : len(path)-1]
	}
	switch {
	case ex.GetContainer() != nil && strings.HasPrefix(ex.GetContainer().GetImage(), "argostub/"):
		return c.pvcTemplate(t, a, label, expath)
	case ex.GetContainer() != nil:
		c.keepInputs(comp, a, ex.GetContainer())
		a.params[TaskParam], a.present[TaskParam] = taskName, true
		tmpl := c.containerTemplate(comp, a, ex.GetContainer(), t, expath)
		tmpl.Container.Image = c.catalogImage(tmpl.Container.Image, path, expath)
		c.platform(s, label, &tmpl, a)
		return c.addShared(label, tmpl)
	case ex.GetImporter() != nil:
		a.params[TaskParam], a.present[TaskParam] = taskName, true
		return c.importerTemplate(t.GetComponentRef().GetName(), a, ex.GetImporter(), label, expath)
	default:
		c.errs.Add(expath, nil, "executor kind is %v: kubeline runs container and importer executors", spec.ErrUnsupported)
		return ""
	}
}

// keepInputs drops task inputs the executor never sees: pipeline channels
// used only to fill constants at compile time. Declared inputs stay, and so
// do channels that the container spec's placeholders reference.
func (c *compiler) keepInputs(comp *pipelinespec.ComponentSpec, a *taskArgs, ctr *containerSpec) {
	defs := comp.GetInputDefinitions()
	used, ok := c.usedInputs[ctr]
	if !ok {
		used = usedInputs(ctr)
		c.usedInputs[ctr] = used
	}
	for name := range a.present {
		if _, ok := defs.GetParameters()[name]; ok || used[name] {
			continue
		}
		if art, ok := strings.CutSuffix(name, ArtifactSuffix); ok && a.described[art] {
			continue
		}
		delete(a.present, name)
		delete(a.params, name)
	}
}

// usedInputs returns the names of the input parameters whose placeholders
// ({{$.inputs.parameters['NAME']}}) the container spec holds: what
// inputPlaceholder finds in the spec's compact JSON, looked for in the
// spec's strings alone (field names, numbers and enums hold none), each
// escaped as the JSON escapes it — without writing the whole JSON.
func usedInputs(ctr *containerSpec) map[string]bool {
	used := map[string]bool{}
	var w jsonWriter
	ok := stringsOf(ctr.ProtoReflect(), func(s string) {
		if !strings.Contains(s, "{{$.inputs.parameters[") {
			return
		}
		w.b = w.b[:0]
		w.str(s)
		for _, m := range inputPlaceholder.FindAllSubmatch(w.b, -1) {
			used[string(m[1])] = true
		}
	})
	if !ok {
		clear(used)
		for _, m := range inputPlaceholder.FindAllStringSubmatch(compactJSON(ctr), -1) {
			used[m[1]] = true
		}
	}
	return used
}

// stringsOf calls f with every string in m (map keys included); ok is
// false, after some calls, for a message holding a well-known type other
// than Struct, Value and ListValue, whose JSON form is not its fields.
func stringsOf(m protoreflect.Message, f func(string)) (ok bool) {
	switch name := m.Descriptor().FullName(); {
	case name == "google.protobuf.Struct", name == "google.protobuf.Value", name == "google.protobuf.ListValue":
	case name.Parent() == "google.protobuf":
		return false
	}
	ok = true
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				if fd.MapKey().Kind() == protoreflect.StringKind {
					f(k.String())
				}
				ok = stringsOfValue(fd.MapValue(), mv, f)
				return ok
			})
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len() && ok; i++ {
				ok = stringsOfValue(fd, l.Get(i), f)
			}
		default:
			ok = stringsOfValue(fd, v, f)
		}
		return ok
	})
	return ok
}

func stringsOfValue(fd protoreflect.FieldDescriptor, v protoreflect.Value, f func(string)) bool {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return stringsOf(v.Message(), f)
	case protoreflect.StringKind:
		f(v.String())
	}
	return true
}

func (c *compiler) containerTemplate(comp *pipelinespec.ComponentSpec, a *taskArgs, ctr *containerSpec, t *pipelinespec.PipelineTaskSpec, expath string) wfv1.Template {
	tmpl := wfv1.Template{}
	args := make([]string, 0, 6+2*len(a.present)+len(ctr.GetCommand())+len(ctr.GetArgs()))
	args = append(args, "--task", "{{inputs.parameters."+TaskParam+"}}", "--component", componentInterface(comp, a.finalStatus))
	for _, name := range sortedKeys(a.present) {
		tmpl.Inputs.Parameters = append(tmpl.Inputs.Parameters, wfv1.Parameter{Name: name})
		if name != TaskParam {
			args = append(args, "--in", name+"={{inputs.parameters."+name+"}}")
		}
	}
	for _, name := range sortedKeys(a.artifacts) {
		art := wfv1.Artifact{Name: name, Path: InputsDir + "/" + name}
		if comp.GetInputDefinitions().GetArtifacts()[name].GetIsOptional() {
			art.Optional = true
		}
		tmpl.Inputs.Artifacts = append(tmpl.Inputs.Artifacts, art)
	}
	c.outputs(t.GetComponentRef().GetName(), &tmpl)
	if t.GetCachingOptions().GetEnableCache() {
		args = append(args, "--cache")
	}
	args = append(args, "--")
	args = append(args, ctr.GetCommand()...)
	args = append(args, ctr.GetArgs()...)
	main := &corev1.Container{Image: ctr.GetImage(), Command: []string{Launcher, "launch"}, Args: args}
	for _, e := range ctr.GetEnv() {
		main.Env = append(main.Env, corev1.EnvVar{Name: e.GetName(), Value: e.GetValue()})
	}
	c.resources(ctr.GetResources(), main, &tmpl, expath)
	tmpl.Container = main
	if rp := t.GetRetryPolicy(); rp != nil && rp.GetMaxRetryCount() > 0 {
		tmpl.RetryStrategy = retry(rp)
	}
	return tmpl
}

// componentInterface is the --component value of the launcher contract. The
// parameters in finalStatus are declared TASK_FINAL_STATUS, so the launcher
// gives them KFP's final-status struct whatever the component declared.
func componentInterface(comp *pipelinespec.ComponentSpec, finalStatus map[string]bool) string {
	in := comp.GetInputDefinitions()
	if len(finalStatus) > 0 {
		in = proto.Clone(in).(*pipelinespec.ComponentInputsSpec)
		for name := range finalStatus {
			if def := in.GetParameters()[name]; def != nil {
				def.ParameterType = pipelinespec.ParameterType_TASK_FINAL_STATUS
			}
		}
	}
	iface := &pipelinespec.ComponentSpec{InputDefinitions: in, OutputDefinitions: comp.GetOutputDefinitions()}
	return compactJSON(iface)
}

// outputs declares the output parameters and artifacts of component
// compName's executor.
func (c *compiler) outputs(compName string, tmpl *wfv1.Template) {
	outs := c.p.Spec.GetComponents()[compName].GetOutputDefinitions()
	for _, name := range sortedKeys(outs.GetParameters()) {
		tmpl.Outputs.Parameters = append(tmpl.Outputs.Parameters, wfv1.Parameter{Name: name,
			ValueFrom: &wfv1.ValueFrom{Path: OutputsDir + "/" + name}})
	}
	for _, name := range sortedKeys(outs.GetArtifacts()) {
		tmpl.Outputs.Artifacts = append(tmpl.Outputs.Artifacts, wfv1.Artifact{
			Name: name, Path: OutputsDir + "/" + name,
			Archive: &wfv1.ArchiveStrategy{None: &wfv1.NoneStrategy{}},
			ArtifactLocation: wfv1.ArtifactLocation{S3: &wfv1.S3Artifact{
				Key: "kubeline/{{workflow.name}}/{{pod.name}}/" + name,
			}},
		})
		if c.needDescriptor[compName+"/"+name] || outs.GetArtifacts()[name].GetIsArtifactList() {
			tmpl.Outputs.Parameters = append(tmpl.Outputs.Parameters, wfv1.Parameter{Name: name + ArtifactSuffix,
				ValueFrom: &wfv1.ValueFrom{Path: OutputsDir + "/" + name + ".artifact"}})
		}
	}
}

func retry(rp *pipelinespec.PipelineTaskSpec_RetryPolicy) *wfv1.RetryStrategy {
	rs := &wfv1.RetryStrategy{Limit: ptr(intstrFrom(int(rp.GetMaxRetryCount()))), RetryPolicy: wfv1.RetryPolicyAlways}
	if d := rp.GetBackoffDuration(); d != nil && d.AsDuration() > 0 {
		rs.Backoff = &wfv1.Backoff{Duration: d.AsDuration().String()}
		if f := rp.GetBackoffFactor(); f > 0 {
			rs.Backoff.Factor = ptr(intstrFrom(int(f + 0.5)))
		}
		if m := rp.GetBackoffMaxDuration(); m != nil && m.AsDuration() > 0 {
			rs.Backoff.MaxDuration = m.AsDuration().String()
		}
	}
	return rs
}

// resources maps KFP resources onto the container. Values that are
// placeholders become template inputs applied through a template podSpecPatch,
// since a Quantity cannot hold a {{...}} reference.
func (c *compiler) resources(rs *pipelinespec.PipelineDeploymentConfig_PipelineContainerSpec_ResourceSpec, main *corev1.Container, tmpl *wfv1.Template, expath string) {
	if rs == nil {
		return
	}
	limits, requests := corev1.ResourceList{}, corev1.ResourceList{}
	patch := map[string]map[string]string{}
	set := func(list corev1.ResourceList, kind, name, v string) {
		if v == "" {
			return
		}
		if strings.Contains(v, "{{") || strings.Contains(name, "{{") {
			if patch[kind] == nil {
				patch[kind] = map[string]string{}
			}
			patch[kind][argoRefs(name)] = argoRefs(v)
			return
		}
		q, err := resource.ParseQuantity(v)
		if err != nil {
			c.errs.Add(expath+".container.resources", nil, "invalid %s %s %q: %v", kind, name, v, err)
			return
		}
		list[corev1.ResourceName(name)] = q
	}
	set(limits, "limits", "cpu", firstNonEmpty(rs.GetResourceCpuLimit(), floatQty(rs.GetCpuLimit())))
	set(requests, "requests", "cpu", firstNonEmpty(rs.GetResourceCpuRequest(), floatQty(rs.GetCpuRequest())))
	set(limits, "limits", "memory", firstNonEmpty(rs.GetResourceMemoryLimit(), gbQty(rs.GetMemoryLimit())))
	set(requests, "requests", "memory", firstNonEmpty(rs.GetResourceMemoryRequest(), gbQty(rs.GetMemoryRequest())))
	if acc := rs.GetAccelerator(); acc != nil {
		typ := firstNonEmpty(acc.GetResourceType(), acc.GetType())
		count := firstNonEmpty(acc.GetResourceCount(), countQty(acc.GetCount()))
		if typ != "" && count != "" {
			set(limits, "limits", gpuResource(typ), count)
		}
	}
	if len(limits) > 0 || len(requests) > 0 {
		main.Resources = corev1.ResourceRequirements{}
		if len(limits) > 0 {
			main.Resources.Limits = limits
		}
		if len(requests) > 0 {
			main.Resources.Requests = requests
		}
	}
	if len(patch) > 0 {
		tmpl.PodSpecPatch = mustJSON(map[string]any{"containers": []any{map[string]any{"name": "main", "resources": patch}}})
	}
}

// gpuResource maps a KFP accelerator type onto a Kubernetes resource name:
// a name with a "/" is a resource name already; GPU model names
// (NVIDIA_TESLA_T4, ...) count as nvidia.com/gpu. A type that is an input
// parameter known only at run time gets the same rule as an Argo expression
// (evaluated when Argo applies the template's podSpecPatch): the parameter's
// value itself as a name would be refused by the apiserver.
func gpuResource(typ string) string {
	if m := inputPlaceholder.FindStringSubmatch(typ); m != nil && m[0] == typ {
		v := "inputs.parameters['" + m[1] + "']"
		return "{{=" + v + " contains '/' ? " + v + " : (upper(" + v + ") startsWith 'AMD' ? 'amd.com/gpu' : 'nvidia.com/gpu')}}"
	}
	if strings.Contains(typ, "/") || strings.Contains(typ, "{{") {
		return typ
	}
	if strings.HasPrefix(strings.ToUpper(typ), "AMD") {
		return "amd.com/gpu"
	}
	return "nvidia.com/gpu"
}

// argoRefs turns {{$.inputs.parameters['x']}} into {{inputs.parameters.x}}.
func argoRefs(v string) string {
	return inputPlaceholder.ReplaceAllString(v, "{{inputs.parameters.$1}}")
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func floatQty(f float64) string {
	if f == 0 {
		return ""
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func gbQty(f float64) string {
	if f == 0 {
		return ""
	}
	return strconv.FormatFloat(f, 'f', -1, 64) + "G"
}

func countQty(n int64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}
