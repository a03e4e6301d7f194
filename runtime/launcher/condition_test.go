package launcher

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEvalCondition(t *testing.T) {
	comp := `{"inputDefinitions":{"parameters":{
	  "coin":{"parameterType":"STRING"},
	  "n":{"parameterType":"NUMBER_INTEGER"},
	  "limit":{"parameterType":"NUMBER_INTEGER"}}}}`
	cases := []struct {
		cond string
		in   map[string]string
		want bool
		err  string
	}{
		{"inputs.parameter_values['coin'] == 'heads'", map[string]string{"coin": "heads", "n": "1", "limit": "1"}, true, ""},
		{"!(inputs.parameter_values['coin'] == 'heads')", map[string]string{"coin": "heads", "n": "1", "limit": "1"}, false, ""},
		{"int(inputs.parameter_values['n']) > 5", map[string]string{"coin": "x", "n": "9", "limit": "1"}, true, ""},
		{"int(inputs.parameter_values['n']) >= int(inputs.parameter_values['limit'])", map[string]string{"coin": "x", "n": "3", "limit": "4"}, false, ""},
		{"inputs.parameter_values['coin']", map[string]string{"coin": "x", "n": "3", "limit": "4"}, false, "not a bool"},
		{"inputs.parameter_values[", map[string]string{"coin": "x", "n": "3", "limit": "4"}, false, "Syntax error"},
	}
	for _, tc := range cases {
		t.Run(tc.cond, func(t *testing.T) {
			o, _ := opts(t, comp, tc.in)
			got, err := EvalCondition(tc.cond, o)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("want error containing %q, got %v", tc.err, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			b, err := os.ReadFile(filepath.Join(o.OutputsDir, "result"))
			if err != nil || string(b) != map[bool]string{true: "true", false: "false"}[tc.want] {
				t.Fatalf("result file %q, %v", b, err)
			}
		})
	}
}

func TestImporter(t *testing.T) {
	src := filepath.Join(t.TempDir(), "model.bin")
	os.WriteFile(src, []byte("weights"), 0o644)
	comp := `{"outputDefinitions":{"artifacts":{"artifact":{"artifactType":{"schemaTitle":"system.Model"}}}}}`
	o, _ := opts(t, comp, nil)
	if err := RunImporter(Importer{URI: "file://" + src, Metadata: map[string]any{"framework": "none"}}, o); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(o.OutputsDir, "artifact", "data"))
	if err != nil || string(b) != "weights" {
		t.Fatalf("imported data %q, %v", b, err)
	}
	md := readOut(t, o, "artifact/metadata.json")
	if !strings.Contains(md, `"uri":"file://`+src) || !strings.Contains(md, `"framework":"none"`) {
		t.Fatalf("metadata %s", md)
	}
	// A URI this machine cannot read is recorded, not copied.
	o2, _ := opts(t, comp, nil)
	if err := RunImporter(Importer{URI: "gs://bucket/model"}, o2); err != nil {
		t.Fatal(err)
	}
	if md := readOut(t, o2, "artifact/metadata.json"); !strings.Contains(md, `"uri":"gs://bucket/model"`) {
		t.Fatalf("metadata %s", md)
	}
}
