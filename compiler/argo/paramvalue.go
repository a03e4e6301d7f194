package argo

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/kubeflow/pipelines/api/v2alpha1/go/pipelinespec"
)

// CheckParamValue says whether raw, a parameter value as a run is given it
// (`--param NAME=VALUE`, the API's runtime_config.parameters), is a value of
// the declared type t — the values the launcher accepts when the step runs
// (runtime/launcher's decodeParam; a test holds the two to the same
// answers), so a wrong value is refused when the run is made, not when its
// step starts: STRING anything; NUMBER_INTEGER a number without a fraction
// (3 or 3.0); NUMBER_DOUBLE a number; BOOLEAN true or false; LIST a JSON
// list; STRUCT a JSON object.
func CheckParamValue(raw string, t pipelinespec.ParameterType_ParameterTypeEnum) error {
	switch t {
	case pipelinespec.ParameterType_STRING, pipelinespec.ParameterType_PARAMETER_TYPE_ENUM_UNSPECIFIED:
		return nil
	case pipelinespec.ParameterType_NUMBER_INTEGER:
		f, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		if err != nil || f != math.Trunc(f) {
			return fmt.Errorf("%q is not an integer", raw)
		}
		return nil
	case pipelinespec.ParameterType_NUMBER_DOUBLE:
		if _, err := strconv.ParseFloat(strings.TrimSpace(raw), 64); err != nil {
			return fmt.Errorf("%q is not a number", raw)
		}
		return nil
	case pipelinespec.ParameterType_BOOLEAN:
		switch strings.TrimSpace(strings.ToLower(raw)) {
		case "true", "false":
			return nil
		}
		return fmt.Errorf("%q is not true or false", raw)
	case pipelinespec.ParameterType_LIST:
		var v any
		if json.Unmarshal([]byte(raw), &v) != nil {
			return fmt.Errorf("%q is not a JSON list", raw)
		}
		if _, ok := v.([]any); !ok {
			return fmt.Errorf("%q is not a JSON list", raw)
		}
		return nil
	case pipelinespec.ParameterType_STRUCT:
		var v any
		if json.Unmarshal([]byte(raw), &v) != nil {
			return fmt.Errorf("%q is not a JSON object", raw)
		}
		if _, ok := v.(map[string]any); !ok {
			return fmt.Errorf("%q is not a JSON object", raw)
		}
		return nil
	}
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return fmt.Errorf("%q is not JSON for a %s parameter", raw, t)
	}
	return nil
}
