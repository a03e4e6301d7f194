package argo

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// runtime declares, once per workflow, what every pod needs: the launcher
// binary through an init container, the launcher's environment, and the KFP
// workspace volume when the pipeline has one.
func (c *compiler) runtime() {
	// The outputs directory is a volume of its own, writable by any user:
	// a step image whose user is not root could not create /kubeline/out
	// (/kubeline is root's, made by the runtime for the bin mount).
	mounts := []corev1.VolumeMount{{Name: binVolume, MountPath: BinDir}, {Name: outVolume, MountPath: OutputsDir}}
	c.wf.Spec.Volumes = append(c.wf.Spec.Volumes, corev1.Volume{
		Name: binVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}},
	})
	if ws := c.p.Workspace; ws != nil {
		c.workspace(ws.Size, ws.Kubernetes)
		mounts = append(mounts, corev1.VolumeMount{Name: workspaceVol, MountPath: workspacePath})
	}
	patch, err := podSpecPatch(c.opts.Image, mounts)
	if err != nil {
		c.errs.Add("", nil, "render pod spec patch: %v", err)
		return
	}
	c.wf.Spec.PodSpecPatch = patch
}

// PodSpecPatch is the workflow-level pod spec patch that brings the
// launcher (from image) into every pod, for workflows other packages
// compile around kubeline steps.
func PodSpecPatch(image string) string {
	p, _ := podSpecPatch(image, []corev1.VolumeMount{{Name: binVolume, MountPath: BinDir}})
	return p
}

// podSpecPatch renders the pod spec patch for image and mounts. It is the
// same JSON for every workflow with the same image and mounts, so it is
// rendered once and kept (a few images at most: kubeline's own).
func podSpecPatch(image string, mounts []corev1.VolumeMount) (string, error) {
	var key strings.Builder
	key.WriteString(image)
	for _, m := range mounts {
		if m != (corev1.VolumeMount{Name: m.Name, MountPath: m.MountPath}) {
			return renderPodSpecPatch(image, mounts)
		}
		key.WriteByte(0)
		key.WriteString(m.Name)
		key.WriteByte(0)
		key.WriteString(m.MountPath)
	}
	if p, ok := patches.Load(key.String()); ok {
		return p.(string), nil
	}
	p, err := renderPodSpecPatch(image, mounts)
	if err == nil && patchCount.Load() < maxPatches {
		patchCount.Add(1)
		patches.Store(key.String(), p)
	}
	return p, err
}

// patches holds rendered pod spec patches by image and mounts; at most
// maxPatches are kept.
var (
	patches    sync.Map
	patchCount atomic.Int32
)

const maxPatches = 64

func renderPodSpecPatch(image string, mounts []corev1.VolumeMount) (string, error) {
	env := []corev1.EnvVar{
		{Name: "KUBELINE_WORKFLOW", Value: "{{workflow.name}}"},
		{Name: "KUBELINE_WORKFLOW_UID", Value: "{{workflow.uid}}"},
		// The pod's name, where Argo keys its output artifacts. Not
		// $HOSTNAME: the kubelet cuts that to 63 characters.
		{Name: "KUBELINE_POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
	}
	patch := corev1.PodSpec{
		InitContainers: []corev1.Container{{
			Name:         "kubeline-init",
			Image:        image,
			Command:      []string{"kubeline-launch", "install", BinDir},
			VolumeMounts: mounts[:1],
		}},
		Containers: []corev1.Container{{Name: "main", Env: env, VolumeMounts: mounts}},
		// Argo gives a pod only the workflow volumes its template mounts;
		// the patch's mounts need their volume in the patch too (a real
		// workflow-controller refuses the pod otherwise).
		Volumes: []corev1.Volume{{Name: binVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
	}
	for _, m := range mounts {
		if m.Name == outVolume {
			patch.Volumes = append(patch.Volumes, corev1.Volume{Name: outVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		}
		if m.Name == workspaceVol {
			// The claim Argo creates from the workflow's volumeClaimTemplate
			// of that name: WORKFLOW-NAME.
			patch.Volumes = append(patch.Volumes, corev1.Volume{Name: workspaceVol, VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "{{workflow.name}}-" + workspaceVol}}})
		}
	}
	b, err := json.Marshal(patch)
	if err != nil {
		return "", err
	}
	// Drop the empty resources objects Go's encoder writes.
	return strings.ReplaceAll(string(b), `,"resources":{}`, ""), nil
}

func (c *compiler) workspace(size string, k8s *struct {
	PvcSpecPatch map[string]any `json:"pvcSpecPatch,omitempty"`
}) {
	q, err := resource.ParseQuantity(size)
	if err != nil {
		c.errs.Add("platforms.kubernetes.pipelineConfig.workspace.size", nil, "invalid size %q: %v", size, err)
		return
	}
	pvc := corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: workspaceVol},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: q}},
		},
	}
	if k8s != nil && k8s.PvcSpecPatch != nil {
		if err := mergeInto(&pvc.Spec, k8s.PvcSpecPatch); err != nil {
			c.errs.Add("platforms.kubernetes.pipelineConfig.workspace.kubernetes.pvcSpecPatch", nil, "%v", err)
			return
		}
	}
	c.wf.Spec.VolumeClaimTemplates = append(c.wf.Spec.VolumeClaimTemplates, pvc)
}

// mergeInto decodes patch (plain values) over dst strictly.
func mergeInto(dst any, patch map[string]any) error {
	b, err := yaml.Marshal(patch)
	if err != nil {
		return err
	}
	if err := yaml.UnmarshalStrict(b, dst); err != nil {
		return fmt.Errorf("invalid PVC spec patch: %w", err)
	}
	return nil
}
