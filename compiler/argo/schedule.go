package argo

import (
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeline/kubeline/compiler/kfp"
	"github.com/kubeline/kubeline/compiler/spec"
)

// scheduling applies node selector, tolerations, node affinity and pod
// (anti-)affinity. JSON values known at compile time (constants) are applied
// as constant config is; JSON values that arrive at run time are spliced into
// the podSpecPatch unquoted.
func (pp *platformParams) scheduling(k *kfp.KubernetesConfig) {
	if ns := k.NodeSelector; ns != nil {
		path := spec.Key(spec.Key(pp.path, "nodeSelector"), "nodeSelectorJson")
		switch { // the JSON form takes precedence over labels
		case ns.NodeSelectorJSON == nil:
			pp.tmpl.NodeSelector = ns.Labels
		case ns.NodeSelectorJSON.RuntimeValue != nil:
			var sel map[string]string
			if pp.constantJSON(ns.NodeSelectorJSON, &sel, path) {
				pp.tmpl.NodeSelector = sel
			}
		default:
			if in := pp.input(ns.NodeSelectorJSON, path); in != "" {
				// Absent (an optional input left out): {} merges nothing.
				pp.patch = append(pp.patch, fmt.Sprintf(`"nodeSelector":{{=%s ? '{}' : %s}}`, absentExpr(in), inputExpr(in)))
			}
		}
	}
	pp.tolerations(k.Tolerations)
	pp.nodeAffinity(k.NodeAffinity)
	pp.podAffinity(k.PodAffinity)
}

// constantJSON decodes a constant JSON platform value into out.
func (pp *platformParams) constantJSON(p *kfp.InputParam, out any, path string) bool {
	b, _ := json.Marshal(p.RuntimeValue.Constant)
	if s, ok := p.RuntimeValue.Constant.(string); ok {
		b = []byte(s) // a JSON document given as a string
	}
	if err := json.Unmarshal(b, out); err != nil {
		pp.c.errs.Add(path, nil, "invalid JSON value for %T: %v", out, err)
		return false
	}
	return true
}

// tolerations adds constant tolerations and JSON ones (one toleration or a
// list, as the driver accepts both).
func (pp *platformParams) tolerations(tols []kfp.Toleration) {
	var runtime []string
	for i, t := range tols {
		path := spec.Key(spec.Index(spec.Key(pp.path, "tolerations"), i), "tolerationJson")
		switch {
		case t.TolerationJSON == nil:
			pp.tmpl.Tolerations = append(pp.tmpl.Tolerations, corev1.Toleration{Key: t.Key, Operator: corev1.TolerationOperator(t.Operator),
				Value: t.Value, Effect: corev1.TaintEffect(t.Effect), TolerationSeconds: t.TolerationSeconds})
		case t.TolerationJSON.RuntimeValue != nil:
			var list []corev1.Toleration
			if _, isList := t.TolerationJSON.RuntimeValue.Constant.([]any); isList {
				pp.constantJSON(t.TolerationJSON, &list, path)
			} else {
				var one corev1.Toleration
				if pp.constantJSON(t.TolerationJSON, &one, path) && one != (corev1.Toleration{}) {
					list = append(list, one)
				}
			}
			pp.tmpl.Tolerations = append(pp.tmpl.Tolerations, list...)
		default:
			if in := pp.input(t.TolerationJSON, path); in != "" {
				runtime = append(runtime, in)
			}
		}
	}
	switch len(runtime) {
	case 0:
	case 1:
		// One object or a list: an Argo expression flattens both into the
		// patch's list when the pod is made, after the constant ones (the
		// patch replaces the pod's list); absent, the constant ones alone.
		consts := "[]"
		if len(pp.tmpl.Tolerations) > 0 {
			consts = mustJSON(pp.tmpl.Tolerations)
		}
		pp.patch = append(pp.patch, fmt.Sprintf(`"tolerations":{{=toJson(flatten([jsonpath(%s, '$'), %s ? [] : jsonpath(%s, '$')]))}}`,
			exprString(consts), absentExpr(runtime[0]), inputExpr(runtime[0])))
	default:
		pp.c.errs.Add(spec.Key(pp.path, "tolerations"), nil, "more than one runtime tolerationJson in one executor: %v", spec.ErrUnsupported)
	}
}

