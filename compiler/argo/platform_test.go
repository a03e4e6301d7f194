package argo_test

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/argoproj/argo-workflows/v3/workflow/validate"
	"github.com/google/go-cmp/cmp"

	"github.com/kubeline/kubeline/compiler"
	"github.com/kubeline/kubeline/compiler/kfp"
	"github.com/kubeline/kubeline/compiler/spec"
)

// upstreamFields are the fields of kfp_kubernetes.KubernetesExecutorConfig,
// as paths from the message, read from kubeflow/pipelines master's
// kubernetes_platform/proto/kubernetes_executor_config.proto at commit
// 0537b862473877cdb5fcd396964f753f9a1824e3 (fields 1-20; security_context,
// init_containers and pod_resource_claims added in 2026; SecurityContext
// fields 3-5 reserved). CreatePvc and DeletePvc are the inputs of the
// createpvc / deletepvc stub executors.
var upstreamFields = []string{
	"secret_as_volume.secret_name", "secret_as_volume.mount_path", "secret_as_volume.optional", "secret_as_volume.secret_name_parameter",
	"secret_as_env.secret_name", "secret_as_env.key_to_env.secret_key", "secret_as_env.key_to_env.env_var", "secret_as_env.optional",
	"secret_as_env.secret_name_parameter",
	"pvc_mount.task_output_parameter", "pvc_mount.constant", "pvc_mount.component_input_parameter", "pvc_mount.mount_path",
	"pvc_mount.pvc_name_parameter", "pvc_mount.sub_path",
	"node_selector.labels", "node_selector.node_selector_json",
	"pod_metadata.labels", "pod_metadata.annotations",
	"image_pull_secret.secret_name", "image_pull_secret.secret_name_parameter",
	"image_pull_policy",
	"config_map_as_volume.config_map_name", "config_map_as_volume.mount_path", "config_map_as_volume.optional",
	"config_map_as_volume.config_map_name_parameter",
	"config_map_as_env.config_map_name", "config_map_as_env.key_to_env.config_map_key", "config_map_as_env.key_to_env.env_var",
	"config_map_as_env.config_map_name_parameter", "config_map_as_env.optional",
	"active_deadline_seconds",
	"field_path_as_env.name", "field_path_as_env.field_path",
	"tolerations.key", "tolerations.operator", "tolerations.value", "tolerations.effect", "tolerations.toleration_seconds",
	"tolerations.toleration_json",
	"generic_ephemeral_volume.volume_name", "generic_ephemeral_volume.mount_path", "generic_ephemeral_volume.access_modes",
	"generic_ephemeral_volume.size", "generic_ephemeral_volume.default_storage_class", "generic_ephemeral_volume.storage_class_name",
	"generic_ephemeral_volume.metadata.labels", "generic_ephemeral_volume.metadata.annotations",
	"node_affinity.match_expressions.key", "node_affinity.match_expressions.operator", "node_affinity.match_expressions.values",
	"node_affinity.match_fields.key", "node_affinity.match_fields.operator", "node_affinity.match_fields.values",
	"node_affinity.weight", "node_affinity.node_affinity_json",
	"pod_affinity.match_pod_expressions.key", "pod_affinity.match_pod_expressions.operator", "pod_affinity.match_pod_expressions.values",
	"pod_affinity.match_pod_labels", "pod_affinity.topology_key", "pod_affinity.namespaces",
	"pod_affinity.match_namespace_expressions.key", "pod_affinity.match_namespace_expressions.operator",
	"pod_affinity.match_namespace_expressions.values", "pod_affinity.match_namespace_labels", "pod_affinity.weight", "pod_affinity.anti",
	"enabled_shared_memory.volume_name", "enabled_shared_memory.size",
	"empty_dir_mounts.volume_name", "empty_dir_mounts.mount_path", "empty_dir_mounts.medium", "empty_dir_mounts.size_limit",
	"security_context.run_as_user", "security_context.run_as_group", "security_context.run_as_non_root",
	"init_containers.name", "init_containers.image", "init_containers.command", "init_containers.args",
	"init_containers.env.name", "init_containers.env.value", "init_containers.volume_mounts.volume_name",
	"init_containers.volume_mounts.mount_path", "init_containers.restart_policy",
	"init_containers.resources.requests", "init_containers.resources.limits",
	"pod_resource_claims.resource_claim_template_name", "pod_resource_claims.resource_claim_json",
	"CreatePvc.pvc_name", "CreatePvc.pvc_name_suffix", "CreatePvc.access_modes", "CreatePvc.size", "CreatePvc.default_storage_class",
	"CreatePvc.storage_class_name", "CreatePvc.volume_name", "CreatePvc.annotations", "CreatePvc.data_source",
	"DeletePvc.task_output_parameter", "DeletePvc.constant", "DeletePvc.component_input_parameter",
}

