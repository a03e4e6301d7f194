package argo

import (
	"fmt"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubeline/kubeline/compiler/kfp"
	"github.com/kubeline/kubeline/compiler/spec"
)

// platform applies the executor's kubernetes platform config to its template
// the way KFP's driver applies it to the pod (backend/src/v2/driver, the
// extendPodSpecPatch of kubernetes_executor_config fields). Names given at run
// time (secretNameParameter, pvcNameParameter, ...) become template inputs
// named kubeline-k8s-N, resolved in the task's scope like any task input; a
// name that resolves to nothing (an optional input not passed) drops its entry,
// as the driver skips a null parameter. Values the template has no field for,
// or that arrive as JSON at run time (node selector, tolerations and affinity
// JSON, image pull secrets, resource claims), go into the template's
// podSpecPatch.
func (c *compiler) platform(s *scope, label string, tmpl *wfv1.Template, a *taskArgs) {
	k := c.p.Kubernetes[label]
	if k == nil {
		return
	}
	pp := &platformParams{c: c, s: s, a: a, tmpl: tmpl, path: spec.Named("platforms.kubernetes.deploymentSpec.executors", label),
		volumes: map[string]string{}}
	pp.mountVolumes(k)
	pp.env(k)
	if p := k.ImagePullPolicy; p != "" {
		switch p {
		case "Always", "Never", "IfNotPresent":
			tmpl.Container.ImagePullPolicy = corev1.PullPolicy(p)
		default:
			c.errs.Add(spec.Key(pp.path, "imagePullPolicy"), nil, "unsupported value %q: expected one of Always, Never, IfNotPresent", p)
		}
	}
	if k.ActiveDeadlineSeconds > 0 {
		tmpl.ActiveDeadlineSeconds = ptr(intstrFrom(int(k.ActiveDeadlineSeconds)))
	}
	if md := k.PodMetadata; md != nil {
		tmpl.Metadata = wfv1.Metadata{Labels: md.Labels, Annotations: md.Annotations}
	}
	pp.securityContext(k.SecurityContext)
	pp.initContainers(k.InitContainers)
	pp.scheduling(k)
	pp.pullSecrets(k.ImagePullSecret)
	pp.resourceClaims(k.PodResourceClaims)
	pp.writePatch()
}

// platformParams compiles one executor's platform config into its template.
type platformParams struct {
	c    *compiler
	s    *scope
	a    *taskArgs
	tmpl *wfv1.Template
	path string // spec path of the executor's config
	n    int    // template inputs made so far
	// volumes maps the name KFP gives a volume (the secret, config map or
	// PVC name, or volumeName) to the template's, for init container mounts.
	volumes map[string]string
	patch   []string // "key":value members of the template's podSpecPatch
	// optional are the pod's entries named at run time, each of which the
	// podSpecPatch deletes when its name arrives empty (see dropIfAbsent).
	optional optionalEntries
}

// value returns constant, or a reference to a new template input bound to p
// in the task's scope; "" when p refers to nothing the task has.
func (pp *platformParams) value(constant string, p *kfp.InputParam, path string) string {
	if p == nil {
		return constant
	}
	name := pp.input(p, path)
	if name == "" {
		if p.RuntimeValue != nil {
			return fmt.Sprint(p.RuntimeValue.Constant)
		}
		return ""
	}
	return "{{inputs.parameters." + name + "}}"
}

