package argo

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestPodSpecPatchKept: the kept pod spec patch is the one rendered for
// the same image and mounts, and another image or mount set gets its own.
func TestPodSpecPatchKept(t *testing.T) {
	bin := corev1.VolumeMount{Name: binVolume, MountPath: BinDir}
	out := corev1.VolumeMount{Name: outVolume, MountPath: OutputsDir}
	ws := corev1.VolumeMount{Name: workspaceVol, MountPath: workspacePath}
	cases := []struct {
		image  string
		mounts []corev1.VolumeMount
	}{
		{"example.com/a:1", []corev1.VolumeMount{bin, out}},
		{"example.com/b:1", []corev1.VolumeMount{bin, out}},
		{"example.com/a:1", []corev1.VolumeMount{bin, out, ws}},
		{"example.com/a:1", []corev1.VolumeMount{bin}},
		{"example.com/a:1", []corev1.VolumeMount{bin, {Name: outVolume, MountPath: OutputsDir, ReadOnly: true}}},
	}
	seen := map[string]int{}
	for round := 0; round < 2; round++ {
		for i, c := range cases {
			got, err := podSpecPatch(c.image, c.mounts)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := renderPodSpecPatch(c.image, c.mounts)
			if got != want {
				t.Errorf("case %d round %d: got\n%s\nwant\n%s", i, round, got, want)
			}
			if !strings.Contains(got, `"image":"`+c.image+`"`) {
				t.Errorf("case %d: patch without its image: %s", i, got)
			}
			if j, ok := seen[got]; ok && j != i {
				t.Errorf("cases %d and %d have the same patch", i, j)
			}
			seen[got] = i
		}
	}
}
