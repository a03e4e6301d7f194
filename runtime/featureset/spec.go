package featureset

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/kubeline/kubeline/compiler/spec"
)

// APIVersion and Kind of a FeatureSet document.
const (
	APIVersion = "kubeline.io/v1alpha1"
	Kind       = "FeatureSet"
)

// Types a feature may declare.
var Types = []string{"int", "float", "string", "bool", "timestamp"}

// Feature is one declared feature: a column of the data.
type Feature struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
}

// Spec is a FeatureSet: its name and group, its features, and the dataset
// versions (dataset://NAME@vN) it is extracted from.
type Spec struct {
	Name        string    `json:"name"`
	Group       string    `json:"group,omitempty"`
	Description string    `json:"description,omitempty"`
	Features    []Feature `json:"features"`
	Datasets    []string  `json:"datasets,omitempty"`
}

// Decode reads a kind: FeatureSet document (YAML or JSON):
//
//	apiVersion: kubeline.io/v1alpha1
//	kind: FeatureSet
//	metadata: {name: customers}
//	spec:
//	  group: vision            # optional: the creator's group
//	  description: ...
//	  datasets: [dataset://raw@v1]
//	  features:
//	  - {name: age, type: int, description: years}
//
// Every problem is reported, each with its path and line:column.
func Decode(data []byte) (Spec, error) {
	docs, err := spec.Parse(data)
	if err != nil {
		return Spec{}, err
	}
	var es spec.Errors
	if len(docs) != 1 {
		es.Add("", nil, "want one FeatureSet document, got %d", len(docs))
		return Spec{}, es.Err()
	}
	d := decoder{}
	s := d.document(docs[0].Node)
	return s, d.es.Err()
}

type decoder struct{ es spec.Errors }

// fields checks that mapping n has only the keys allowed and returns them.
func (d *decoder) fields(n *yaml.Node, path string, allowed ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n == nil {
		return out
	}
	if n.Kind != yaml.MappingNode {
		d.es.Add(path, spec.PosOf(n), "want a mapping")
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if !slices.Contains(allowed, k) {
			d.es.Add(join(path, k), spec.PosOf(n.Content[i]), "unknown field (want %s)", strings.Join(allowed, ", "))
			continue
		}
		out[k] = n.Content[i+1]
	}
	return out
}

// str reads a string scalar; required says whether it must be there.
func (d *decoder) str(n *yaml.Node, path string, required bool) string {
	switch {
	case n == nil && required:
		d.es.Add(path, nil, "is required")
	case n == nil:
	case n.Kind != yaml.ScalarNode || n.Tag == "!!null":
		d.es.Add(path, spec.PosOf(n), "want a string")
	default:
		if required && n.Value == "" {
			d.es.Add(path, spec.PosOf(n), "is required")
		}
		return n.Value
	}
	return ""
}

func (d *decoder) document(root *yaml.Node) Spec {
	top := d.fields(root, "", "apiVersion", "kind", "metadata", "spec")
	if v := d.str(top["apiVersion"], "apiVersion", true); v != "" && v != APIVersion {
		d.es.Add("apiVersion", spec.PosOf(top["apiVersion"]), "want %s, got %q", APIVersion, v)
	}
	if v := d.str(top["kind"], "kind", true); v != "" && v != Kind {
		d.es.Add("kind", spec.PosOf(top["kind"]), "want %s, got %q", Kind, v)
	}
	meta := d.fields(top["metadata"], "metadata", "name")
	s := Spec{Name: d.str(meta["name"], "metadata.name", true)}
	if top["spec"] == nil {
		d.es.Add("spec", spec.PosOf(root), "is required")
		return s
	}
	body := d.fields(top["spec"], "spec", "group", "description", "features", "datasets")
	s.Group = d.str(body["group"], "spec.group", false)
	s.Description = d.str(body["description"], "spec.description", false)
	s.Datasets = d.datasets(body["datasets"])
	s.Features = d.features(body["features"], spec.PosOf(top["spec"]))
	return s
}

func (d *decoder) datasets(n *yaml.Node) []string {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.es.Add("spec.datasets", spec.PosOf(n), "want a list of dataset://NAME@vN")
		return nil
	}
	var out []string
	for i, e := range n.Content {
		p := fmt.Sprintf("spec.datasets[%d]", i)
		v := d.str(e, p, true)
		if v != "" && (!strings.HasPrefix(v, "dataset://") || !strings.Contains(v, "@")) {
			d.es.Add(p, spec.PosOf(e), "want dataset://NAME@vN, got %q", v)
		}
		out = append(out, v)
	}
	return out
}

func (d *decoder) features(n *yaml.Node, at *spec.Pos) []Feature {
	if n == nil || (n.Kind == yaml.SequenceNode && len(n.Content) == 0) {
		d.es.Add("spec.features", at, "declare at least one feature")
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.es.Add("spec.features", spec.PosOf(n), "want a list of {name, type, description}")
		return nil
	}
	var out []Feature
	seen := map[string]bool{}
	for i, e := range n.Content {
		p := fmt.Sprintf("spec.features[%d]", i)
		f := d.fields(e, p, "name", "type", "description")
		ft := Feature{Name: d.str(f["name"], p+".name", true), Type: d.str(f["type"], p+".type", true), Description: d.str(f["description"], p+".description", false)}
		if ft.Type != "" && !slices.Contains(Types, ft.Type) {
			d.es.Add(p+".type", spec.PosOf(f["type"]), "unknown type %q (want %s)", ft.Type, strings.Join(Types, ", "))
		}
		if ft.Name != "" && seen[ft.Name] {
			d.es.Add(p+".name", spec.PosOf(f["name"]), "feature %q is declared twice", ft.Name)
		}
		seen[ft.Name] = true
		out = append(out, ft)
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// JSON is the spec as stored (runtime/store keeps it as text).
func (s Spec) JSON() string {
	b, _ := json.Marshal(s)
	return string(b)
}

// FromJSON reads a stored spec.
func FromJSON(text string) (Spec, error) {
	var s Spec
	if err := json.Unmarshal([]byte(text), &s); err != nil {
		return s, fmt.Errorf("stored featureset spec: %w", err)
	}
	return s, nil
}