// input binds p to a new template input and returns its name; "" for a
// constant or a reference to nothing.
func (pp *platformParams) input(p *kfp.InputParam, path string) string {
	var v string
	switch {
	case p.RuntimeValue != nil:
		return ""
	case p.ComponentInputParameter != "":
		if !pp.s.params[p.ComponentInputParameter] {
			return ""
		}
		v = pp.s.paramRef(p.ComponentInputParameter)
	case p.TaskOutputParameter != nil:
		v = fmt.Sprintf("{{tasks.%s.outputs.parameters.%s}}", p.TaskOutputParameter.ProducerTask, p.TaskOutputParameter.OutputParameterKey)
	case p.TaskFinalStatus != nil || p.ParameterExpressionSelector != "":
		pp.c.errs.Add(path, nil, "a task's final status or a parameter expression cannot give a platform value: %v", spec.ErrUnsupported)
		return ""
	default:
		return ""
	}
	name := fmt.Sprintf("kubeline-k8s-%d", pp.n)
	pp.n++
	pp.a.params[name], pp.a.present[name] = v, true
	pp.tmpl.Inputs.Parameters = append(pp.tmpl.Inputs.Parameters, wfv1.Parameter{Name: name})
	return name
}

// addVolume adds a volume mounted into the main container. The volume is
// named as KFP's driver names it (kfpName) when that is a constant valid
// volume name not taken yet, else kind-N.
func (pp *platformParams) addVolume(kind, kfpName string, src corev1.VolumeSource, mount corev1.VolumeMount) string {
	name := kfpName
	if name == "" || strings.Contains(name, "{{") || len(validation.IsDNS1123Label(name)) > 0 || pp.volumes[name] != "" {
		name = fmt.Sprintf("%s-%d", kind, len(pp.tmpl.Volumes))
	}
	if kfpName != "" && pp.volumes[kfpName] == "" {
		pp.volumes[kfpName] = name
	}
	pp.tmpl.Volumes = append(pp.tmpl.Volumes, corev1.Volume{Name: name, VolumeSource: src})
	mount.Name = name
	pp.tmpl.Container.VolumeMounts = append(pp.tmpl.Container.VolumeMounts, mount)
	return name
}

// quantity parses a Kubernetes quantity of the config, reporting a bad one.
func (pp *platformParams) quantity(s, path string) *resource.Quantity {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		pp.c.errs.Add(path, nil, "invalid quantity %q: %v", s, err)
		return nil
	}
	return &q
}

// volumes mounts secrets, config maps, PVCs, emptyDirs, shared memory and
// generic ephemeral volumes into the main container.
func (pp *platformParams) mountVolumes(k *kfp.KubernetesConfig) {
	for i, sv := range k.PvcMount {
		src := sv.PvcNameParameter
		if src == nil {
			src = &kfp.InputParam{ComponentInputParameter: sv.ComponentInputParameter, TaskOutputParameter: sv.TaskOutputParameter}
			if sv.Constant != "" {
				src = &kfp.InputParam{RuntimeValue: &kfp.RuntimeValue{Constant: sv.Constant}}
			}
		}
		claim := pp.value("", src, spec.Index(spec.Key(pp.path, "pvcMount"), i))
		if claim == "" {
			continue
		}
		pp.addVolume("pvc", claim, corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}},
			corev1.VolumeMount{MountPath: sv.MountPath, SubPath: sv.SubPath})
	}
	for i, sv := range k.SecretAsVolume {
		name := pp.value(sv.SecretName, sv.SecretNameParameter, spec.Index(spec.Key(pp.path, "secretAsVolume"), i))
		if name == "" {
			continue
		}
		vol := pp.addVolume("secret", name, corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: name, Optional: ptr(sv.Optional != nil && *sv.Optional)}},
			corev1.VolumeMount{MountPath: sv.MountPath})
		pp.optional.volume(name, vol, sv.MountPath)
	}
	for i, cv := range k.ConfigMapAsVolume {
		name := pp.value(cv.ConfigMapName, cv.ConfigMapNameParameter, spec.Index(spec.Key(pp.path, "configMapAsVolume"), i))
		if name == "" {
			continue
		}
		vol := pp.addVolume("configmap", name, corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: name}, Optional: ptr(cv.Optional != nil && *cv.Optional)}},
			corev1.VolumeMount{MountPath: cv.MountPath})
		pp.optional.volume(name, vol, cv.MountPath)
	}
	for i, ev := range k.GenericEphemeralVolume {
		pp.ephemeral(ev, spec.Index(spec.Key(pp.path, "genericEphemeralVolume"), i))
	}
	for i, ed := range k.EmptyDirMounts {
		src := &corev1.EmptyDirVolumeSource{}
		if ed.Medium != nil {
			src.Medium = corev1.StorageMedium(*ed.Medium)
		}
		if ed.SizeLimit != nil && *ed.SizeLimit != "" {
			src.SizeLimit = pp.quantity(*ed.SizeLimit, spec.Key(spec.Index(spec.Key(pp.path, "emptyDirMounts"), i), "sizeLimit"))
		}
		pp.addVolume("emptydir", ed.VolumeName, corev1.VolumeSource{EmptyDir: src}, corev1.VolumeMount{MountPath: ed.MountPath})
	}
	if sm := k.EnabledSharedMemory; sm != nil {
		src := &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}
		if sm.Size != "" {
			src.SizeLimit = pp.quantity(sm.Size, spec.Key(spec.Key(pp.path, "enabledSharedMemory"), "size"))
		}
		pp.addVolume("shm", firstNonEmpty(sm.VolumeName, "shm"), corev1.VolumeSource{EmptyDir: src}, corev1.VolumeMount{MountPath: "/dev/shm"})
	}
}

