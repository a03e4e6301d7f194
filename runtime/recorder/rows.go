package recorder

import (
	"bytes"
	"encoding/json"
)

// Rows turns a request and its response into rows, one per instance, as
// JSON arrays: KServe V1 `instances` / `predictions` (each item a row: an
// object, an array or a scalar); V2 `inputs` / `outputs` tensors (several
// 1-D tensors of one length are columns by tensor name; one tensor of
// shape [n, k] is n rows of k values; one of shape [n] is n scalars).
// What cannot be read gives "[]".
func Rows(protocol string, request, response []byte) (inputs, outputs string) {
	if protocol == "v2" {
		return tensorRows(request, "inputs"), tensorRows(response, "outputs")
	}
	return listRows(compact(request), "instances"), listRows(compact(response), "predictions")
}

// compactRows is Rows of bodies already compacted (appendPayload's; nil
// when a body is not JSON): the recorder's worker reads V1 bodies without
// decoding them a second time.
func compactRows(protocol string, request, response []byte) (inputs, outputs string) {
	if protocol == "v2" {
		return tensorRows(request, "inputs"), tensorRows(response, "outputs")
	}
	return listRows(request, "instances"), listRows(response, "predictions")
}

// compact is b with JSON's insignificant white space removed, nil when b
// is not JSON.
func compact(b []byte) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return nil
	}
	return buf.Bytes()
}

func decode(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

// listRows is the array a compact JSON object holds under field (V1 also
// allows "inputs" for "instances"), as sent; "[]" when there is none.
func listRows(body []byte, field string) string {
	raw, ok := member(body, field)
	if !ok && field == "instances" {
		raw, ok = member(body, "inputs")
	}
	if !ok || len(raw) == 0 || raw[0] != '[' {
		return "[]"
	}
	return string(raw)
}

// member is the value of the last member named name of a compact JSON
// object (the one json.Unmarshal into a map keeps), as it is in body.
// body must be valid compact JSON (json.Compact's output): no white
// space outside strings.
func member(body []byte, name string) ([]byte, bool) {
	if len(body) < 2 || body[0] != '{' {
		return nil, false
	}
	var found []byte
	ok := false
	for i := 1; i < len(body) && body[i] == '"'; {
		end := skipValue(body, i) // the key
		key := body[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			var k string
			if json.Unmarshal(body[i:end], &k) == nil {
				key = []byte(k)
			}
		}
		i = end + 1 // past the colon
		end = skipValue(body, i)
		if string(key) == name {
			found, ok = body[i:end], true
		}
		i = end + 1 // past the comma or the closing brace
	}
	return found, ok
}

// skipValue returns the end of the JSON value that starts at body[i]
// (compact and valid).
func skipValue(body []byte, i int) int {
	depth := 0
	for j := i; j < len(body); j++ {
		switch body[j] {
		case '"':
			for j++; j < len(body) && body[j] != '"'; j++ {
				if body[j] == '\\' {
					j++
				}
			}
			if depth == 0 {
				return j + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return j // a scalar's end: its container closes
			}
			if depth--; depth == 0 {
				return j + 1
			}
		case ',':
			if depth == 0 {
				return j
			}
		}
	}
	return len(body)
}

type tensor struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
	Data  []any  `json:"data"`
}

func tensorRows(body []byte, field string) string {
	var m map[string]json.RawMessage
	var ts []tensor
	if decode(body, &m) != nil || decode(m[field], &ts) != nil || len(ts) == 0 {
		return "[]"
	}
	var rows []any
	switch {
	case len(ts) == 1 && len(ts[0].Shape) == 2 && ts[0].Shape[1] > 0:
		k := ts[0].Shape[1]
		for i := 0; i+k <= len(ts[0].Data); i += k {
			rows = append(rows, ts[0].Data[i:i+k])
		}
	case len(ts) == 1:
		rows = ts[0].Data
	default:
		n := len(ts[0].Data)
		for i := 0; i < n; i++ {
			row := map[string]any{}
			for _, t := range ts {
				if i < len(t.Data) {
					row[t.Name] = t.Data[i]
				}
			}
			rows = append(rows, row)
		}
	}
	if rows == nil {
		rows = []any{}
	}
	out, _ := json.Marshal(rows)
	return string(out)
}
