package argo_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
	"github.com/argoproj/argo-workflows/v3/workflow/validate"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	"github.com/kubeline/kubeline/compiler"
)

// optionalPlatformInputs are the optional pipeline inputs of the corpus's
// missing_kubernetes_optional_inputs pipeline that name its step's platform
// settings, with a value each when given.
var optionalPlatformInputs = map[string]string{
	"optional_affinity":               `{"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "arch", "operator": "In", "values": ["amd64"]}]}]}}`,
	"optional_config_map_name":        "settings",
	"optional_image_pull_secret_name": "registry",
	"optional_secret_name":            "creds",
	"optional_selector":               `{"disktype": "ssd"}`,
	"optional_tolerations":            `[{"key": "gpu", "operator": "Exists"}]`,
}

// TestOptionalPlatformInputs: a platform setting whose name or JSON comes
// from an optional pipeline input is dropped from the pod when the input is
// left out, as KFP's driver drops it. Each of the 64 combinations of the
// six inputs given or left out ("", and null for the JSON ones) goes
// through Argo's own argument processing and template substitution
// (workflow/common.ProcessArgs), then the template's podSpecPatch is
// applied to the pod spec as Argo's ApplyPodSpecPatch does (a PodSpec
// unmarshal, then a strategic merge patch). The patch must be valid JSON,
// no volume, env reference or pull secret may name "", and each setting is
// in the pod exactly when its input was given. Before, a left-out selector
// made the patch read "nodeSelector":, (Argo: Error applying PodSpecPatch)
// and the secret and config map entries were named "".
func TestOptionalPlatformInputs(t *testing.T) {
	file := "critical/missing_kubernetes_optional_inputs.yaml"
	data, err := os.ReadFile(corpus + file)
	if err != nil {
		t.Fatal(err)
	}
	wf, err := compiler.Compile(file, data, compiler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.ValidateWorkflow(nil, nil, wf, nil, validate.ValidateOpts{Lint: true}); err != nil {
		t.Fatalf("argo lint: %v", err)
	}
	var step *wfv1.Template
	var task *wfv1.DAGTask
	for i := range wf.Spec.Templates {
		tm := &wf.Spec.Templates[i]
		if tm.Name == "log-message" {
			step = tm
		}
		if tm.DAG != nil {
			for j := range tm.DAG.Tasks {
				if tm.DAG.Tasks[j].Template == "log-message" {
					task = &tm.DAG.Tasks[j]
				}
			}
		}
	}
	if step == nil || task == nil {
		t.Fatal("no log-message template and task")
	}
	names := sortedNames(optionalPlatformInputs)
	for mask := 0; mask < 1<<len(names); mask++ {
		for _, null := range []bool{false, true} {
			given := map[string]string{}
			for i, n := range names {
				switch {
				case mask&(1<<i) != 0:
					given[n] = optionalPlatformInputs[n]
				case null && strings.HasPrefix(optionalPlatformInputs[n], "{") || null && strings.HasPrefix(optionalPlatformInputs[n], "["):
					given[n] = "null"
				default:
					given[n] = ""
				}
			}
			label := fmt.Sprintf("given %v", given)
			spec, err := podOf(step, task, given)
			if err != nil {
				t.Fatalf("%s: %v", label, err)
			}
			checkOptionalPlatform(t, label, spec, given)
		}
	}
}

func sortedNames(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

// podOf is the pod spec Argo makes of step run by task with the pipeline's
// inputs given: the task's arguments resolved against them, the template's
// inputs substituted by Argo's ProcessArgs, the template's fields put in
// the pod, and its podSpecPatch applied.
func podOf(step *wfv1.Template, task *wfv1.DAGTask, given map[string]string) (*corev1.PodSpec, error) {
	args := wfv1.Arguments{}
	for _, p := range task.Arguments.Parameters {
		v := p.Value.String()
		for n, gv := range given {
			v = strings.ReplaceAll(v, "{{workflow.parameters."+n+"}}", gv)
		}
		args.Parameters = append(args.Parameters, wfv1.Parameter{Name: p.Name, Value: wfv1.AnyStringPtr(v)})
	}
	tmpl, err := common.ProcessArgs(step, &args, common.Parameters{}, common.Parameters{}, false, "argo", nil)
	if err != nil {
		return nil, fmt.Errorf("argo's argument processing: %w", err)
	}
	main := *tmpl.Container
	main.Name = "main"
	// Argo's wait container comes first and mirrors the main container's
	// mounts under /mainctrfs (addOutputArtifactsVolumes).
	wait := corev1.Container{Name: "wait", Image: "argoexec"}
	for _, m := range main.VolumeMounts {
		m.MountPath = path.Join("/mainctrfs", m.MountPath)
		wait.VolumeMounts = append(wait.VolumeMounts, m)
	}
	pod := corev1.PodSpec{Containers: []corev1.Container{wait, main}, Volumes: tmpl.Volumes, NodeSelector: tmpl.NodeSelector,
		Tolerations: tmpl.Tolerations, Affinity: tmpl.Affinity}
	if tmpl.PodSpecPatch == "" {
		return &pod, nil
	}
	if err := json.Unmarshal([]byte(tmpl.PodSpecPatch), &corev1.PodSpec{}); err != nil {
		return nil, fmt.Errorf("invalid podSpecPatch %s: %w", tmpl.PodSpecPatch, err)
	}
	b, _ := json.Marshal(pod)
	patched, err := strategicpatch.StrategicMergePatch(b, []byte(tmpl.PodSpecPatch), corev1.PodSpec{})
	if err != nil {
		return nil, fmt.Errorf("apply podSpecPatch %s: %w", tmpl.PodSpecPatch, err)
	}
	out := &corev1.PodSpec{}
	if err := json.Unmarshal(patched, out); err != nil {
		return nil, err
	}
	return out, nil
}

// checkOptionalPlatform checks the pod of the corpus step against the
// inputs given.
func checkOptionalPlatform(t *testing.T, label string, spec *corev1.PodSpec, given map[string]string) {
	t.Helper()
	has := func(n string) bool { return given[n] != "" && given[n] != "null" }
	if len(spec.Containers) != 2 || spec.Containers[0].Name != "wait" || spec.Containers[1].Name != "main" {
		t.Fatalf("%s: containers %+v, want wait and main", label, spec.Containers)
	}
	main := spec.Containers[1]
	vols := map[string]bool{}
	var secretVol, cmVol bool
	for _, v := range spec.Volumes {
		vols[v.Name] = true
		if s := v.Secret; s != nil {
			secretVol = true
			if s.SecretName != "creds" {
				t.Errorf("%s: volume %s names secret %q", label, v.Name, s.SecretName)
			}
		}
		if c := v.ConfigMap; c != nil {
			cmVol = true
			if c.Name != "settings" {
				t.Errorf("%s: volume %s names config map %q", label, v.Name, c.Name)
			}
		}
	}
	mounts := map[string]bool{}
	for _, c := range spec.Containers {
		for _, m := range c.VolumeMounts {
			if c.Name == "main" {
				mounts[m.MountPath] = true
			}
			if !vols[m.Name] {
				t.Errorf("%s: container %s mounts %s of volume %s, which the pod does not have", label, c.Name, m.MountPath, m.Name)
			}
		}
	}
	envs := map[string]string{}
	for _, e := range main.Env {
		switch {
		case e.ValueFrom == nil:
		case e.ValueFrom.SecretKeyRef != nil:
			envs[e.Name] = e.ValueFrom.SecretKeyRef.Name
		case e.ValueFrom.ConfigMapKeyRef != nil:
			envs[e.Name] = e.ValueFrom.ConfigMapKeyRef.Name
		}
	}
	var pull []string
	for _, s := range spec.ImagePullSecrets {
		pull = append(pull, s.Name)
	}
	hasToleration := len(spec.Tolerations) == 1 && spec.Tolerations[0].Key == "gpu"
	hasAffinity := spec.Affinity != nil && spec.Affinity.NodeAffinity != nil && spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil
	for _, c := range []struct {
		what      string
		input     string
		got, none bool
	}{
		{"secret volume", "optional_secret_name", secretVol && mounts["/mnt/secret"], !secretVol && !mounts["/mnt/secret"]},
		{"secret env", "optional_secret_name", envs["PASSWORD"] == "creds", envs["PASSWORD"] == "" && !hasKey(envs, "PASSWORD")},
		{"config map volume", "optional_config_map_name", cmVol && mounts["/mnt/config"], !cmVol && !mounts["/mnt/config"]},
		{"config map env", "optional_config_map_name", envs["SETTING"] == "settings", !hasKey(envs, "SETTING")},
		{"pull secret", "optional_image_pull_secret_name", len(pull) == 1 && pull[0] == "registry", len(pull) == 0},
		{"node selector", "optional_selector", spec.NodeSelector["disktype"] == "ssd", len(spec.NodeSelector) == 0},
		{"tolerations", "optional_tolerations", hasToleration, len(spec.Tolerations) == 0},
		{"node affinity", "optional_affinity", hasAffinity, !hasAffinity},
	} {
		if has(c.input) && !c.got {
			t.Errorf("%s: %s given, but the pod has no %s: %+v", label, c.input, c.what, spec)
		}
		if !has(c.input) && !c.none {
			t.Errorf("%s: %s left out, but the pod has a %s: %+v", label, c.input, c.what, spec)
		}
	}
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}