// platformCases are the compile cases of the platform fields: an executor
// config for exec-comp (or, for pvc cases, a whole pipeline). Each has a
// golden under testdata/platform and passes Argo's validator.
var platformCases = map[string]string{
	"secret_volume": `secretAsVolume:
- {secretName: creds, mountPath: /creds, optional: true}
- secretNameParameter: {componentInputParameter: name}
  mountPath: /named
- secret_name_parameter: {taskOutputParameter: {producerTask: producer, outputParameterKey: out}}
  mount_path: /produced`,
	"secret_env": `secretAsEnv:
- secretName: creds
  keyToEnv: [{secretKey: user, envVar: USER_NAME}]
  optional: false
- secretNameParameter: {runtimeValue: {constant: other}}
  keyToEnv: [{secret_key: pw, env_var: PASSWORD}]`,
	"pvc_mount": `pvcMount:
- {constant: data, mountPath: /data, subPath: sub}
- {componentInputParameter: name, mountPath: /named}
- {taskOutputParameter: {producerTask: producer, outputParameterKey: out}, mountPath: /produced}
- {pvcNameParameter: {runtimeValue: {constant: models}}, mountPath: /models}`,
	"node_selector": `nodeSelector: {labels: {disktype: ssd}}`,
	"node_selector_json": `nodeSelector:
  labels: {ignored: "true"}
  nodeSelectorJson: {componentInputParameter: name}`,
	"pod_metadata":      `podMetadata: {labels: {team: ml}, annotations: {note: hello}}`,
	"image_pull_secret": `imagePullSecret: [{secretName: registry}, {secretNameParameter: {componentInputParameter: name}}]`,
	"image_pull_policy": `imagePullPolicy: IfNotPresent`,
	"config_map_volume": `configMapAsVolume:
- {configMapName: settings, mountPath: /settings}
- {configMapNameParameter: {taskOutputParameter: {producerTask: producer, outputParameterKey: out}}, mountPath: /p, optional: true}`,
	"config_map_env": `configMapAsEnv:
- configMapName: settings
  keyToEnv: [{configMapKey: level, envVar: LEVEL}]
- configMapNameParameter: {componentInputParameter: name}
  keyToEnv: [{configMapKey: k, envVar: K}]
  optional: true`,
	"active_deadline": `activeDeadlineSeconds: '20'`,
	"field_path_env":  `fieldPathAsEnv: [{name: POD_NAME, fieldPath: metadata.name}]`,
	"tolerations": `tolerations:
- {key: gpu, operator: Equal, value: a100, effect: NoExecute, tolerationSeconds: '10'}
- {tolerationJson: {runtimeValue: {constant: [{key: a, operator: Exists}, {key: b, operator: Exists}]}}}`,
	"toleration_json": `tolerations: [{tolerationJson: {componentInputParameter: name}}]`,
	"generic_ephemeral_volume": `genericEphemeralVolume:
- volumeName: scratch
  mountPath: /scratch
  accessModes: [ReadWriteOnce]
  size: 5Gi
  storageClassName: fast
  metadata: {labels: {kind: scratch}, annotations: {a: b}}
- {volumeName: cache, mountPath: /cache, accessModes: [ReadWriteMany], size: 1Gi, defaultStorageClass: true}`,
	"node_affinity": `nodeAffinity:
- matchExpressions: [{key: zone, operator: In, values: [a, b]}]
  matchFields: [{key: metadata.name, operator: NotIn, values: [node-1]}]
- matchExpressions: [{key: gpu, operator: Exists}]
  weight: 50
- nodeAffinityJson:
    runtimeValue:
      constant: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: arch, operator: In, values: [amd64]}]}]}}`,
	"node_affinity_json": `nodeAffinity: [{nodeAffinityJson: {componentInputParameter: name}}]`,
	"pod_affinity": `podAffinity:
- matchPodLabels: {app: cache}
  matchPodExpressions: [{key: tier, operator: In, values: [db]}]
  topologyKey: kubernetes.io/hostname
  namespaces: [ml]
  matchNamespaceLabels: {team: ml}
  matchNamespaceExpressions: [{key: env, operator: NotIn, values: [dev]}]
- {matchPodLabels: {app: train}, topologyKey: zone, weight: 20, anti: true}
- {matchPodLabels: {app: noisy}, topologyKey: kubernetes.io/hostname, anti: true}`,
	"shared_memory":    `enabledSharedMemory: {volumeName: shm-vol, size: 1Gi}`,
	"empty_dir":        `emptyDirMounts: [{volumeName: work, mountPath: /work, medium: Memory, sizeLimit: 64Mi}, {volumeName: tmp, mountPath: /tmp}]`,
	"security_context": `securityContext: {runAsUser: '1000', runAsGroup: 100, runAsNonRoot: true}`,
	"init_containers": `emptyDirMounts: [{volumeName: shared-data, mountPath: /data}]
initContainers:
- name: prepare
  image: busybox:1.36
  command: [sh, -c]
  args: [echo ready > /data/marker]
  env: [{name: MARKER, value: ready}]
  volumeMounts: [{volumeName: shared-data, mountPath: /data}]
  resources: {requests: {cpu: 100m}, limits: {memory: 64Mi}}
- {name: proxy, image: envoy:v1, restartPolicy: Always}`,
	"resource_claims": `podResourceClaims:
- {resourceClaimTemplateName: gpu-template}
- {resourceClaimJson: {runtimeValue: {constant: {resourceClaimTemplateName: other-template}}}}
- {resourceClaimJson: {componentInputParameter: name}}`,
}

