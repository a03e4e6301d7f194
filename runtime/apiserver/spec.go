package apiserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

// A pipeline spec travels as it came. An uploaded file is stored as
// uploaded; an inline pipeline_spec (a run's, a recurring run's, a
// version's) is stored as the JSON the client sent, indented so that
// compile errors have useful line numbers. JSON is YAML, so the compiler
// reads both alike, and an inline spec compiles exactly as the same spec
// uploaded. It is never re-encoded through a YAML writer: yaml.v3 writes a
// list string starting with "\n" as a "- |4" block scalar its own reader
// rejects, and every lightweight Python component's command starts so.

// hasSpec says whether a request carried a pipeline_spec.
func hasSpec(raw json.RawMessage) bool {
	return len(raw) > 0 && string(bytes.TrimSpace(raw)) != "null"
}

// specText turns an inline pipeline_spec (field names it in errors) into
// the pipeline file kubeline stores: the spec document, or the two
// documents of KFP's {"pipeline_spec": ..., "platform_spec": ...} pair.
func specText(field string, raw json.RawMessage) (string, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return "", badRequest("%s: want a JSON object: %v", field, err)
	}
	docs := []json.RawMessage{raw}
	if ps, ok := top["pipeline_spec"]; ok {
		docs = []json.RawMessage{ps}
		if pl, ok := top["platform_spec"]; ok && hasSpec(pl) {
			docs = append(docs, pl)
		}
	}
	var buf bytes.Buffer
	for i, d := range docs {
		if i > 0 {
			buf.WriteString("\n---\n")
		}
		if t := bytes.TrimSpace(d); len(t) == 0 || t[0] != '{' {
			return "", badRequest("%s: want a JSON object, got %.40s", field, t)
		}
		if err := json.Indent(&buf, d, "", "  "); err != nil {
			return "", badRequest("%s: %v", field, err)
		}
	}
	buf.WriteByte('\n')
	return buf.String(), nil
}

// specJSON renders a stored pipeline file (YAML as uploaded, or JSON as
// sent inline) as KFP's pipeline_spec: the spec, or {"pipeline_spec": ...,
// "platform_spec": ...} when it has a platform document.
func specJSON(spec string) (any, error) {
	dec := yaml.NewDecoder(strings.NewReader(spec))
	var docs []any
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, badRequest("pipeline spec: %v", err)
		}
		if v != nil {
			docs = append(docs, v)
		}
	}
	switch len(docs) {
	case 0:
		return nil, badRequest("pipeline spec is empty")
	case 1:
		return docs[0], nil
	}
	return map[string]any{"pipeline_spec": docs[0], "platform_spec": docs[1]}, nil
}
