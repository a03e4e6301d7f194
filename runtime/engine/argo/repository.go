package argo

import (
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubeline/kubeline/runtime/artifact"
)

// ArtifactRepository is the Argo artifact repository of the S3 store's
// bucket, for the workflow controller's artifact-repositories config map or
// a workflow's spec.artifactRepositoryRef target, with the key format the
// compiler writes (artifact.KeyFormat). Argo reads the credentials from the
// Kubernetes secret S3Config.CredentialsSecret, never from this process; a
// CA file has no counterpart here (Argo takes a CA from a secret too,
// caSecret, left for the Helm chart to set).
func ArtifactRepository(s *artifact.S3) wfv1.ArtifactRepository {
	cfg := s.Config()
	secret := cfg.CredentialsSecret
	if secret == "" {
		secret = artifact.DefaultCredentialsSecret
	}
	ref := func(key string) *corev1.SecretKeySelector {
		return &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key}
	}
	insecure := !cfg.Secure
	return wfv1.ArtifactRepository{S3: &wfv1.S3ArtifactRepository{
		S3Bucket: wfv1.S3Bucket{
			Endpoint:        cfg.Endpoint,
			Bucket:          cfg.Bucket,
			Region:          cfg.Region,
			Insecure:        &insecure,
			AccessKeySecret: ref("accesskey"),
			SecretKeySecret: ref("secretkey"),
		},
		KeyFormat: artifact.KeyFormat,
	}}
}