// pvcCases compile the createpvc / deletepvc stub executors; each is a whole
// pipeline under testdata/platform.
var pvcCases = []string{"create_pvc", "create_pvc_named"}

const basePipeline = `pipelineInfo: {name: platform}
root:
  inputDefinitions:
    parameters:
      name: {parameterType: STRING, defaultValue: from-param}
  dag:
    tasks:
      producer:
        componentRef: {name: comp-producer}
        taskInfo: {name: producer}
      comp:
        componentRef: {name: comp-comp}
        dependentTasks: [producer]
        taskInfo: {name: comp}
components:
  comp-producer:
    executorLabel: exec-producer
    outputDefinitions:
      parameters:
        out: {parameterType: STRING}
  comp-comp: {executorLabel: exec-comp}
deploymentSpec:
  executors:
    exec-producer:
      container: {image: alpine, command: [sh, -c, 'echo data > $0', '{{$.outputs.parameters[''out''].output_file}}']}
    exec-comp:
      container: {image: alpine, command: [echo, hi]}
schemaVersion: 2.1.0
---
platforms:
  kubernetes:
    deploymentSpec:
      executors:
        exec-comp:
`

// casePipeline is the pipeline of a platform case.
func casePipeline(t *testing.T, name string) []byte {
	t.Helper()
	if cfg, ok := platformCases[name]; ok {
		return []byte(basePipeline + indent(cfg, "          "))
	}
	b, err := os.ReadFile(filepath.Join("testdata", "platform", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func indent(s, by string) string {
	return by + strings.ReplaceAll(s, "\n", "\n"+by) + "\n"
}

func allPlatformCases() []string {
	names := append([]string{}, pvcCases...)
	for name := range platformCases {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// TestPlatformGolden compiles every platform case, checks the workflow with
// Argo's validator and compares it with its golden.
func TestPlatformGolden(t *testing.T) {
	for _, name := range allPlatformCases() {
		t.Run(name, func(t *testing.T) {
			wf, err := compiler.Compile(name+".yaml", casePipeline(t, name), compiler.Options{})
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			if err := validate.ValidateWorkflow(nil, nil, wf, nil, validate.ValidateOpts{Lint: true}); err != nil {
				t.Fatalf("argo lint: %v", err)
			}
			got, err := compiler.Marshal(wf)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "platform", name+".golden.yaml")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./compiler/argo -update)", err)
			}
			if diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(got), "\n")); diff != "" {
				t.Errorf("%s differs (-want +got):\n%s", golden, diff)
			}
		})
	}
}

