package argo

import (
	"net"
	"slices"
	"strconv"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubeline/kubeline/runtime/artifact"
)

// ArtifactRepository is the Argo artifact repository of the S3 store's
// bucket, for the workflow controller's artifact-repositories config map or
// a workflow's spec.artifactRepositoryRef target, with the key format the
// compiler writes (artifact.KeyFormat), archiving every step's log there
// (archiveLogs: KEY/main.log, artifact.LogKey, where the log route and the
// Pipelines UI's Node server find it once the pod is gone). Argo reads the
// credentials from the Kubernetes secret S3Config.CredentialsSecret, never
// from this process; a CA file has no counterpart here (Argo takes a CA
// from a secret too, caSecret, left for the Helm chart to set).
func ArtifactRepository(s *artifact.S3) wfv1.ArtifactRepository {
	cfg := s.Config()
	secret := cfg.CredentialsSecret
	if secret == "" {
		secret = artifact.DefaultCredentialsSecret
	}
	ref := func(key string) *corev1.SecretKeySelector {
		return &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key}
	}
	insecure, archiveLogs := !cfg.Secure, true
	return wfv1.ArtifactRepository{ArchiveLogs: &archiveLogs, S3: &wfv1.S3ArtifactRepository{
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

// PodEnv is the environment `kubeline launch` needs in a pod to use the S3
// store itself, beside what Argo's executor uploads: experiment steps and
// trials read and write their records there, and version steps read the
// version index. It names the store (KUBELINE_ARTIFACT_ROOT) and its
// settings the way artifact.S3ConfigFromEnv reads them; the credentials
// come from the Kubernetes secret the artifact repository reads, never from
// this process. The launcher keeps them from the user's command.
func PodEnv(s *artifact.S3) []corev1.EnvVar {
	cfg := s.Config()
	secret := cfg.CredentialsSecret
	if secret == "" {
		secret = artifact.DefaultCredentialsSecret
	}
	ref := func(key string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key}}
	}
	host, port, err := net.SplitHostPort(cfg.Endpoint)
	if err != nil {
		host, port = cfg.Endpoint, ""
	}
	env := []corev1.EnvVar{
		{Name: "KUBELINE_ARTIFACT_ROOT", Value: strings.TrimSuffix(s.URI(""), "/")},
		{Name: "OBJECTSTORECONFIG_HOST", Value: host},
		{Name: "OBJECTSTORECONFIG_PORT", Value: port},
		{Name: "OBJECTSTORECONFIG_SECURE", Value: strconv.FormatBool(cfg.Secure)},
		{Name: "OBJECTSTORECONFIG_BUCKETNAME", Value: cfg.Bucket},
		{Name: "OBJECTSTORECONFIG_REGION", Value: cfg.Region},
		{Name: "OBJECTSTORECONFIG_ACCESSKEY", ValueFrom: ref("accesskey")},
		{Name: "OBJECTSTORECONFIG_SECRETACCESSKEY", ValueFrom: ref("secretkey")},
	}
	out := env[:0]
	for _, e := range env {
		if e.Value != "" || e.ValueFrom != nil {
			out = append(out, e)
		}
	}
	return out
}

// usesStore reports whether a launcher step with args reads or writes the
// artifact store itself (compiler/argo's launcher contract): experiment
// steps, trials, version lookups, importers, and steps given artifacts as
// descriptors (--in NAME-artifact=..., artifacts that cross a loop).
func usesStore(args []string) bool {
	for i, a := range args {
		switch {
		case a == "--":
			return false // the user's command follows
		case a == "--hpo-step" || a == "--trial" || a == "--resolve-version" || a == "--importer":
			return true
		case a == "--in" && i+1 < len(args):
			if name, _, _ := strings.Cut(args[i+1], "="); strings.HasSuffix(name, "-artifact") {
				return true
			}
		}
	}
	return false
}

// addPodEnv gives every launcher step the store's name and settings, so
// the artifact URIs it writes name the store the artifacts are uploaded to;
// the steps that use the store themselves (or are given a code version:
// codeparam.go) get the credentials too.
func addPodEnv(wf *wfv1.Workflow, env []corev1.EnvVar) {
	if len(env) == 0 {
		return
	}
	code := codeTemplates(wf)
	for i := range wf.Spec.Templates {
		c := wf.Spec.Templates[i].Container
		if c == nil || len(c.Command) < 2 || c.Command[1] != "launch" {
			continue
		}
		store := usesStore(c.Args) || code[wf.Spec.Templates[i].Name]
		for _, e := range env {
			if e.ValueFrom != nil && !store {
				continue
			}
			if !slices.ContainsFunc(c.Env, func(x corev1.EnvVar) bool { return x.Name == e.Name }) {
				c.Env = append(c.Env, e)
			}
		}
	}
}
