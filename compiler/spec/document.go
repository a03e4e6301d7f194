package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Kind is what a document describes.
type Kind string

// Document kinds kubeline knows.
const (
	KindPipeline   Kind = "PipelineSpec" // KFP v2 IR
	KindPlatform   Kind = "PlatformSpec" // the "platforms:" second document of a KFP file
	KindExperiment Kind = "Experiment"   // kubeline.io/v1alpha1
	KindDeployment Kind = "Deployment"   // kubeline.io/v1alpha1
	KindProject    Kind = "Project"      // kubeline.io/v1alpha1
	KindMonitor    Kind = "Monitor"      // kubeline.io/v1alpha1
	KindImageBuild Kind = "ImageBuild"   // kubeline.io/v1alpha1
	KindWorkflow   Kind = "Workflow"     // argoproj.io/v1alpha1, already compiled
	KindUnknown    Kind = ""
)

// Document is one YAML document of a file.
type Document struct {
	// Node is the document's root mapping.
	Node *yaml.Node
	// Kind is the detected kind.
	Kind Kind
	// Index is the document's position in its file (0-based).
	Index int
}

// Pos returns the position of n.
func PosOf(n *yaml.Node) *Pos {
	if n == nil {
		return nil
	}
	return &Pos{Line: n.Line, Column: n.Column}
}

// Parse splits data into YAML documents and detects their kinds. JSON is YAML.
// Syntax errors carry line:column; an empty input is an error. The
// DefaultLimits apply.
func Parse(data []byte) ([]Document, error) { return DefaultLimits.Parse(data) }

// Parse is the package's Parse under the limits l: a file that could hold
// more YAML nodes than l.Nodes is refused before it is parsed, and each
// document is checked against l with its aliases expanded (without
// expanding them) before anything reads it.
func (l Limits) Parse(data []byte) ([]Document, error) {
	docs, _, err := l.parse(data, nil)
	return docs, err
}

// parse is Parse with the block reader's tree cut from a when a is not
// nil; used says whether it was.
func (l Limits) parse(data []byte, a *arena) (_ []Document, used bool, _ error) {
	l = l.withDefaults()
	// nodeBound is at most 3 nodes a byte (and 4): a file too small to
	// cross the limit is not counted.
	b := int64(-1)
	if 3*int64(len(data))+4 > l.Nodes {
		b = nodeBound(data)
	}
	if b > l.Nodes {
		var es Errors
		es.AddErr("", nil, limitError("the file could hold up to %d YAML nodes (counting its '- ', ':', ',', '[', '{' and '?'); at most %d are allowed (limit --max-yaml-nodes)", b, l.Nodes))
		return nil, false, es.Err()
	}
	docs, ok, used := l.parseBlock(data, b, a)
	if ok {
		return docs, used, nil
	}
	docs, err := l.parseYAML(data)
	return docs, used, err
}

// parseYAML reads data with yaml.v3.
func (l Limits) parseYAML(data []byte) ([]Document, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []Document
	for i := 0; ; i++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, yamlError(err)
		}
		if err := checkExpansion(&n, l); err != nil {
			return nil, err
		}
		root := &n
		if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
			root = root.Content[0]
		}
		if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
			continue // an empty document between separators
		}
		if root.Kind != yaml.MappingNode {
			var es Errors
			es.Add(fmt.Sprintf("document %d", i+1), PosOf(root), "expected a mapping at the top level, got %s", nodeKind(root))
			return nil, es.Err()
		}
		docs = append(docs, Document{Node: root, Kind: detect(root), Index: len(docs)})
	}
	if len(docs) == 0 {
		var es Errors
		es.Add("", nil, "empty document: expected a KFP pipeline spec")
		return nil, es.Err()
	}
	return docs, nil
}

