package argo

import (
	"context"
	"os"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	argofake "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned/fake"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/kubeline/kubeline/runtime/artifact"
)

func TestArtifactRepository(t *testing.T) {
	s, err := artifact.NewS3(artifact.S3Config{Endpoint: "minio-service.kubeflow:9000", Bucket: "mlpipeline", Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	insecure, archiveLogs := true, true
	ref := func(key string) *corev1.SecretKeySelector {
		return &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "mlpipeline-minio-artifact"}, Key: key}
	}
	want := wfv1.ArtifactRepository{ArchiveLogs: &archiveLogs, S3: &wfv1.S3ArtifactRepository{
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

func TestPodEnv(t *testing.T) {
	s, err := artifact.NewS3(artifact.S3Config{Endpoint: "minio-service.kubeflow:9000", Bucket: "mlpipeline", Region: "us-east-1",
		AccessKey: "root", SecretKey: "never-in-a-pod", CredentialsSecret: "creds"})
	if err != nil {
		t.Fatal(err)
	}
	env := PodEnv(s)
	values := map[string]string{}
	for _, e := range env {
		values[e.Name] = e.Value
		if e.ValueFrom != nil {
			values[e.Name] = e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		}
	}
	want := map[string]string{
		"KUBELINE_ARTIFACT_ROOT":            "minio://mlpipeline",
		"OBJECTSTORECONFIG_HOST":            "minio-service.kubeflow",
		"OBJECTSTORECONFIG_PORT":            "9000",
		"OBJECTSTORECONFIG_SECURE":          "false",
		"OBJECTSTORECONFIG_BUCKETNAME":      "mlpipeline",
		"OBJECTSTORECONFIG_REGION":          "us-east-1",
		"OBJECTSTORECONFIG_ACCESSKEY":       "creds/accesskey",
		"OBJECTSTORECONFIG_SECRETACCESSKEY": "creds/secretkey",
	}
	if d := cmp.Diff(want, values); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	// What the pod's launcher reads back is the same store.
	back, err := artifact.S3ConfigFromEnv(func(k string) string { return values[k] })
	if err != nil || back.Endpoint != "minio-service.kubeflow:9000" || back.Bucket != "mlpipeline" || back.Region != "us-east-1" || back.Secure {
		t.Errorf("read back: %+v, %v", back, err)
	}
}

func TestSubmitGivesStoreStepsPodEnv(t *testing.T) {
	launcher := func(args ...string) *corev1.Container {
		return &corev1.Container{Image: "alpine", Command: []string{"/kubeline/bin/kubeline", "launch"}, Args: args}
	}
	wf := &wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{Name: "w"}, Spec: wfv1.WorkflowSpec{Entrypoint: "main", Templates: []wfv1.Template{
		{Name: "plain", Container: launcher("--task", "a", "--", "echo")},
		{Name: "trial", Container: launcher("--task", "b", "--trial", "{}", "--", "echo")},
		{Name: "suggest", Container: launcher("--task", "c", "--hpo-step", "suggest")},
		{Name: "resolve", Container: launcher("--task", "d", "--resolve-version", "model://m@v1")},
		{Name: "importer", Container: launcher("--task", "e", "--importer", "{}")},
		{Name: "descriptor", Container: launcher("--task", "f", "--in", "data-artifact={{inputs.parameters.data-artifact}}", "--", "cat")},
		{Name: "user-args", Container: launcher("--task", "g", "--", "echo", "--trial", "--in", "x-artifact=y")},
		{Name: "not-a-launcher", Container: &corev1.Container{Image: "alpine", Command: []string{"sh", "-c", "echo --trial"}}},
		{Name: "dag", DAG: &wfv1.DAGTemplate{}},
	}}}
	wfs := argofake.NewSimpleClientset()
	e := &Engine{wf: wfs, kube: kubefake.NewSimpleClientset(), namespace: "ns"}
	secret := &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "secretkey"}}
	e.SetPodEnv([]corev1.EnvVar{{Name: "KUBELINE_ARTIFACT_ROOT", Value: "minio://b"}, {Name: "OBJECTSTORECONFIG_SECRETACCESSKEY", ValueFrom: secret}})
	name, err := e.Submit(context.Background(), wf)
	if err != nil {
		t.Fatal(err)
	}
	got, err := wfs.ArgoprojV1alpha1().Workflows("ns").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	given := map[string][]string{}
	for _, tmpl := range got.Spec.Templates {
		if tmpl.Container != nil {
			for _, env := range tmpl.Container.Env {
				given[tmpl.Name] = append(given[tmpl.Name], env.Name)
			}
		}
	}
	root, all := []string{"KUBELINE_ARTIFACT_ROOT"}, []string{"KUBELINE_ARTIFACT_ROOT", "OBJECTSTORECONFIG_SECRETACCESSKEY"}
	want := map[string][]string{"plain": root, "user-args": root, "trial": all, "suggest": all, "resolve": all, "importer": all, "descriptor": all}
	if d := cmp.Diff(want, given); d != "" {
		t.Errorf("the env each template got (-want +got):\n%s", d)
	}
	if len(wf.Spec.Templates[1].Container.Env) != 0 {
		t.Error("Submit changed the caller's workflow")
	}
}