// ephemeral adds a generic ephemeral volume: a PVC made from the template for
// the pod's lifetime. Without defaultStorageClass the class is the one named,
// "" included, as the driver sets it.
func (pp *platformParams) ephemeral(ev kfp.GenericEphemeralVolume, path string) {
	tmpl := &corev1.PersistentVolumeClaimTemplate{}
	if md := ev.Metadata; md != nil {
		tmpl.ObjectMeta = metav1.ObjectMeta{Labels: md.Labels, Annotations: md.Annotations}
	}
	for _, m := range ev.AccessModes {
		tmpl.Spec.AccessModes = append(tmpl.Spec.AccessModes, corev1.PersistentVolumeAccessMode(m))
	}
	if q := pp.quantity(ev.Size, spec.Key(path, "size")); q != nil {
		tmpl.Spec.Resources.Requests = corev1.ResourceList{corev1.ResourceStorage: *q}
	}
	if !ev.DefaultStorageClass {
		tmpl.Spec.StorageClassName = ptr(ev.StorageClassName)
	}
	pp.addVolume("ephemeral", ev.VolumeName, corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{VolumeClaimTemplate: tmpl}},
		corev1.VolumeMount{MountPath: ev.MountPath})
}

// env adds secret, config map and field path env vars to the main container.
func (pp *platformParams) env(k *kfp.KubernetesConfig) {
	main := pp.tmpl.Container
	for i, se := range k.SecretAsEnv {
		secret := pp.value(se.SecretName, se.SecretNameParameter, spec.Index(spec.Key(pp.path, "secretAsEnv"), i))
		if secret == "" {
			continue
		}
		for _, ke := range se.KeyToEnv {
			main.Env = append(main.Env, corev1.EnvVar{Name: ke.EnvVar, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: ke.SecretKey, Optional: se.Optional}}})
			pp.optional.env(secret, ke.EnvVar)
		}
	}
	for i, ce := range k.ConfigMapAsEnv {
		cm := pp.value(ce.ConfigMapName, ce.ConfigMapNameParameter, spec.Index(spec.Key(pp.path, "configMapAsEnv"), i))
		if cm == "" {
			continue
		}
		for _, ke := range ce.KeyToEnv {
			main.Env = append(main.Env, corev1.EnvVar{Name: ke.EnvVar, ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: cm}, Key: ke.ConfigMapKey, Optional: ce.Optional}}})
			pp.optional.env(cm, ke.EnvVar)
		}
	}
	for _, fe := range k.FieldPathAsEnv {
		main.Env = append(main.Env, corev1.EnvVar{Name: fe.Name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: fe.FieldPath}}})
	}
}

