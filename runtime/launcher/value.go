package launcher

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/kubeflow/pipelines/api/v2alpha1/go/pipelinespec"
	"google.golang.org/protobuf/types/known/structpb"
)

type paramType = pipelinespec.ParameterType_ParameterTypeEnum

// decodeParam turns an Argo parameter value into a typed KFP value: STRING is
// taken as is, every other type is JSON (integers may be written as 3.0).
func decodeParam(raw string, t paramType) (*structpb.Value, error) {
	switch t {
	case pipelinespec.ParameterType_STRING, pipelinespec.ParameterType_PARAMETER_TYPE_ENUM_UNSPECIFIED:
		return structpb.NewStringValue(raw), nil
	case pipelinespec.ParameterType_NUMBER_INTEGER:
		f, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		if err != nil || f != math.Trunc(f) {
			return nil, fmt.Errorf("want an integer, got %q", raw)
		}
		return structpb.NewNumberValue(f), nil
	case pipelinespec.ParameterType_NUMBER_DOUBLE:
		f, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		if err != nil {
			return nil, fmt.Errorf("want a number, got %q", raw)
		}
		return structpb.NewNumberValue(f), nil
	case pipelinespec.ParameterType_BOOLEAN:
		switch strings.TrimSpace(strings.ToLower(raw)) {
		case "true":
			return structpb.NewBoolValue(true), nil
		case "false":
			return structpb.NewBoolValue(false), nil
		}
		return nil, fmt.Errorf("want true or false, got %q", raw)
	}
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return nil, fmt.Errorf("want JSON for a %s parameter: %w", t, err)
	}
	switch t {
	case pipelinespec.ParameterType_LIST:
		if _, ok := v.([]any); !ok {
			return nil, fmt.Errorf("want a JSON list, got %q", raw)
		}
	case pipelinespec.ParameterType_STRUCT:
		if _, ok := v.(map[string]any); !ok {
			return nil, fmt.Errorf("want a JSON object, got %q", raw)
		}
	}
	return structpb.NewValue(v)
}

// encodeParam renders a KFP value as an Argo parameter value, the inverse of
// decodeParam: strings raw, integers without a fraction, the rest JSON.
func encodeParam(v *structpb.Value) string {
	switch k := v.GetKind().(type) {
	case *structpb.Value_StringValue:
		return k.StringValue
	case *structpb.Value_NumberValue:
		if k.NumberValue == math.Trunc(k.NumberValue) && math.Abs(k.NumberValue) < 1<<53 {
			return strconv.FormatInt(int64(k.NumberValue), 10)
		}
		return strconv.FormatFloat(k.NumberValue, 'g', -1, 64)
	case *structpb.Value_BoolValue:
		return strconv.FormatBool(k.BoolValue)
	case *structpb.Value_NullValue:
		return "null"
	}
	b, _ := json.Marshal(v.AsInterface())
	return string(b)
}

// placeholderText is how a value appears when substituted into a command
// line: KFP renders strings raw and everything else as JSON.
func placeholderText(v *structpb.Value) string {
	if s, ok := v.GetKind().(*structpb.Value_StringValue); ok {
		return s.StringValue
	}
	if n, ok := v.GetKind().(*structpb.Value_NumberValue); ok && n.NumberValue == math.Trunc(n.NumberValue) && math.Abs(n.NumberValue) < 1<<53 {
		return strconv.FormatInt(int64(n.NumberValue), 10)
	}
	b, _ := json.Marshal(v.AsInterface())
	return string(b)
}

// parseOutputFile reads what a component wrote to an output-parameter file.
func parseOutputFile(raw string, t paramType) (*structpb.Value, error) {
	if t == pipelinespec.ParameterType_STRING || t == pipelinespec.ParameterType_PARAMETER_TYPE_ENUM_UNSPECIFIED {
		return structpb.NewStringValue(raw), nil
	}
	return decodeParam(strings.TrimSpace(raw), t)
}

// literalPrefix marks a parameter value encoded because it holds "{{"
// (compiler/argo.Literal writes run parameters so, Literal step outputs):
// Argo and the embedded engine would expand it as a template where it is
// substituted. DecodeLiteral gives the value back — for a step's inputs
// after pipeline placeholders are resolved, so nothing in it is expanded.
const literalPrefix = "kubeline-literal:"

// Literal is v as an Argo parameter value: itself, or encoded when it
// holds "{{" or starts with the prefix (decoding gives v back exactly).
func Literal(v string) string {
	if !strings.Contains(v, "{{") && !strings.HasPrefix(v, literalPrefix) {
		return v
	}
	return literalPrefix + base64.RawURLEncoding.EncodeToString([]byte(v))
}

// DecodeLiteral is the value Literal encoded (v itself when it is not).
func DecodeLiteral(v string) string {
	enc, ok := strings.CutPrefix(v, literalPrefix)
	if !ok {
		return v
	}
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return v
	}
	return string(b)
}
