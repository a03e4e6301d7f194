package argo

import (
	"os"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubeline/kubeline/runtime/artifact"
)

func TestArtifactRepository(t *testing.T) {
	s, err := artifact.NewS3(artifact.S3Config{Endpoint: "minio-service.kubeflow:9000", Bucket: "mlpipeline", Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	insecure := true
	ref := func(key string) *corev1.SecretKeySelector {
		return &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "mlpipeline-minio-artifact"}, Key: key}
	}
	want := wfv1.ArtifactRepository{S3: &wfv1.S3ArtifactRepository{
		S3Bucket: wfv1.S3Bucket{Endpoint: "minio-service.kubeflow:9000", Bucket: "mlpipeline", Region: "us-east-1",
			Insecure: &insecure, AccessKeySecret: ref("accesskey"), SecretKeySecret: ref("secretkey")},
		KeyFormat: "kubeline/{{workflow.name}}/{{pod.name}}",
	}}
	if diff := cmp.Diff(want, ArtifactRepository(s)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// The compiler writes output keys with the same prefix.
	src, err := os.ReadFile("../../../compiler/argo/executor.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), `"`+artifact.KeyFormat+`/"`) {
		t.Errorf("compiler/argo/executor.go no longer writes output keys under %s/", artifact.KeyFormat)
	}
}
