package recorder

import (
	"bytes"
	"encoding/json"
	"testing"
)

// decodedRows is how Rows read V1 bodies before member: json.Unmarshal
// into a map, the field's value compacted. Rows must agree with it.
func decodedRows(body []byte, field string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return "[]"
	}
	raw, ok := m[field]
	if !ok && field == "instances" {
		raw, ok = m["inputs"]
	}
	raw = bytes.TrimSpace(raw)
	if !ok || len(raw) == 0 || raw[0] != '[' {
		return "[]"
	}
	var c bytes.Buffer
	if json.Compact(&c, raw) != nil {
		return "[]"
	}
	return c.String()
}

var rowBodies = []string{
	`{"instances":[1.5,2.5]}`, `{ "instances" : [ {"x": 1, "c": "red"} , [1,2] ] }`, `{"inputs":[[1,2],[3,4]]}`,
	`{"instances":[1],"inputs":[2]}`, `{"inputs":[2],"instances":[1]}`, `{"instances":[1],"instances":[2]}`,
	`{"instan\u0063es":[7]}`, `{"a":{"instances":[9]},"b":"instances","instances":[3]}`, `{"s":"x\"y\\","instances":["\"]"]}`,
	`{"instances":{"x":1}}`, `{"instances":"[1]"}`, `{"instances":null}`, `{"instances":[1]`, `[{"instances":[1]}]`,
	`null`, `"str"`, `7`, ``, `not json`, `{}`, `{"predictions":[0.1,0.2]}`, `{"predictions":[],"x":true,"y":false,"z":null}`,
	`{"k":-1.5e+3,"instances":[{"a":[{"b":[]}]}],"t":"}"}`, "{\"instances\":[1,\n2]}\n",
}

// TestRowsAsDecoded: V1 rows read from the compact body (member) are what
// decoding the body gives, for instances, inputs and predictions.
func TestRowsAsDecoded(t *testing.T) {
	for _, body := range rowBodies {
		for _, field := range []string{"instances", "predictions"} {
			want := decodedRows([]byte(body), field)
			if got := listRows(compact([]byte(body)), field); got != want {
				t.Errorf("%s of %q: %s, decoded %s", field, body, got, want)
			}
		}
	}
}

func FuzzRowsAsDecoded(f *testing.F) {
	for _, b := range rowBodies {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, field := range []string{"instances", "predictions"} {
			if got, want := listRows(compact(body), field), decodedRows(body, field); got != want {
				t.Errorf("%s of %q: %s, decoded %s", field, body, got, want)
			}
		}
	})
}
