package artifact

import (
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
)

// KeyFormat is where Argo puts a step's outputs: the key prefix
// compiler/argo writes into every output artifact
// (kubeline/{{workflow.name}}/{{pod.name}}/NAME), so the artifacts Argo
// uploads in a cluster and those the embedded engine stores share keys.
const KeyFormat = "kubeline/{{workflow.name}}/{{pod.name}}"

// DefaultCredentialsSecret is the secret KFP's manifests hold the MinIO
// credentials in (keys accesskey and secretkey).
const DefaultCredentialsSecret = "mlpipeline-minio-artifact"

// ArtifactRepository is the Argo artifact repository of the same bucket,
// for the workflow controller's artifact-repositories config map or a
// workflow's spec.artifactRepositoryRef target. Argo reads the credentials
// from the Kubernetes secret S3Config.CredentialsSecret, never from this
// process; a CA file has no counterpart here (Argo takes a CA from a secret
// too, caSecret, left for the Helm chart to set).
func (s *S3) ArtifactRepository() wfv1.ArtifactRepository {
	secret := s.cfg.CredentialsSecret
	if secret == "" {
		secret = DefaultCredentialsSecret
	}
	ref := func(key string) *corev1.SecretKeySelector {
		return &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key}
	}
	insecure := !s.cfg.Secure
	return wfv1.ArtifactRepository{S3: &wfv1.S3ArtifactRepository{
		S3Bucket: wfv1.S3Bucket{
			Endpoint:        s.cfg.Endpoint,
			Bucket:          s.cfg.Bucket,
			Region:          s.cfg.Region,
			Insecure:        &insecure,
			AccessKeySecret: ref("accesskey"),
			SecretKeySecret: ref("secretkey"),
		},
		KeyFormat: KeyFormat,
	}}
}
