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
	return listRows(request, "instances"), listRows(response, "predictions")
}

func decode(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

func listRows(body []byte, field string) string {
	var m map[string]json.RawMessage // no numbers decoded: Unmarshal, not decode
	if json.Unmarshal(body, &m) != nil {
		return "[]"
	}
	raw, ok := m[field]
	if !ok && field == "instances" {
		raw, ok = m["inputs"] // V1 also allows "inputs"
	}
	// The rows as sent (the decoder checked them): kept, not re-encoded.
	raw = bytes.TrimSpace(raw)
	if !ok || len(raw) == 0 || raw[0] != '[' {
		return "[]"
	}
	var compact bytes.Buffer
	if json.Compact(&compact, raw) != nil {
		return "[]"
	}
	return compact.String()
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
