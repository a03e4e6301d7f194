package launcher

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
)

// placeholderRE matches one KFP placeholder: {{$}} or {{$.something}}.
var placeholderRE = regexp.MustCompile(`\{\{\$(\.[^{}]*)?\}\}`)

// ioRE splits {{$.inputs.parameters['x']}} style paths.
var ioRE = regexp.MustCompile(`^\.(inputs|outputs)\.(parameters|artifacts)\[['"]([^'"]+)['"]\](?:\.(\w+))?$`)

// resolveArgs resolves every placeholder of a KFP command line. An IfPresent
// may expand to any number of arguments; everything else to exactly one.
func (s *step) resolveArgs(args []string) ([]string, error) {
	var out []string
	var errs []string
	for _, a := range args {
		got, err := s.resolveArg(a)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		out = append(out, got...)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("resolve placeholders: %s", strings.Join(errs, "; "))
	}
	return out, nil
}

func (s *step) resolveArg(a string) ([]string, error) {
	t := strings.TrimSpace(a)
	if strings.HasPrefix(t, `{"IfPresent"`) || strings.HasPrefix(t, `{"Concat"`) {
		var structured map[string]json.RawMessage
		if err := json.Unmarshal([]byte(t), &structured); err == nil {
			return s.structured(structured)
		}
	}
	v, err := s.inline(a)
	if err != nil {
		return nil, err
	}
	return []string{v}, nil
}

// structured resolves {"IfPresent": {...}} and {"Concat": [...]}.
func (s *step) structured(m map[string]json.RawMessage) ([]string, error) {
	if raw, ok := m["Concat"]; ok {
		var parts []json.RawMessage
		if err := json.Unmarshal(raw, &parts); err != nil {
			return nil, fmt.Errorf("Concat: want a list: %w", err)
		}
		var b strings.Builder
		for _, p := range parts {
			got, err := s.element(p)
			if err != nil {
				return nil, err
			}
			b.WriteString(strings.Join(got, ""))
		}
		return []string{b.String()}, nil
	}
	var ip struct {
		InputName string          `json:"InputName"`
		Then      json.RawMessage `json:"Then"`
		Else      json.RawMessage `json:"Else"`
	}
	if err := json.Unmarshal(m["IfPresent"], &ip); err != nil {
		return nil, fmt.Errorf("IfPresent: %w", err)
	}
	branch := ip.Else
	if s.present(ip.InputName) {
		branch = ip.Then
	}
	if len(branch) == 0 || string(branch) == "null" {
		return nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(branch, &items); err != nil {
		return s.element(branch) // a single string
	}
	var out []string
	for _, it := range items {
		got, err := s.element(it)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

// element resolves one JSON element of a structured placeholder: a string
// (itself possibly a placeholder) or a nested structure.
func (s *step) element(raw json.RawMessage) ([]string, error) {
	var str string
	if err := json.Unmarshal(raw, &str); err == nil {
		return s.resolveArg(str)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("placeholder element %s: want a string or an object", raw)
	}
	return s.structured(m)
}

// present reports whether a named input has a value.
func (s *step) present(name string) bool {
	if _, ok := s.params[name]; ok {
		return true
	}
	_, ok := s.inArts[name]
	return ok
}

func (s *step) inline(a string) (string, error) {
	var firstErr error
	out := placeholderRE.ReplaceAllStringFunc(a, func(m string) string {
		v, err := s.placeholder(m[3 : len(m)-2])
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return v
	})
	return out, firstErr
}

// placeholder resolves the part after "$" of one placeholder; unknown
// platform placeholders (Google Cloud's) are left as they are.
func (s *step) placeholder(p string) (string, error) {
	if p == "" {
		return s.executorInputJSON()
	}
	if v, ok := s.pipelineValues()[p]; ok {
		return v, nil
	}
	m := ioRE.FindStringSubmatch(p)
	if m == nil {
		return "{{$" + p + "}}", nil
	}
	dir, kind, name, attr := m[1], m[2], m[3], m[4]
	switch {
	case dir == "inputs" && kind == "parameters":
		v, ok := s.params[name]
		if !ok {
			return "", fmt.Errorf("input parameter %q has no value", name)
		}
		return placeholderText(v), nil
	case dir == "inputs":
		arts, ok := s.inArts[name]
		if !ok {
			return "", fmt.Errorf("input artifact %q is not present", name)
		}
		if attr == "" {
			// A list input renders as a JSON list of its artifacts.
			var parts []string
			for _, ra := range runtimeArtifacts(arts, s.localURIs) {
				b, _ := protojson.Marshal(ra)
				parts = append(parts, string(b))
			}
			return "[" + strings.Join(parts, ",") + "]", nil
		}
		return s.artifactAttr(arts[0], attr, name)
	case kind == "parameters":
		if attr != "output_file" {
			return "", fmt.Errorf("output parameter %q: unknown attribute %q", name, attr)
		}
		f, ok := s.outParamFiles[name]
		if !ok {
			return "", fmt.Errorf("no output parameter %q", name)
		}
		return f, nil
	default:
		a, ok := s.outArts[name]
		if !ok {
			return "", fmt.Errorf("no output artifact %q", name)
		}
		return s.artifactAttr(a, attr, name)
	}
}

func (s *step) artifactAttr(a *artifact, attr, name string) (string, error) {
	switch attr {
	case "path":
		return a.Path, nil
	case "uri":
		if s.localURIs {
			return a.Path, nil
		}
		return a.URI, nil
	case "metadata":
		b, _ := json.Marshal(a.Metadata)
		return string(b), nil
	}
	return "", fmt.Errorf("artifact %q: unknown attribute %q", name, attr)
}
