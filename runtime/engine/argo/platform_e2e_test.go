//go:build e2e

package argo

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeline/kubeline/compiler"
)

// platformPipeline has one task whose executor carries every kubernetes
// platform field that changes the pod (constant forms), and one whose fields
// arrive as JSON at run time from pipeline parameters.
const platformPipeline = `pipelineInfo: {name: platform-e2e}
root:
  inputDefinitions:
    parameters:
      selector: {parameterType: STRING, defaultValue: '{"disktype": "ssd"}'}
      tolerations: {parameterType: STRING, defaultValue: '[{"key": "a", "operator": "Exists"}, {"key": "b", "operator": "Exists"}]'}
      affinity: {parameterType: STRING, defaultValue: '{"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "arch", "operator": "In", "values": ["amd64"]}]}]}}'}
      claim: {parameterType: STRING, defaultValue: '{"resourceClaimTemplateName": "runtime-template"}'}
      secret: {parameterType: STRING, defaultValue: runtime-secret}
  dag:
    tasks:
      constant:
        componentRef: {name: comp-constant}
        taskInfo: {name: constant}
      runtime:
        componentRef: {name: comp-runtime}
        taskInfo: {name: runtime}
components:
  comp-constant: {executorLabel: exec-constant}
  comp-runtime: {executorLabel: exec-runtime}
deploymentSpec:
  executors:
    exec-constant:
      container: {image: alpine:3.20, command: ['true']}
    exec-runtime:
      container: {image: alpine:3.20, command: ['true']}
schemaVersion: 2.1.0
---
platforms:
  kubernetes:
    deploymentSpec:
      executors:
        exec-constant:
          secretAsVolume: [{secretName: creds, mountPath: /creds, optional: true}]
          secretAsEnv: [{secretName: creds, keyToEnv: [{secretKey: user, envVar: USER_NAME}]}]
          configMapAsVolume: [{configMapName: settings, mountPath: /settings}]
          configMapAsEnv: [{configMapName: settings, keyToEnv: [{configMapKey: level, envVar: LEVEL}]}]
          pvcMount: [{constant: data, mountPath: /data, subPath: sub}]
          genericEphemeralVolume: [{volumeName: scratch, mountPath: /scratch, accessModes: [ReadWriteOnce], size: 1Gi, defaultStorageClass: true}]
          emptyDirMounts: [{volumeName: work, mountPath: /work, medium: Memory, sizeLimit: 64Mi}]
          enabledSharedMemory: {size: 128Mi}
          fieldPathAsEnv: [{name: POD_NAME, fieldPath: metadata.name}]
          podMetadata: {labels: {team: ml}, annotations: {note: hello}}
          nodeSelector: {labels: {disktype: ssd}}
          tolerations: [{key: gpu, operator: Equal, value: a100, effect: NoExecute, tolerationSeconds: '10'}]
          nodeAffinity: [{matchExpressions: [{key: zone, operator: In, values: [a]}], weight: 50}]
          podAffinity: [{matchPodLabels: {app: train}, topologyKey: kubernetes.io/hostname, anti: true}]
          imagePullSecret: [{secretName: registry}]
          imagePullPolicy: IfNotPresent
          activeDeadlineSeconds: '600'
          securityContext: {runAsUser: '1000', runAsGroup: 100, runAsNonRoot: true}
          initContainers:
          - {name: prepare, image: busybox:1.36, command: ['true'], volumeMounts: [{volumeName: work, mountPath: /work}]}
          - {name: proxy, image: busybox:1.36, command: [sleep, '3600'], restartPolicy: Always}
          podResourceClaims: [{resourceClaimTemplateName: gpu-template}]
        exec-runtime:
          nodeSelector: {nodeSelectorJson: {componentInputParameter: selector}}
          tolerations: [{tolerationJson: {componentInputParameter: tolerations}}]
          nodeAffinity: [{nodeAffinityJson: {componentInputParameter: affinity}}]
          podResourceClaims: [{resourceClaimJson: {componentInputParameter: claim}}]
          imagePullSecret: [{secretNameParameter: {componentInputParameter: secret}}]
`

