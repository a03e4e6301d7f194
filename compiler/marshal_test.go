package compiler

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// TestMarshalMatchesJSONToYAML: Marshal writes, byte for byte, what the
// JSON-to-YAML round trip of sigs.k8s.io/yaml writes for the pruned workflow
// (the form kubeline compile always wrote), for every corpus pipeline.
func TestMarshalMatchesJSONToYAML(t *testing.T) {
	for _, f := range corpusFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		wf, err := Compile(filepath.Base(f), data, Options{})
		if err != nil {
			continue
		}
		b, _ := json.Marshal(wf)
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		want, err := yaml.Marshal(prune(v))
		if err != nil {
			t.Fatal(err)
		}
		got, err := Marshal(wf)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("%s (-sigs.k8s.io/yaml +Marshal):\n%s", f, diff)
		}
	}
}
