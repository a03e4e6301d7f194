package kfp

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// KubernetesConfig is the kubernetes platform config of one executor: KFP's
// kfp_kubernetes.KubernetesExecutorConfig, every field of
// kubernetes_platform/proto/kubernetes_executor_config.proto as of upstream
// commit 0537b862 (fields 1-20). It is decoded strictly (structdecode.go):
// an unknown field is an error naming its path. Go names follow the proto's;
// protoNames lists where they differ.
type KubernetesConfig struct {
	SecretAsVolume         []SecretAsVolume         `json:"secretAsVolume,omitempty"`
	SecretAsEnv            []SecretAsEnv            `json:"secretAsEnv,omitempty"`
	PvcMount               []PvcMount               `json:"pvcMount,omitempty"`
	NodeSelector           *NodeSelector            `json:"nodeSelector,omitempty"`
	PodMetadata            *PodMetadata             `json:"podMetadata,omitempty"`
	ImagePullSecret        []ImagePullSecret        `json:"imagePullSecret,omitempty"`
	ImagePullPolicy        string                   `json:"imagePullPolicy,omitempty"`
	ConfigMapAsVolume      []ConfigMapAsVolume      `json:"configMapAsVolume,omitempty"`
	ConfigMapAsEnv         []ConfigMapAsEnv         `json:"configMapAsEnv,omitempty"`
	ActiveDeadlineSeconds  int64                    `json:"activeDeadlineSeconds,omitempty"`
	FieldPathAsEnv         []FieldPathAsEnv         `json:"fieldPathAsEnv,omitempty"`
	Tolerations            []Toleration             `json:"tolerations,omitempty"`
	GenericEphemeralVolume []GenericEphemeralVolume `json:"genericEphemeralVolume,omitempty"`
	NodeAffinity           []NodeAffinityTerm       `json:"nodeAffinity,omitempty"`
	PodAffinity            []PodAffinityTerm        `json:"podAffinity,omitempty"`
	EnabledSharedMemory    *SharedMemory            `json:"enabledSharedMemory,omitempty"`
	EmptyDirMounts         []EmptyDirMount          `json:"emptyDirMounts,omitempty"`
	SecurityContext        *SecurityContext         `json:"securityContext,omitempty"`
	InitContainers         []InitContainer          `json:"initContainers,omitempty"`
	PodResourceClaims      []PodResourceClaim       `json:"podResourceClaims,omitempty"`
}

// InputParam is KFP's TaskInputsSpec.InputParameterSpec as platform configs
// use it: a value from the task's scope.
type InputParam struct {
	ComponentInputParameter string           `json:"componentInputParameter,omitempty" oneof:"kind"`
	TaskOutputParameter     *TaskOutputParam `json:"taskOutputParameter,omitempty" oneof:"kind"`
	RuntimeValue            *RuntimeValue    `json:"runtimeValue,omitempty" oneof:"kind"`
	// TaskFinalStatus has no meaning for a platform value; it is decoded so
	// that the compiler can refuse it at its path.
	TaskFinalStatus *struct {
		ProducerTask string `json:"producerTask,omitempty"`
	} `json:"taskFinalStatus,omitempty" oneof:"kind"`
	ParameterExpressionSelector string `json:"parameterExpressionSelector,omitempty"`
}

// TaskOutputParam names a sibling task's output parameter.
type TaskOutputParam struct {
	ProducerTask       string `json:"producerTask,omitempty"`
	OutputParameterKey string `json:"outputParameterKey,omitempty"`
}

// RuntimeValue is a constant.
type RuntimeValue struct {
	Constant any `json:"constant,omitempty"`
}

// SecretAsVolume mounts a secret.
type SecretAsVolume struct {
	SecretName          string      `json:"secretName,omitempty"`
	MountPath           string      `json:"mountPath,omitempty"`
	Optional            *bool       `json:"optional,omitempty"`
	SecretNameParameter *InputParam `json:"secretNameParameter,omitempty"`
}

// SecretAsEnv maps secret keys to env vars.
type SecretAsEnv struct {
	SecretName          string           `json:"secretName,omitempty"`
	KeyToEnv            []SecretKeyToEnv `json:"keyToEnv,omitempty"`
	Optional            *bool            `json:"optional,omitempty"`
	SecretNameParameter *InputParam      `json:"secretNameParameter,omitempty"`
}

