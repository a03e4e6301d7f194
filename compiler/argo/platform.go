package argo

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubeline/kubeline/compiler/kfp"
)

// platform applies the executor's kubernetes platform config to its template.
// Names given at run time (secretNameParameter, pvcNameParameter, ...) become
// template inputs named kubeline-k8s-N, resolved in the task's scope like any
// task input; JSON-valued ones (node selector, tolerations, affinity) are
// applied through the template's podSpecPatch.
func (c *compiler) platform(s *scope, label string, tmpl *wfv1.Template, a *taskArgs, expath string) {
	k := c.p.Kubernetes[label]
	if k == nil {
		return
	}
	pp := platformParams{c: c, s: s, a: a, tmpl: tmpl}
	main := tmpl.Container
	for i, sv := range k.SecretAsVolume {
		name := fmt.Sprintf("secret-%d", i)
		tmpl.Volumes = append(tmpl.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: pp.value(sv.SecretName, sv.SecretNameParameter), Optional: sv.Optional}}})
		main.VolumeMounts = append(main.VolumeMounts, corev1.VolumeMount{Name: name, MountPath: sv.MountPath})
	}
	for _, se := range k.SecretAsEnv {
		secret := pp.value(se.SecretName, se.SecretNameParameter)
		for _, ke := range se.KeyToEnv {
			main.Env = append(main.Env, corev1.EnvVar{Name: ke.EnvVar, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: ke.SecretKey, Optional: se.Optional}}})
		}
	}
	for i, cv := range k.ConfigMapAsVolume {
		name := fmt.Sprintf("configmap-%d", i)
		tmpl.Volumes = append(tmpl.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: pp.value(cv.ConfigMapName, cv.ConfigMapNameParameter)}, Optional: cv.Optional}}})
		main.VolumeMounts = append(main.VolumeMounts, corev1.VolumeMount{Name: name, MountPath: cv.MountPath})
	}
	for _, ce := range k.ConfigMapAsEnv {
		cm := pp.value(ce.ConfigMapName, ce.ConfigMapNameParameter)
		for _, ke := range ce.KeyToEnv {
			main.Env = append(main.Env, corev1.EnvVar{Name: ke.EnvVar, ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: cm}, Key: ke.ConfigMapKey, Optional: ce.Optional}}})
		}
	}
	for i, pm := range k.PvcMount {
		name := fmt.Sprintf("pvc-%d", i)
		src := pm.PvcNameParameter
		if src == nil {
			src = &kfp.InputParam{ComponentInputParameter: pm.ComponentInputParameter, TaskOutputParameter: pm.TaskOutputParameter}
		}
		tmpl.Volumes = append(tmpl.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
			ClaimName: pp.value(pm.Constant, src)}}})
		main.VolumeMounts = append(main.VolumeMounts, corev1.VolumeMount{Name: name, MountPath: pm.MountPath, SubPath: pm.SubPath})
	}
	for _, ed := range k.EmptyDirMounts {
		tmpl.Volumes = append(tmpl.Volumes, corev1.Volume{Name: ed.VolumeName, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMedium(ed.Medium)}}})
		main.VolumeMounts = append(main.VolumeMounts, corev1.VolumeMount{Name: ed.VolumeName, MountPath: ed.MountPath})
	}
	if sm := k.EnabledSharedMemory; sm != nil {
		name := firstNonEmpty(sm.VolumeName, "shm")
		tmpl.Volumes = append(tmpl.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}})
		main.VolumeMounts = append(main.VolumeMounts, corev1.VolumeMount{Name: name, MountPath: "/dev/shm"})
	}
	for _, fe := range k.FieldPathAsEnv {
		main.Env = append(main.Env, corev1.EnvVar{Name: fe.Name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: fe.FieldPath}}})
	}
	if k.ImagePullPolicy != "" {
		main.ImagePullPolicy = corev1.PullPolicy(k.ImagePullPolicy)
	}
	if k.ActiveDeadlineSeconds != nil {
		tmpl.ActiveDeadlineSeconds = ptr(intstrFrom(int(*k.ActiveDeadlineSeconds)))
	}
	if md := k.PodMetadata; md != nil {
		tmpl.Metadata = wfv1.Metadata{Labels: md.Labels, Annotations: md.Annotations}
	}
	c.scheduling(k, &pp, tmpl)
	c.pullSecrets(k, &pp)
}

