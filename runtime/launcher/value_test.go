package launcher

import (
	"testing"

	"github.com/kubeflow/pipelines/api/v2alpha1/go/pipelinespec"

	"github.com/kubeline/kubeline/compiler/argo"
)

// TestCompilerAcceptsWhatTheLauncherDecodes holds the compiler's check of
// run parameter values (argo.CheckParamValue, done when a run is made) to
// the launcher's decoding (done when the step starts): a value is refused
// by both or by neither.
func TestCompilerAcceptsWhatTheLauncherDecodes(t *testing.T) {
	values := []string{"", "abc", "3", " 3 ", "3.0", "3.5", "-2", "1e3", "1e-3", "NaN", "Inf", "0x10",
		"true", "false", "True", " FALSE ", "yes", "1", "0", "[]", "[1, 2]", `["a"]`, "{}", `{"a": 1}`, "null", `"s"`, "[1,", "{"}
	types := []pipelinespec.ParameterType_ParameterTypeEnum{pipelinespec.ParameterType_STRING, pipelinespec.ParameterType_NUMBER_INTEGER,
		pipelinespec.ParameterType_NUMBER_DOUBLE, pipelinespec.ParameterType_BOOLEAN, pipelinespec.ParameterType_LIST,
		pipelinespec.ParameterType_STRUCT}
	refused := 0
	for _, typ := range types {
		for _, v := range values {
			_, decodeErr := decodeParam(v, typ)
			checkErr := argo.CheckParamValue(v, typ)
			if (decodeErr == nil) != (checkErr == nil) {
				t.Errorf("%s %q: the launcher says %v, the compiler %v", typ, v, decodeErr, checkErr)
			}
			if checkErr != nil {
				refused++
			}
		}
	}
	if refused < 50 {
		t.Fatalf("only %d of the values refused: the table tests little", refused)
	}
}