// SecretKeyToEnv is SecretAsEnv.SecretKeyToEnvMap.
type SecretKeyToEnv struct {
	SecretKey string `json:"secretKey,omitempty"`
	EnvVar    string `json:"envVar,omitempty"`
}

// PvcMount mounts a PVC by (possibly runtime) name. The first three fields
// are the deprecated oneof pvc_reference, read when PvcNameParameter is unset.
type PvcMount struct {
	TaskOutputParameter     *TaskOutputParam `json:"taskOutputParameter,omitempty" oneof:"pvc_reference"`
	Constant                string           `json:"constant,omitempty" oneof:"pvc_reference"`
	ComponentInputParameter string           `json:"componentInputParameter,omitempty" oneof:"pvc_reference"`
	MountPath               string           `json:"mountPath,omitempty"`
	PvcNameParameter        *InputParam      `json:"pvcNameParameter,omitempty"`
	SubPath                 string           `json:"subPath,omitempty"`
}

// NodeSelector is a constant label map or a runtime JSON object (which takes
// precedence).
type NodeSelector struct {
	Labels           map[string]string `json:"labels,omitempty"`
	NodeSelectorJSON *InputParam       `json:"nodeSelectorJson,omitempty"`
}

// PodMetadata adds labels and annotations to the step's pod.
type PodMetadata struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ConfigMapAsVolume mounts a config map.
type ConfigMapAsVolume struct {
	ConfigMapName          string      `json:"configMapName,omitempty"`
	MountPath              string      `json:"mountPath,omitempty"`
	Optional               *bool       `json:"optional,omitempty"`
	ConfigMapNameParameter *InputParam `json:"configMapNameParameter,omitempty"`
}

// ConfigMapAsEnv maps config map keys to env vars.
type ConfigMapAsEnv struct {
	ConfigMapName          string              `json:"configMapName,omitempty"`
	KeyToEnv               []ConfigMapKeyToEnv `json:"keyToEnv,omitempty"`
	ConfigMapNameParameter *InputParam         `json:"configMapNameParameter,omitempty"`
	Optional               *bool               `json:"optional,omitempty"`
}

// ConfigMapKeyToEnv is ConfigMapAsEnv.ConfigMapKeyToEnvMap.
type ConfigMapKeyToEnv struct {
	ConfigMapKey string `json:"configMapKey,omitempty"`
	EnvVar       string `json:"envVar,omitempty"`
}

// GenericEphemeralVolume is a volume claimed from a template for the pod's
// lifetime.
type GenericEphemeralVolume struct {
	VolumeName          string       `json:"volumeName,omitempty"`
	MountPath           string       `json:"mountPath,omitempty"`
	AccessModes         []string     `json:"accessModes,omitempty"`
	Size                string       `json:"size,omitempty"`
	DefaultStorageClass bool         `json:"defaultStorageClass,omitempty"`
	StorageClassName    string       `json:"storageClassName,omitempty"`
	Metadata            *PodMetadata `json:"metadata,omitempty"`
}

// ImagePullSecret names a pull secret.
type ImagePullSecret struct {
	SecretName          string      `json:"secretName,omitempty"`
	SecretNameParameter *InputParam `json:"secretNameParameter,omitempty"`
}

// FieldPathAsEnv exposes a pod field as an env var (downward API).
type FieldPathAsEnv struct {
	Name      string `json:"name,omitempty"`
	FieldPath string `json:"fieldPath,omitempty"`
}

// Toleration is a constant toleration or a runtime JSON one (which takes
// precedence).
type Toleration struct {
	Key               string      `json:"key,omitempty"`
	Operator          string      `json:"operator,omitempty"`
	Value             string      `json:"value,omitempty"`
	Effect            string      `json:"effect,omitempty"`
	TolerationSeconds *int64      `json:"tolerationSeconds,omitempty"`
	TolerationJSON    *InputParam `json:"tolerationJson,omitempty"`
}

// SelectorRequirement is a node or label selector requirement.
type SelectorRequirement struct {
	Key      string   `json:"key,omitempty"`
	Operator string   `json:"operator,omitempty"`
	Values   []string `json:"values,omitempty"`
}

// NodeAffinityTerm is a constant term or a runtime JSON NodeAffinity.
type NodeAffinityTerm struct {
	MatchExpressions []SelectorRequirement `json:"matchExpressions,omitempty"`
	MatchFields      []SelectorRequirement `json:"matchFields,omitempty"`
	Weight           *int32                `json:"weight,omitempty"`
	NodeAffinityJSON *InputParam           `json:"nodeAffinityJson,omitempty"`
}

