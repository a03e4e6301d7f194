package recorder

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/kubeline/kubeline/runtime/serving"
)

// payload is one line of a payload object (what appendPayload writes).
type payload struct {
	At        time.Time       `json:"at"`
	Model     string          `json:"model"`
	Status    int             `json:"status"`
	Request   json.RawMessage `json:"request"`
	Response  json.RawMessage `json:"response"`
	Truncated bool            `json:"truncated,omitempty"`
}

// appendPayload writes p's line of a payload object: the JSON of payload
// (bodies that are JSON kept, compacted onto the line; others as JSON
// strings) and a newline, each body scanned once, not validated and then
// re-encoded as json.Marshal would. It returns where the compacted bodies
// are in buf (0, 0 for a body that is not JSON), for Rows to read them
// without decoding them again.
func appendPayload(buf *bytes.Buffer, p serving.Prediction) (request, response [2]int) {
	// The time and the model are appended in place (time.MarshalJSON
	// and json.Marshal allocated each, for every prediction).
	b := append(buf.AvailableBuffer(), `{"at":"`...)
	b = append(p.At.AppendFormat(b, time.RFC3339Nano), `","model":`...)
	b = appendString(b, p.Model)
	b = strconv.AppendInt(append(b, `,"status":`...), int64(p.Status), 10)
	buf.Write(b)
	buf.WriteString(`,"request":`)
	request = appendBody(buf, p.Request)
	buf.WriteString(`,"response":`)
	response = appendBody(buf, p.Response)
	if p.Truncated {
		buf.WriteString(`,"truncated":true`)
	}
	buf.WriteString("}\n")
	return request, response
}

// appendBody writes a body that is JSON compacted (json.Compact leaves
// buf as it was when it is not), and returns where it is in buf; else
// as a JSON string.
func appendBody(buf *bytes.Buffer, b []byte) [2]int {
	start := buf.Len()
	if len(b) > 0 && json.Compact(buf, b) == nil {
		return [2]int{start, buf.Len()}
	}
	s, _ := json.Marshal(string(b))
	buf.Write(s)
	return [2]int{}
}

// appendString appends s as a JSON string: as it is, quoted, when nothing
// in it needs escaping (a model's NAME@vN), else as json.Marshal writes
// it.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	return append(append(append(b, '"'), s...), '"')
}
