package kfp

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// KubernetesConfig is the kubernetes platform config of one executor, the
// fields of KFP's kubernetes_executor_config.proto that the SDK writes. It is
// decoded strictly: an unknown field is an error naming its path.
type KubernetesConfig struct {
	SecretAsVolume         []SecretAsVolume    `json:"secretAsVolume,omitempty"`
	SecretAsEnv            []SecretAsEnv       `json:"secretAsEnv,omitempty"`
	PvcMount               []PvcMount          `json:"pvcMount,omitempty"`
	NodeSelector           *NodeSelector       `json:"nodeSelector,omitempty"`
	PodMetadata            *PodMetadata        `json:"podMetadata,omitempty"`
	ImagePullSecret        []ImagePullSecret   `json:"imagePullSecret,omitempty"`
	ImagePullPolicy        string              `json:"imagePullPolicy,omitempty"`
	ConfigMapAsVolume      []ConfigMapAsVolume `json:"configMapAsVolume,omitempty"`
	ConfigMapAsEnv         []ConfigMapAsEnv    `json:"configMapAsEnv,omitempty"`
	ActiveDeadlineSeconds  *int64              `json:"activeDeadlineSeconds,omitempty"`
	FieldPathAsEnv         []FieldPathAsEnv    `json:"fieldPathAsEnv,omitempty"`
	Tolerations            []Toleration        `json:"tolerations,omitempty"`
	NodeAffinity           []NodeAffinityTerm  `json:"nodeAffinity,omitempty"`
	EnabledSharedMemory    *SharedMemory       `json:"enabledSharedMemory,omitempty"`
	EmptyDirMounts         []EmptyDirMount     `json:"emptyDirMounts,omitempty"`
	GenericEphemeralVolume []json.RawMessage   `json:"genericEphemeralVolume,omitempty"`
	// PvcCreate / PvcDelete belong to the createpvc / deletepvc stub executors.
	PvcName             string            `json:"pvcName,omitempty"`
	PvcNameSuffix       string            `json:"pvcNameSuffix,omitempty"`
	AccessModes         []string          `json:"accessModes,omitempty"`
	Size                string            `json:"size,omitempty"`
	DefaultStorageClass bool              `json:"defaultStorageClass,omitempty"`
	StorageClassName    string            `json:"storageClassName,omitempty"`
	VolumeName          string            `json:"volumeName,omitempty"`
	Annotations         map[string]string `json:"annotations,omitempty"`
}

// InputParam is KFP's InputParameterSpec as platform configs use it: a value
// from the task's scope.
type InputParam struct {
	ComponentInputParameter string           `json:"componentInputParameter,omitempty"`
	TaskOutputParameter     *TaskOutputParam `json:"taskOutputParameter,omitempty"`
	RuntimeValue            *RuntimeValue    `json:"runtimeValue,omitempty"`
}

// TaskOutputParam names a sibling task's output parameter.
type TaskOutputParam struct {
	ProducerTask       string `json:"producerTask"`
	OutputParameterKey string `json:"outputParameterKey"`
}

// RuntimeValue is a constant.
type RuntimeValue struct {
	Constant any `json:"constant"`
}

// SecretAsVolume mounts a secret.
type SecretAsVolume struct {
	SecretName          string      `json:"secretName,omitempty"`
	SecretNameParameter *InputParam `json:"secretNameParameter,omitempty"`
	MountPath           string      `json:"mountPath"`
	Optional            *bool       `json:"optional,omitempty"`
}

// SecretAsEnv maps secret keys to env vars.
type SecretAsEnv struct {
	SecretName          string      `json:"secretName,omitempty"`
	SecretNameParameter *InputParam `json:"secretNameParameter,omitempty"`
	KeyToEnv            []struct {
		SecretKey string `json:"secretKey"`
		EnvVar    string `json:"envVar"`
	} `json:"keyToEnv,omitempty"`
	Optional *bool `json:"optional,omitempty"`
}

// PvcMount mounts a PVC by (possibly runtime) name.
type PvcMount struct {
	Constant                string           `json:"constant,omitempty"`
	ComponentInputParameter string           `json:"componentInputParameter,omitempty"`
	TaskOutputParameter     *TaskOutputParam `json:"taskOutputParameter,omitempty"`
	PvcNameParameter        *InputParam      `json:"pvcNameParameter,omitempty"`
	MountPath               string           `json:"mountPath"`
	SubPath                 string           `json:"subPath,omitempty"`
}

// NodeSelector is a constant label map or a runtime JSON object.
type NodeSelector struct {
	Labels           map[string]string `json:"labels,omitempty"`
	NodeSelectorJSON *InputParam       `json:"nodeSelectorJson,omitempty"`
}

// PodMetadata adds labels and annotations to the step's pod.
type PodMetadata struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ImagePullSecret names a pull secret.
type ImagePullSecret struct {
	SecretName          string      `json:"secretName,omitempty"`
	SecretNameParameter *InputParam `json:"secretNameParameter,omitempty"`
}

// ConfigMapAsVolume mounts a config map.
type ConfigMapAsVolume struct {
	ConfigMapName          string      `json:"configMapName,omitempty"`
	ConfigMapNameParameter *InputParam `json:"configMapNameParameter,omitempty"`
	MountPath              string      `json:"mountPath"`
	Optional               *bool       `json:"optional,omitempty"`
}

// ConfigMapAsEnv maps config map keys to env vars.
type ConfigMapAsEnv struct {
	ConfigMapName          string      `json:"configMapName,omitempty"`
	ConfigMapNameParameter *InputParam `json:"configMapNameParameter,omitempty"`
	KeyToEnv               []struct {
		ConfigMapKey string `json:"configMapKey"`
		EnvVar       string `json:"envVar"`
	} `json:"keyToEnv,omitempty"`
	Optional *bool `json:"optional,omitempty"`
}

// FieldPathAsEnv exposes a pod field as an env var (downward API).
type FieldPathAsEnv struct {
	Name      string `json:"name"`
	FieldPath string `json:"fieldPath"`
}

// Toleration is a constant toleration or a runtime JSON one.
type Toleration struct {
	Key               string      `json:"key,omitempty"`
	Operator          string      `json:"operator,omitempty"`
	Value             string      `json:"value,omitempty"`
	Effect            string      `json:"effect,omitempty"`
	TolerationSeconds *int64      `json:"tolerationSeconds,omitempty"`
	TolerationJSON    *InputParam `json:"tolerationJson,omitempty"`
}

// NodeAffinityTerm is a constant term or a runtime JSON affinity.
type NodeAffinityTerm struct {
	MatchExpressions []SelectorRequirement `json:"matchExpressions,omitempty"`
	MatchFields      []SelectorRequirement `json:"matchFields,omitempty"`
	Weight           *int32                `json:"weight,omitempty"`
	NodeAffinityJSON *InputParam           `json:"nodeAffinityJson,omitempty"`
}

// SelectorRequirement is a node selector requirement.
type SelectorRequirement struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Values   []string `json:"values,omitempty"`
}

// SharedMemory mounts /dev/shm.
type SharedMemory struct {
	VolumeName string `json:"volumeName,omitempty"`
	Size       string `json:"size,omitempty"`
}

// EmptyDirMount mounts an emptyDir.
type EmptyDirMount struct {
	VolumeName string `json:"volumeName"`
	MountPath  string `json:"mountPath"`
	Medium     string `json:"medium,omitempty"`
	SizeLimit  string `json:"sizeLimit,omitempty"`
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
