package argo

import (
	"cmp"
	"encoding/json"
	"math"
	"regexp"
	"slices"
	"strconv"

	"github.com/kubeflow/pipelines/api/v2alpha1/go/pipelinespec"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// encodeValue renders a KFP constant as an Argo parameter value: strings raw,
// integers without a fraction (the SDK writes NUMBER_INTEGER defaults as
// floats), everything else as compact JSON.
func encodeValue(v *structpb.Value, t pipelinespec.ParameterType_ParameterTypeEnum) string {
	switch k := v.GetKind().(type) {
	case *structpb.Value_StringValue:
		if t == pipelinespec.ParameterType_STRING || t == pipelinespec.ParameterType_PARAMETER_TYPE_ENUM_UNSPECIFIED {
			return k.StringValue
		}
		return k.StringValue
	case *structpb.Value_NumberValue:
		f := k.NumberValue
		if t == pipelinespec.ParameterType_NUMBER_INTEGER || (t != pipelinespec.ParameterType_NUMBER_DOUBLE && f == math.Trunc(f) && math.Abs(f) < 1<<53) {
			return strconv.FormatInt(int64(f), 10)
		}
		return strconv.FormatFloat(f, 'g', -1, 64)
	case *structpb.Value_BoolValue:
		return strconv.FormatBool(k.BoolValue)
	case *structpb.Value_NullValue, nil:
		return "null"
	}
	b, _ := json.Marshal(v.AsInterface())
	return string(b)
}

// compactJSON renders a proto message as compact JSON with sorted keys, so
// compiled output is byte-for-byte reproducible.
func compactJSON(m proto.Message) string {
	if s, ok := sortedJSON(m); ok {
		return s
	}
	return roundTripJSON(m)
}

// roundTripJSON is compactJSON by protojson and encoding/json: the
// reference sortedJSON is tested against, and its fallback.
func roundTripJSON(m proto.Message) string {
	b, err := protojson.Marshal(m)
	if err != nil {
		return "{}"
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return "{}"
	}
	out, _ := json.Marshal(v)
	return string(out)
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// inputPlaceholder matches {{$.inputs.parameters['NAME']}} (either quote).
var inputPlaceholder = regexp.MustCompile(`\{\{\$\.inputs\.parameters\[['"]([^'"]+)['"]\]\}\}`)

// pipelinePlaceholders maps KFP pipeline-level placeholders with an exact Argo
// equivalent; the others are left for the launcher.
var pipelinePlaceholders = map[string]string{
	"{{$.pipeline_job_name}}":            "{{workflow.name}}",
	"{{$.pipeline_job_resource_name}}":   "{{workflow.name}}",
	"{{$.pipeline_job_uuid}}":            "{{workflow.uid}}",
	"{{$.pipeline_job_create_time_utc}}": "{{workflow.creationTimestamp}}",
}

// sortedKeys is slices.Sorted(maps.Keys(m)) with the slice allocated once,
// at its size.
func sortedKeys[M ~map[K]V, K cmp.Ordered, V any](m M) []K {
	if len(m) == 0 {
		return nil
	}
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