// TestPlatformFieldsInPods submits the compiled pipeline to the real Argo
// controller and checks that every platform field shows in the pods it
// creates (the pods need not run: several constraints cannot be met here).
func TestPlatformFieldsInPods(t *testing.T) {
	e := engine(t)
	cfg, ns, err := Config(os.Getenv("KUBELINE_E2E_KUBECONFIG"), "", "default")
	if err != nil {
		t.Fatal(err)
	}
	kube := kubernetes.NewForConfigOrDie(cfg)
	wf, err := compiler.Compile("platform.yaml", []byte(platformPipeline), compiler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	wf.Name, wf.GenerateName = fmt.Sprintf("platform-%d", time.Now().UnixNano()%1000000), ""
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name, err := e.Submit(ctx, wf)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.Stop(context.Background(), name) }()
	pods := map[string]*corev1.Pod{}
	for len(pods) < 2 {
		list, err := kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "workflows.argoproj.io/workflow=" + name})
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range list.Items {
			for _, task := range []string{"constant", "runtime"} {
				if strings.HasSuffix(p.Annotations["workflows.argoproj.io/node-name"], "."+task) {
					pods[task] = &list.Items[i]
				}
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("pods of %s: %d of 2 created", name, len(pods))
		}
		time.Sleep(200 * time.Millisecond)
	}
	c := pods["constant"]
	main := container(c.Spec.Containers, "main")
	checks := []struct {
		field string
		ok    bool
	}{
		{"secretAsVolume", volume(c, "creds").Secret != nil && *volume(c, "creds").Secret.Optional},
		{"secretAsEnv", env(main, "USER_NAME").ValueFrom.SecretKeyRef.Name == "creds"},
		{"configMapAsVolume", volume(c, "settings").ConfigMap != nil},
		{"configMapAsEnv", env(main, "LEVEL").ValueFrom.ConfigMapKeyRef.Name == "settings"},
		{"pvcMount", volume(c, "data").PersistentVolumeClaim != nil && mount(main, "data").SubPath == "sub"},
		{"genericEphemeralVolume", volume(c, "scratch").Ephemeral != nil && mount(main, "scratch").MountPath == "/scratch"},
		{"emptyDirMounts", volume(c, "work").EmptyDir != nil && volume(c, "work").EmptyDir.SizeLimit.String() == "64Mi"},
		{"enabledSharedMemory", mount(main, "shm").MountPath == "/dev/shm"},
		{"fieldPathAsEnv", env(main, "POD_NAME").ValueFrom.FieldRef.FieldPath == "metadata.name"},
		{"podMetadata", c.Labels["team"] == "ml" && c.Annotations["note"] == "hello"},
		{"nodeSelector", c.Spec.NodeSelector["disktype"] == "ssd"},
		{"tolerations", hasToleration(c, "gpu")},
		{"nodeAffinity", c.Spec.Affinity != nil && c.Spec.Affinity.NodeAffinity != nil && len(c.Spec.Affinity.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 1},
		{"podAffinity", c.Spec.Affinity != nil && c.Spec.Affinity.PodAntiAffinity != nil},
		{"imagePullSecret", hasPullSecret(c, "registry")},
		{"imagePullPolicy", main.ImagePullPolicy == corev1.PullIfNotPresent},
		{"activeDeadlineSeconds", c.Spec.ActiveDeadlineSeconds != nil && *c.Spec.ActiveDeadlineSeconds > 0},
		{"securityContext", main.SecurityContext != nil && main.SecurityContext.RunAsUser != nil && *main.SecurityContext.RunAsUser == 1000},
		{"initContainers", container(c.Spec.InitContainers, "prepare").Image == "busybox:1.36" && mount(container(c.Spec.InitContainers, "prepare"), "work").MountPath == "/work"},
		{"initContainers sidecar", container(c.Spec.InitContainers, "proxy").RestartPolicy != nil},
		{"podResourceClaims", len(c.Spec.ResourceClaims) == 1 && *c.Spec.ResourceClaims[0].ResourceClaimTemplateName == "gpu-template" && len(main.Resources.Claims) == 1},
	}
	r := pods["runtime"]
	checks = append(checks, []struct {
		field string
		ok    bool
	}{
		{"nodeSelectorJson", r.Spec.NodeSelector["disktype"] == "ssd"},
		{"tolerationJson (a list)", hasToleration(r, "a") && hasToleration(r, "b")},
		{"nodeAffinityJson", r.Spec.Affinity != nil && r.Spec.Affinity.NodeAffinity != nil && r.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil},
		{"resourceClaimJson", len(r.Spec.ResourceClaims) == 1 && *r.Spec.ResourceClaims[0].ResourceClaimTemplateName == "runtime-template"},
		{"imagePullSecret secretNameParameter", hasPullSecret(r, "runtime-secret")},
	}...)
	for _, ch := range checks {
		if !ch.ok {
			t.Errorf("%s: not in the created pod", ch.field)
		}
	}
	if t.Failed() {
		t.Logf("constant pod spec: %+v\nruntime pod spec: %+v", c.Spec, r.Spec)
	}
}

func container(cs []corev1.Container, name string) *corev1.Container {
	for i := range cs {
		if cs[i].Name == name {
			return &cs[i]
		}
	}
	return &corev1.Container{}
}

func volume(p *corev1.Pod, name string) *corev1.Volume {
	for i := range p.Spec.Volumes {
		if p.Spec.Volumes[i].Name == name {
			return &p.Spec.Volumes[i]
		}
	}
	return &corev1.Volume{}
}

func mount(c *corev1.Container, name string) corev1.VolumeMount {
	for _, m := range c.VolumeMounts {
		if m.Name == name {
			return m
		}
	}
	return corev1.VolumeMount{}
}

func env(c *corev1.Container, name string) corev1.EnvVar {
	for _, e := range c.Env {
		if e.Name == name && e.ValueFrom != nil {
			return e
		}
	}
	return corev1.EnvVar{ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{}, ConfigMapKeyRef: &corev1.ConfigMapKeySelector{},
		FieldRef: &corev1.ObjectFieldSelector{}}}
}

func hasToleration(p *corev1.Pod, key string) bool {
	for _, t := range p.Spec.Tolerations {
		if t.Key == key {
			return true
		}
	}
	return false
}

func hasPullSecret(p *corev1.Pod, name string) bool {
	for _, s := range p.Spec.ImagePullSecrets {
		if s.Name == name {
			return true
		}
	}
	return false
}