// securityContext sets the main container's identity; as the driver does,
// every capability is dropped (Pod Security Standards baseline).
func (pp *platformParams) securityContext(sc *kfp.SecurityContext) {
	if sc == nil {
		return
	}
	pp.tmpl.Container.SecurityContext = &corev1.SecurityContext{
		RunAsUser: sc.RunAsUser, RunAsGroup: sc.RunAsGroup, RunAsNonRoot: sc.RunAsNonRoot,
		Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
}

// reservedContainers are container names the pod has already: Argo's and
// kubeline's, and the launcher name KFP reserves.
var reservedContainers = map[string]bool{"init": true, "wait": true, "main": true, "kubeline-init": true, "kfp-launcher": true}

// initContainers adds the config's init containers (native sidecars with
// restartPolicy Always), each with a PSS-compliant security context. Their
// volume mounts name volumes the config defines.
func (pp *platformParams) initContainers(ics []kfp.InitContainer) {
	seen := map[string]bool{}
	for i, ic := range ics {
		path := spec.Index(spec.Key(pp.path, "initContainers"), i)
		switch {
		case ic.Name == "":
			pp.c.errs.Add(spec.Key(path, "name"), nil, "required: the init container's name")
		case reservedContainers[ic.Name] || seen[ic.Name]:
			pp.c.errs.Add(spec.Key(path, "name"), nil, "container name %q is taken in the step's pod", ic.Name)
		}
		if ic.Image == "" {
			pp.c.errs.Add(spec.Key(path, "image"), nil, "required: the init container's image")
		}
		seen[ic.Name] = true
		ctr := corev1.Container{Name: ic.Name, Image: ic.Image, Command: ic.Command, Args: ic.Args,
			SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr(false),
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}
		if rp := ic.RestartPolicy; rp != nil {
			if *rp != "Always" {
				pp.c.errs.Add(spec.Key(path, "restartPolicy"), nil, "unsupported value %q: the only restart policy of an init container is Always (a sidecar)", *rp)
			}
			ctr.RestartPolicy = ptr(corev1.ContainerRestartPolicy(*rp))
		}
		for _, e := range ic.Env {
			ctr.Env = append(ctr.Env, corev1.EnvVar{Name: e.Name, Value: e.Value})
		}
		for j, m := range ic.VolumeMounts {
			name, ok := pp.volumes[m.VolumeName]
			if !ok {
				pp.c.errs.Add(spec.Key(spec.Index(spec.Key(path, "volumeMounts"), j), "volumeName"), nil,
					"volume %q is not defined by this executor's config (emptyDirMounts, pvcMount, genericEphemeralVolume, ...)", m.VolumeName)
				continue
			}
			ctr.VolumeMounts = append(ctr.VolumeMounts, corev1.VolumeMount{Name: name, MountPath: m.MountPath})
		}
		if r := ic.Resources; r != nil {
			ctr.Resources.Requests = pp.resourceList(r.Requests, spec.Key(spec.Key(path, "resources"), "requests"))
			ctr.Resources.Limits = pp.resourceList(r.Limits, spec.Key(spec.Key(path, "resources"), "limits"))
		}
		pp.tmpl.InitContainers = append(pp.tmpl.InitContainers, wfv1.UserContainer{Container: ctr})
	}
}

func (pp *platformParams) resourceList(m map[string]string, path string) corev1.ResourceList {
	if len(m) == 0 {
		return nil
	}
	l := corev1.ResourceList{}
	for name, v := range m {
		if q := pp.quantity(v, spec.Named(path, name)); q != nil {
			l[corev1.ResourceName(name)] = *q
		}
	}
	return l
}

// pullSecrets adds the step pod's image pull secrets, as the driver sets
// them on the pod (not the workflow), through the podSpecPatch. When a name
// arrives at run time the list is an Argo expression that leaves out the
// names that arrive empty (an optional input not passed), as the driver
// skips them.
func (pp *platformParams) pullSecrets(ps []kfp.ImagePullSecret) {
	var refs, names []string
	runtime := false
	for i, s := range ps {
		name := pp.value(s.SecretName, s.SecretNameParameter, spec.Index(spec.Key(pp.path, "imagePullSecret"), i))
		if name == "" {
			continue
		}
		refs = append(refs, mustJSON(corev1.LocalObjectReference{Name: name}))
		if in, ok := runtimeInput(name); ok {
			names, runtime = append(names, inputExpr(in)), true
		} else {
			names = append(names, exprString(name))
		}
	}
	switch {
	case runtime:
		pp.patch = append(pp.patch, fmt.Sprintf(`"imagePullSecrets":{{=toJson(map(filter([%s], {# not in ['', 'null']}), { {'name': #} }))}}`,
			strings.Join(names, ", ")))
	case len(refs) > 0:
		pp.patch = append(pp.patch, `"imagePullSecrets":[`+strings.Join(refs, ",")+`]`)
	}
}

// resourceClaims adds Dynamic Resource Allocation claims to the pod and
// gives them to the main container. A runtime JSON claim's template name is
// read by an Argo expression when the pod is made.
func (pp *platformParams) resourceClaims(claims []kfp.PodResourceClaim) {
	var entries []string
	for i, rc := range claims {
		path := spec.Index(spec.Key(pp.path, "podResourceClaims"), i)
		name := fmt.Sprintf("kubeline-claim-%d", i)
		tmplName := mustJSON(rc.ResourceClaimTemplateName)
		if j := rc.ResourceClaimJSON; j != nil {
			switch in := pp.input(j, spec.Key(path, "resourceClaimJson")); {
			case in != "":
				tmplName = fmt.Sprintf(`{{=toJson(jsonpath(inputs.parameters['%s'], '$.resourceClaimTemplateName'))}}`, in)
			case j.RuntimeValue != nil:
				obj, _ := jsonObject(j.RuntimeValue.Constant)
				v, ok := obj["resourceClaimTemplateName"].(string)
				if !ok {
					pp.c.errs.Add(spec.Key(path, "resourceClaimJson"), nil, "expected an object with resourceClaimTemplateName")
				}
				tmplName = mustJSON(v)
			default:
				continue
			}
		}
		if tmplName == `""` {
			pp.c.errs.Add(path, nil, "required: resourceClaimTemplateName or resourceClaimJson")
			continue
		}
		entries = append(entries, fmt.Sprintf(`{"name":%q,"resourceClaimTemplateName":%s}`, name, tmplName))
		pp.tmpl.Container.Resources.Claims = append(pp.tmpl.Container.Resources.Claims, corev1.ResourceClaim{Name: name})
	}
	if len(entries) > 0 {
		pp.patch = append(pp.patch, `"resourceClaims":[`+strings.Join(entries, ",")+`]`)
	}
}

// writePatch joins the config's podSpecPatch members with the template's
// own (resource placeholders), and adds the deletions of optional entries
// to the main container's.
func (pp *platformParams) writePatch() {
	members := append([]string{}, pp.patch...)
	if v := pp.optional.volumes; len(v) > 0 {
		members = append(members, `"volumes":[`+strings.Join(v, ",")+`]`)
	}
	main, wait := pp.optional.mainMembers(), pp.optional.waitContainer()
	if len(members) == 0 && len(main) == 0 {
		return
	}
	old := strings.TrimSpace(pp.tmpl.PodSpecPatch)
	if len(main) > 0 {
		var err error
		if old, main, err = mergeMainContainer(old, main, wait); err != nil {
			pp.c.errs.Add(pp.path, nil, "pod spec patch: %v", err)
			return
		}
		if len(main) > 0 {
			cs := `{"name":"main",` + strings.Join(main, ",") + `}`
			if wait != "" { // first, as in the pod (the patch orders the list)
				cs = wait + "," + cs
			}
			members = append(members, `"containers":[`+cs+`]`)
		}
	}
	if old != "" {
		members = append([]string{strings.TrimSuffix(strings.TrimPrefix(old, "{"), "}")}, members...)
	}
	pp.tmpl.PodSpecPatch = "{" + strings.Join(members, ",") + "}"
}
