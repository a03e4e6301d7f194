package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubeline/kubeline/runtime/artifact"
)

// TestServerPythonExecutor: `kubeline server --python-executor` gives the
// Argo engine's launcher pods KUBELINE_PYTHON_EXECUTOR (what kubeline
// launch reads in a pod) beside the S3 store's settings, and refuses an
// executor the launcher does not know before it starts.
func TestServerPythonExecutor(t *testing.T) {
	s3, err := artifact.NewS3(artifact.S3Config{Endpoint: "minio:9000", Bucket: "b", Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	builtin := corev1.EnvVar{Name: "KUBELINE_PYTHON_EXECUTOR", Value: "builtin"}
	for _, c := range []struct {
		name    string
		python  string
		objects artifact.Store
		want    []string
	}{
		{"no store, no executor", "", artifact.Dir{Root: t.TempDir()}, nil},
		{"builtin", "builtin", artifact.Dir{Root: t.TempDir()}, []string{"KUBELINE_PYTHON_EXECUTOR=builtin"}},
		{"S3 and builtin", "builtin", s3, []string{"KUBELINE_ARTIFACT_ROOT=minio://b", "KUBELINE_PYTHON_EXECUTOR=builtin"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, e := range (&engineFlags{python: c.python}).podEnv(c.objects) {
				if e.ValueFrom == nil && (e.Name == builtin.Name || e.Name == "KUBELINE_ARTIFACT_ROOT") {
					got = append(got, e.Name+"="+e.Value)
				}
			}
			if d := cmp.Diff(c.want, got); d != "" {
				t.Errorf("pod env (-want +got):\n%s", d)
			}
		})
	}
	code, _, errs := kl("server", "--python-executor", "pip", "--addr", "127.0.0.1:0")
	if code != exitUsage || !strings.Contains(errs, `--python-executor "pip": want auto, builtin, venv or command`) {
		t.Errorf("--python-executor pip: exit %d %q, want %d naming the flag", code, errs, exitUsage)
	}
}
