package compiler

import (
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	yamlv2 "go.yaml.in/yaml/v2"
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

// prune is the reference pruning: the workflow's JSON as plain values, with
// what Marshal leaves out dropped.
func prune(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			e = prune(e)
			if e == nil || (k == "name" && e == "") {
				delete(x, k)
				continue
			}
			if m, ok := e.(map[string]any); ok && len(m) == 0 && prunable[k] {
				delete(x, k)
				continue
			}
			x[k] = e
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = prune(e)
		}
		return x
	}
	return v
}

// TestKeyOrder: keyLess orders keys as yaml.v2 orders a map's keys, for keys
// shaped like a workflow's (names, label keys, numbered names such as
// kubeline-k8s-10). (yaml.v2's comparison is not transitive for some mixes
// of digit runs and letters, "11é1" < "1é" < "2Zz9" < "11é1", and its own
// output then depends on the map's iteration order.)
func TestKeyOrder(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	words := []string{"a", "A", "b", "z", "Z", "é", "kubeline", "k8s", "app.kubernetes.io/", "nvidia.com", "_", "-", ".", "/", "x2y"}
	for round := 0; round < 300; round++ {
		m := map[string]int{}
		for len(m) < 12 {
			k := words[rng.Intn(len(words))] + words[rng.Intn(len(words))]
			if rng.Intn(2) == 0 {
				k += "-" + strconv.Itoa(rng.Intn(120))
			}
			m[k] = 0
		}
		want, _ := yamlv2.Marshal(m)
		var ms yamlv2.MapSlice
		for k := range m {
			ms = append(ms, yamlv2.MapItem{Key: k, Value: 0})
		}
		sortKeys(ms)
		got, _ := yamlv2.Marshal(ms)
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Fatalf("key order (-yaml.v2 +keyLess):\n%s", diff)
		}
	}
}

// TestYAMLTreeStrings: strings with escapes, unicode and JSON-looking text
// come out of Marshal's reader as encoding/json reads them.
func TestYAMLTreeStrings(t *testing.T) {
	for _, s := range []string{"plain", "a\"b", "line\nnext\t\r", "\u00e9 ünï \U0001F600 😀", "<>&", "back\\slash", "\x00\x1f", "{{inputs.parameters.x}}", ""} {
		b, _ := json.Marshal(map[string]any{"k": s, "n": []any{1, 2.5, -3, 1e21, true, nil}})
		v, err := yamlTree(b)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		var ref any
		_ = json.Unmarshal(b, &ref)
		want, _ := yaml.Marshal(prune(ref))
		got, _ := yamlv2.Marshal(v)
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("%q (-sigs.k8s.io/yaml +Marshal):\n%s", s, diff)
		}
	}
}