// parseBlock reads data with the block reader (the SDK's YAML, several
// times faster than yaml.v3, same trees) when data is within its subset
// and within l; ok is false otherwise.
func (l Limits) parseBlock(data []byte, bound int64, a *arena) (_ []Document, ok, used bool) {
	roots, nodes, size, ok, used := readBlockIn(data, bound, a)
	if !ok || nodes > l.Nodes || size > l.Bytes {
		return nil, false, used
	}
	docs := make([]Document, len(roots))
	for i, d := range roots {
		root := d.Content[0]
		docs[i] = Document{Node: root, Kind: detect(root), Index: i}
	}
	return docs, true, used
}

// yamlError turns yaml.v3's "yaml: line N: msg" into an Error with a position.
func yamlError(err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: ")
	e := &Error{Err: fmt.Errorf("invalid YAML: %s", msg)}
	if strings.HasPrefix(msg, "line ") {
		rest := msg[len("line "):]
		if i := strings.IndexByte(rest, ':'); i > 0 {
			if n, convErr := strconv.Atoi(rest[:i]); convErr == nil {
				e.Line, e.Column = n, 1
				e.Err = fmt.Errorf("invalid YAML: %s", strings.TrimSpace(rest[i+1:]))
			}
		}
	}
	return Errors{e}
}

func detect(n *yaml.Node) Kind {
	if v := Lookup(n, "kind"); v != nil && v.Kind == yaml.ScalarNode {
		switch v.Value {
		case "Experiment":
			return KindExperiment
		case "Deployment":
			return KindDeployment
		case "Project":
			return KindProject
		case "Monitor":
			return KindMonitor
		case "ImageBuild":
			return KindImageBuild
		case "Workflow":
			return KindWorkflow
		}
	}
	if Lookup(n, "platforms") != nil && Lookup(n, "root") == nil {
		return KindPlatform
	}
	if Lookup(n, "root") != nil || Lookup(n, "pipelineInfo") != nil || Lookup(n, "components") != nil || Lookup(n, "deploymentSpec") != nil {
		return KindPipeline
	}
	return KindUnknown
}

// Lookup returns the value node of key in mapping n, or nil.
func Lookup(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return fmt.Sprintf("the scalar %q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "an unknown node"
}

// NodeKind names what n is, for error messages.
func NodeKind(n *yaml.Node) string { return nodeKind(n) }

// Value converts a YAML node to plain Go values (map[string]any, []any, string,
// float64, bool, nil), the shape encoding/json produces. Keys must be strings.
func Value(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return Value(n.Content[0])
	case yaml.AliasNode:
		return Value(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("%d:%d: map key must be a string", k.Line, k.Column)
			}
			v, err := Value(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		l := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, err := Value(c)
			if err != nil {
				return nil, err
			}
			l[i] = v
		}
		return l, nil
	case yaml.ScalarNode:
		return scalar(n)
	}
	return nil, fmt.Errorf("%d:%d: unsupported YAML node", n.Line, n.Column)
}

func scalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, fmt.Errorf("%d:%d: %w", n.Line, n.Column, err)
		}
		return b, nil
	case "!!int", "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, fmt.Errorf("%d:%d: %w", n.Line, n.Column, err)
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("%d:%d: number %s cannot be represented in JSON", n.Line, n.Column, n.Value)
		}
		return f, nil
	default:
		return n.Value, nil
	}
}

// DecodeStrict decodes a kubeline document (an Experiment, a Deployment)
// into v: read as YAML 1.2 (a field named y or n stays a string), then as
// JSON into v's json tags, an unknown field being an error. An error names
// the document's position and what it is.
func DecodeStrict(doc *yaml.Node, what string, v any) error {
	var raw any
	err := doc.Decode(&raw)
	var b []byte
	if err == nil {
		b, err = json.Marshal(raw)
	}
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		err = dec.Decode(v)
	}
	if err != nil {
		var es Errors
		es.Add("", PosOf(doc), "invalid %s: %v", what, err)
		return es.Err()
	}
	return nil
}
