package argo

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubeline/kubeline/compiler"
)

// TestCodeStepsGetTheStore: a step given a code version (the run's code://
// resolved to its content URI) gets the store's credentials in its pod, so
// the launcher can fetch the tree for $KUBELINE_CODE_DIR; steps that
// neither use the store nor get code do not (they get only its name and
// settings, repository_test.go); with code:// unresolved nobody does.
func TestCodeStepsGetTheStore(t *testing.T) {
	data, err := os.ReadFile("../../../cmd/kubeline/testdata/codefeatures/train.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const uri = "minio://mlpipeline/kubeline/versions/codes/app/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, c := range []struct {
		code string
		want map[string]bool
	}{
		{uri, map[string]bool{"importer": true, "train": true}},
		{"v1", map[string]bool{"importer": true}},
	} {
		wf, err := compiler.Compile("train.yaml", data, compiler.Options{Params: map[string]string{"code": c.code}})
		if err != nil {
			t.Fatal(err)
		}
		addPodEnv(wf, []corev1.EnvVar{{Name: "KUBELINE_ARTIFACT_ROOT", Value: "minio://mlpipeline"},
			{Name: "OBJECTSTORECONFIG_ACCESSKEY", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "mlpipeline-minio-artifact"}, Key: "accesskey"}}}})
		got := map[string]bool{}
		for _, tmpl := range wf.Spec.Templates {
			if tmpl.Container != nil && hasEnv(tmpl.Container, "OBJECTSTORECONFIG_ACCESSKEY") {
				got[tmpl.Name] = true
			}
		}
		if d := cmp.Diff(c.want, got); d != "" {
			t.Errorf("code=%s: steps given the store's credentials (-want +got):\n%s", c.code, d)
		}
	}
}

func hasEnv(c *corev1.Container, name string) bool {
	for _, e := range c.Env {
		if e.Name == name {
			return true
		}
	}
	return false
}