// nodeAffinity merges constant terms (a weight makes a term preferred) and
// JSON NodeAffinity values into the template's node affinity.
func (pp *platformParams) nodeAffinity(terms []kfp.NodeAffinityTerm) {
	var aff corev1.NodeAffinity
	var required []corev1.NodeSelectorTerm
	for i, na := range terms {
		path := spec.Key(spec.Index(spec.Key(pp.path, "nodeAffinity"), i), "nodeAffinityJson")
		switch {
		case na.NodeAffinityJSON == nil:
			if len(na.MatchExpressions) == 0 && len(na.MatchFields) == 0 {
				continue // the driver skips an empty term
			}
			term := corev1.NodeSelectorTerm{MatchExpressions: nodeRequirements(na.MatchExpressions), MatchFields: nodeRequirements(na.MatchFields)}
			if na.Weight != nil {
				aff.PreferredDuringSchedulingIgnoredDuringExecution = append(aff.PreferredDuringSchedulingIgnoredDuringExecution,
					corev1.PreferredSchedulingTerm{Weight: *na.Weight, Preference: term})
			} else {
				required = append(required, term)
			}
		case na.NodeAffinityJSON.RuntimeValue != nil:
			var v corev1.NodeAffinity
			if pp.constantJSON(na.NodeAffinityJSON, &v, path) {
				if r := v.RequiredDuringSchedulingIgnoredDuringExecution; r != nil {
					required = append(required, r.NodeSelectorTerms...)
				}
				aff.PreferredDuringSchedulingIgnoredDuringExecution = append(aff.PreferredDuringSchedulingIgnoredDuringExecution,
					v.PreferredDuringSchedulingIgnoredDuringExecution...)
			}
		default:
			if in := pp.input(na.NodeAffinityJSON, path); in != "" {
				pp.patch = append(pp.patch, fmt.Sprintf(`"affinity":{"nodeAffinity":{{=%s ? '{}' : %s}}}`, absentExpr(in), inputExpr(in)))
			}
		}
	}
	if len(required) > 0 {
		aff.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{NodeSelectorTerms: required}
	}
	if len(required) > 0 || len(aff.PreferredDuringSchedulingIgnoredDuringExecution) > 0 {
		pp.affinity().NodeAffinity = &aff
	}
}

func (pp *platformParams) affinity() *corev1.Affinity {
	if pp.tmpl.Affinity == nil {
		pp.tmpl.Affinity = &corev1.Affinity{}
	}
	return pp.tmpl.Affinity
}

func nodeRequirements(rs []kfp.SelectorRequirement) []corev1.NodeSelectorRequirement {
	var out []corev1.NodeSelectorRequirement
	for _, r := range rs {
		out = append(out, corev1.NodeSelectorRequirement{Key: r.Key, Operator: corev1.NodeSelectorOperator(r.Operator), Values: r.Values})
	}
	return out
}

// labelSelector is the selector of expressions and labels; nil when empty.
func labelSelector(exprs []kfp.SelectorRequirement, labels map[string]string) *metav1.LabelSelector {
	if len(exprs) == 0 && len(labels) == 0 {
		return nil
	}
	sel := &metav1.LabelSelector{MatchLabels: labels}
	for _, r := range exprs {
		sel.MatchExpressions = append(sel.MatchExpressions, metav1.LabelSelectorRequirement{Key: r.Key,
			Operator: metav1.LabelSelectorOperator(r.Operator), Values: r.Values})
	}
	return sel
}

// podAffinity adds pod affinity terms (anti: pod anti-affinity); a weight
// makes a term preferred.
func (pp *platformParams) podAffinity(terms []kfp.PodAffinityTerm) {
	for i, pa := range terms {
		if strings.TrimSpace(pa.TopologyKey) == "" {
			pp.c.errs.Add(spec.Key(spec.Index(spec.Key(pp.path, "podAffinity"), i), "topologyKey"), nil, "required: a pod affinity term needs its topology key")
			continue
		}
		term := corev1.PodAffinityTerm{LabelSelector: labelSelector(pa.MatchPodExpressions, pa.MatchPodLabels), TopologyKey: pa.TopologyKey,
			Namespaces: pa.Namespaces, NamespaceSelector: labelSelector(pa.MatchNamespaceExpressions, pa.MatchNamespaceLabels)}
		aff := pp.affinity()
		if pa.Anti != nil && *pa.Anti {
			if aff.PodAntiAffinity == nil {
				aff.PodAntiAffinity = &corev1.PodAntiAffinity{}
			}
			if pa.Weight != nil {
				aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution = append(aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution,
					corev1.WeightedPodAffinityTerm{Weight: *pa.Weight, PodAffinityTerm: term})
			} else {
				aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, term)
			}
			continue
		}
		if aff.PodAffinity == nil {
			aff.PodAffinity = &corev1.PodAffinity{}
		}
		if pa.Weight != nil {
			aff.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution = append(aff.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution,
				corev1.WeightedPodAffinityTerm{Weight: *pa.Weight, PodAffinityTerm: term})
		} else {
			aff.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(aff.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution, term)
		}
	}
}

// jsonObject reads a constant JSON object (given as a struct or a string).
func jsonObject(v any) (map[string]any, bool) {
	if s, ok := v.(string); ok {
		var m map[string]any
		if json.Unmarshal([]byte(s), &m) != nil {
			return nil, false
		}
		return m, true
	}
	m, ok := v.(map[string]any)
	return m, ok
}