// TestPlatformFields fails for a field of the upstream proto that kubeline's
// schema lacks or has beyond it, and for a field no compile case sets.
func TestPlatformFields(t *testing.T) {
	var schema []string
	schemaPaths(reflect.TypeOf(kfp.KubernetesConfig{}), "", &schema)
	var upstream []string
	for _, f := range upstreamFields {
		if !strings.HasPrefix(f, "CreatePvc.") && !strings.HasPrefix(f, "DeletePvc.") {
			upstream = append(upstream, f)
		}
	}
	slices.Sort(schema)
	slices.Sort(upstream)
	if diff := cmp.Diff(upstream, schema); diff != "" {
		t.Errorf("kfp.KubernetesConfig against upstream's fields (-upstream +kubeline):\n%s", diff)
	}
	covered := map[string][]string{}
	for _, name := range allPlatformCases() {
		for _, f := range setFields(t, casePipeline(t, name)) {
			covered[f] = append(covered[f], name)
		}
	}
	for _, f := range upstreamFields {
		if len(covered[f]) == 0 {
			t.Errorf("field %s has no compile case (add one to platformCases or pvcCases)", f)
		}
	}
}

// leafTypes are message types the tests treat as one field.
var leafTypes = map[string]bool{"InputParam": true, "TaskOutputParam": true}

// schemaPaths lists the field paths of a kfp platform type.
func schemaPaths(t reflect.Type, prefix string, out *[]string) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		p := prefix + snakeName(name)
		ft := f.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && !leafTypes[ft.Name()] {
			schemaPaths(ft, p+".", out)
			continue
		}
		*out = append(*out, p)
	}
}

func snakeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// setFields lists the platform fields a case pipeline sets: in the exec-comp
// config, and as inputs of createpvc / deletepvc tasks.
func setFields(t *testing.T, data []byte) []string {
	t.Helper()
	docs, err := spec.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	p, err := kfp.Load(docs)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, cfg := range p.Kubernetes {
		valuePaths(reflect.ValueOf(cfg).Elem(), "", &out)
	}
	for _, task := range p.Spec.GetRoot().GetDag().GetTasks() {
		label := p.Spec.GetComponents()[task.GetComponentRef().GetName()].GetExecutorLabel()
		image := p.Deployment.GetExecutors()[label].GetContainer().GetImage()
		params := task.GetInputs().GetParameters()
		switch image {
		case "argostub/createpvc":
			for name := range params {
				out = append(out, "CreatePvc."+name)
			}
		case "argostub/deletepvc":
			in := params["pvc_name"]
			switch {
			case in.GetTaskOutputParameter() != nil:
				out = append(out, "DeletePvc.task_output_parameter")
			case in.GetRuntimeValue() != nil:
				out = append(out, "DeletePvc.constant")
			case in.GetComponentInputParameter() != "":
				out = append(out, "DeletePvc.component_input_parameter")
			}
		}
	}
	return out
}

func valuePaths(v reflect.Value, prefix string, out *[]string) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			valuePaths(v.Elem(), prefix, out)
		}
		return
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			valuePaths(v.Index(i), prefix, out)
		}
		return
	case reflect.Struct:
		if leafTypes[v.Type().Name()] {
			break
		}
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			fv := v.Field(i)
			if fv.IsZero() {
				continue
			}
			p := prefix + snakeName(name)
			et := f.Type
			for et.Kind() == reflect.Pointer || et.Kind() == reflect.Slice {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct && !leafTypes[et.Name()] {
				valuePaths(fv, p+".", out)
				continue
			}
			*out = append(*out, p)
		}
		return
	}
	*out = append(*out, strings.TrimSuffix(prefix, "."))
}