// scheduling applies node selector, tolerations and node affinity.
func (c *compiler) scheduling(k *kfp.KubernetesConfig, pp *platformParams, tmpl *wfv1.Template) {
	patch := map[string]any{}
	if ns := k.NodeSelector; ns != nil {
		if len(ns.Labels) > 0 {
			tmpl.NodeSelector = ns.Labels
		}
		if ns.NodeSelectorJSON != nil {
			patch["nodeSelector"] = pp.value("", ns.NodeSelectorJSON)
		}
	}
	var jsonTols []string
	for _, t := range k.Tolerations {
		if t.TolerationJSON != nil {
			jsonTols = append(jsonTols, pp.value("", t.TolerationJSON))
			continue
		}
		tol := corev1.Toleration{Key: t.Key, Operator: corev1.TolerationOperator(t.Operator), Value: t.Value,
			Effect: corev1.TaintEffect(t.Effect), TolerationSeconds: t.TolerationSeconds}
		tmpl.Tolerations = append(tmpl.Tolerations, tol)
	}
	var terms []corev1.PreferredSchedulingTerm
	var required []corev1.NodeSelectorTerm
	for _, na := range k.NodeAffinity {
		if na.NodeAffinityJSON != nil {
			patch["affinity"] = pp.value("", na.NodeAffinityJSON)
			continue
		}
		term := corev1.NodeSelectorTerm{}
		for _, r := range na.MatchExpressions {
			term.MatchExpressions = append(term.MatchExpressions, corev1.NodeSelectorRequirement{Key: r.Key, Operator: corev1.NodeSelectorOperator(r.Operator), Values: r.Values})
		}
		for _, r := range na.MatchFields {
			term.MatchFields = append(term.MatchFields, corev1.NodeSelectorRequirement{Key: r.Key, Operator: corev1.NodeSelectorOperator(r.Operator), Values: r.Values})
		}
		if na.Weight != nil {
			terms = append(terms, corev1.PreferredSchedulingTerm{Weight: *na.Weight, Preference: term})
		} else {
			required = append(required, term)
		}
	}
	if len(terms) > 0 || len(required) > 0 {
		aff := &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: terms}
		if len(required) > 0 {
			aff.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{NodeSelectorTerms: required}
		}
		tmpl.Affinity = &corev1.Affinity{NodeAffinity: aff}
	}
	if len(patch) == 0 && len(jsonTols) == 0 {
		return
	}
	// Runtime JSON values are spliced into the patch text unquoted.
	var parts []string
	for _, key := range slices.Sorted(maps.Keys(patch)) {
		parts = append(parts, fmt.Sprintf("%q:%s", key, patch[key]))
	}
	if len(jsonTols) > 0 {
		parts = append(parts, fmt.Sprintf("%q:[%s]", "tolerations", strings.Join(jsonTols, ",")))
	}
	tmpl.PodSpecPatch = "{" + strings.Join(parts, ",") + "}"
}

// pullSecrets adds image pull secrets at the workflow level, where Argo
// declares them.
func (c *compiler) pullSecrets(k *kfp.KubernetesConfig, pp *platformParams) {
	for _, ps := range k.ImagePullSecret {
		name := ps.SecretName
		if name == "" && ps.SecretNameParameter != nil {
			name = c.constantOrGlobal(pp.s, ps.SecretNameParameter)
		}
		if name == "" {
			continue
		}
		found := false
		for _, have := range c.wf.Spec.ImagePullSecrets {
			found = found || have.Name == name
		}
		if !found {
			c.wf.Spec.ImagePullSecrets = append(c.wf.Spec.ImagePullSecrets, corev1.LocalObjectReference{Name: name})
		}
	}
}

// constantOrGlobal resolves a platform parameter that must be known before
// the workflow starts: a constant or a pipeline parameter.
func (c *compiler) constantOrGlobal(s *scope, p *kfp.InputParam) string {
	switch {
	case p.RuntimeValue != nil:
		return fmt.Sprint(p.RuntimeValue.Constant)
	case p.ComponentInputParameter != "" && s.rootRefs[p.ComponentInputParameter] != "":
		return "{{workflow.parameters." + s.rootRefs[p.ComponentInputParameter] + "}}"
	}
	return ""
}

// platformParams turns platform config parameters into template inputs.
type platformParams struct {
	c    *compiler
	s    *scope
	a    *taskArgs
	tmpl *wfv1.Template
	n    int
}

// value returns constant, or a reference to a new template input bound to p
// in the task's scope.
func (pp *platformParams) value(constant string, p *kfp.InputParam) string {
	if constant != "" || p == nil {
		return constant
	}
	var v string
	switch {
	case p.RuntimeValue != nil:
		return fmt.Sprint(p.RuntimeValue.Constant)
	case p.ComponentInputParameter != "":
		if !pp.s.params[p.ComponentInputParameter] {
			return ""
		}
		v = pp.s.paramRef(p.ComponentInputParameter)
	case p.TaskOutputParameter != nil:
		v = fmt.Sprintf("{{tasks.%s.outputs.parameters.%s}}", p.TaskOutputParameter.ProducerTask, p.TaskOutputParameter.OutputParameterKey)
	default:
		return ""
	}
	name := fmt.Sprintf("kubeline-k8s-%d", pp.n)
	pp.n++
	pp.a.params[name], pp.a.present[name] = v, true
	pp.tmpl.Inputs.Parameters = append(pp.tmpl.Inputs.Parameters, wfv1.Parameter{Name: name})
	return "{{inputs.parameters." + name + "}}"
}
