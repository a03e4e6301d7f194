package local

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// needsKubernetes lists what a step's template asks of Kubernetes that the
// embedded engine does not do — secrets and config maps, volumes, scheduling,
// security context, init containers and sidecars, pod spec patches — as one
// note for the step's node ("needs Kubernetes: ..."), so that none of it is
// silently ignored. The step still runs. What the engine does honour is not
// listed: env values and field paths (name, namespace, labels and
// annotations of the template's metadata), activeDeadlineSeconds, retries.
func needsKubernetes(t *wfv1.Template) string {
	var needs []string
	add := func(format string, args ...any) { needs = append(needs, fmt.Sprintf(format, args...)) }
	if c := t.Container; c != nil {
		for _, e := range c.Env {
			switch {
			case e.ValueFrom == nil:
			case e.ValueFrom.SecretKeyRef != nil:
				add("env %s from secret %s", e.Name, e.ValueFrom.SecretKeyRef.Name)
			case e.ValueFrom.ConfigMapKeyRef != nil:
				add("env %s from config map %s", e.Name, e.ValueFrom.ConfigMapKeyRef.Name)
			case e.ValueFrom.ResourceFieldRef != nil:
				add("env %s from resource field %s", e.Name, e.ValueFrom.ResourceFieldRef.Resource)
			}
		}
		for _, m := range c.VolumeMounts {
			add("volume %s at %s", m.Name, m.MountPath)
		}
		if c.SecurityContext != nil {
			add("security context")
		}
		if len(c.Resources.Claims) > 0 {
			add("resource claims")
		}
	}
	for _, ic := range t.InitContainers {
		kind := "init container"
		if ic.RestartPolicy != nil {
			kind = "sidecar"
		}
		add("%s %s", kind, ic.Name)
	}
	if len(t.NodeSelector) > 0 {
		add("node selector")
	}
	if len(t.Tolerations) > 0 {
		add("tolerations")
	}
	if a := t.Affinity; a != nil {
		add("affinity")
	}
	if keys := patchKeys(t.PodSpecPatch); len(keys) > 0 {
		add("pod spec patch (%s)", strings.Join(keys, ", "))
	}
	if len(needs) == 0 {
		return ""
	}
	return "needs Kubernetes: " + strings.Join(needs, "; ")
}

// patchKeys lists the pod spec fields a template's podSpecPatch sets,
// leaving out the main container's resources (GPU requests are recorded on
// the node). A patch whose values arrive at run time is not JSON yet; its
// keys are read up to the first value.
func patchKeys(patch string) []string {
	if strings.TrimSpace(patch) == "" {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(patch), &m) != nil {
		return []string{"set when the pod is made"}
	}
	var keys []string
	for k, v := range m {
		if k == "containers" && onlyResources(v) {
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// onlyResources tells whether a patch's containers set nothing but the main
// container's resources.
func onlyResources(containers json.RawMessage) bool {
	var cs []map[string]json.RawMessage
	if json.Unmarshal(containers, &cs) != nil {
		return false
	}
	for _, c := range cs {
		for k := range c {
			if k != "name" && k != "resources" {
				return false
			}
		}
	}
	return true
}

// joinNote appends a step's needs-Kubernetes note to its failure message.
func joinNote(msg, note string) string {
	if note == "" {
		return msg
	}
	return msg + " (" + note + ")"
}