// PodAffinityTerm is one pod (anti-)affinity term; a weight makes it
// preferred instead of required.
type PodAffinityTerm struct {
	MatchPodExpressions       []SelectorRequirement `json:"matchPodExpressions,omitempty"`
	MatchPodLabels            map[string]string     `json:"matchPodLabels,omitempty"`
	TopologyKey               string                `json:"topologyKey,omitempty"`
	Namespaces                []string              `json:"namespaces,omitempty"`
	MatchNamespaceExpressions []SelectorRequirement `json:"matchNamespaceExpressions,omitempty"`
	MatchNamespaceLabels      map[string]string     `json:"matchNamespaceLabels,omitempty"`
	Weight                    *int32                `json:"weight,omitempty"`
	Anti                      *bool                 `json:"anti,omitempty"`
}

// SharedMemory mounts a memory-backed /dev/shm.
type SharedMemory struct {
	VolumeName string `json:"volumeName,omitempty"`
	Size       string `json:"size,omitempty"`
}

// EmptyDirMount mounts an emptyDir.
type EmptyDirMount struct {
	VolumeName string  `json:"volumeName,omitempty"`
	MountPath  string  `json:"mountPath,omitempty"`
	Medium     *string `json:"medium,omitempty"`
	SizeLimit  *string `json:"sizeLimit,omitempty"`
}

// SecurityContext is the main container's identity (PSS baseline: the
// privileged and capability fields were removed upstream, field numbers 3-5).
type SecurityContext struct {
	RunAsUser    *int64 `json:"runAsUser,omitempty"`
	RunAsGroup   *int64 `json:"runAsGroup,omitempty"`
	RunAsNonRoot *bool  `json:"runAsNonRoot,omitempty"`
}

// InitContainer runs before the main container, or beside it as a native
// sidecar with RestartPolicy Always.
type InitContainer struct {
	Name          string                     `json:"name,omitempty"`
	Image         string                     `json:"image,omitempty"`
	Command       []string                   `json:"command,omitempty"`
	Args          []string                   `json:"args,omitempty"`
	Env           []InitContainerEnv         `json:"env,omitempty"`
	VolumeMounts  []InitContainerVolumeMount `json:"volumeMounts,omitempty"`
	RestartPolicy *string                    `json:"restartPolicy,omitempty"`
	Resources     *InitContainerResources    `json:"resources,omitempty"`
}

// InitContainerEnv is InitContainer.EnvVar.
type InitContainerEnv struct {
	Name  string `json:"name,omitempty"`
	Value string `json:"value,omitempty"`
}

// InitContainerVolumeMount is InitContainer.VolumeMount: a volume the config
// defines elsewhere, mounted into the init container.
type InitContainerVolumeMount struct {
	VolumeName string `json:"volumeName,omitempty"`
	MountPath  string `json:"mountPath,omitempty"`
}

// InitContainerResources is InitContainer.ResourceRequirements.
type InitContainerResources struct {
	Requests map[string]string `json:"requests,omitempty"`
	Limits   map[string]string `json:"limits,omitempty"`
}

// PodResourceClaim is a Dynamic Resource Allocation claim of the pod, from a
// ResourceClaimTemplate named constantly or by a runtime JSON object
// {"resourceClaimTemplateName": ...} (which takes precedence).
type PodResourceClaim struct {
	ResourceClaimTemplateName string      `json:"resourceClaimTemplateName,omitempty"`
	ResourceClaimJSON         *InputParam `json:"resourceClaimJson,omitempty"`
}

// Workspace is the pipeline workspace of pipelineConfig.workspace, a field the
// served proto predates.
type Workspace struct {
	Size       string `json:"size"`
	Kubernetes *struct {
		PvcSpecPatch map[string]any `json:"pvcSpecPatch,omitempty"`
	} `json:"kubernetes,omitempty"`
}

// decodeStrict decodes v (plain values) into out, rejecting unknown fields.
func decodeStrict(v any, out any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("%s", jsonErrorText(err))
	}
	return nil
}

func jsonErrorText(err error) string {
	var ute *json.UnmarshalTypeError
	if e, ok := err.(*json.UnmarshalTypeError); ok {
		ute = e
		return fmt.Sprintf("field %s: expected %s, got %s", ute.Field, ute.Type, ute.Value)
	}
	return err.Error()
}
