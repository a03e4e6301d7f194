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
// re-encoded as json.Marshal would.
func appendPayload(buf *bytes.Buffer, p serving.Prediction) {
	buf.WriteString(`{"at":`)
	at, _ := p.At.MarshalJSON()
	buf.Write(at)
	buf.WriteString(`,"model":`)
	model, _ := json.Marshal(p.Model)
	buf.Write(model)
	buf.WriteString(`,"status":`)
	buf.WriteString(strconv.Itoa(p.Status))
	buf.WriteString(`,"request":`)
	appendBody(buf, p.Request)
	buf.WriteString(`,"response":`)
	appendBody(buf, p.Response)
	if p.Truncated {
		buf.WriteString(`,"truncated":true`)
	}
	buf.WriteString("}\n")
}

// appendBody writes a body that is JSON compacted (json.Compact leaves
// buf as it was when it is not), else as a JSON string.
func appendBody(buf *bytes.Buffer, b []byte) {
	if len(b) > 0 && json.Compact(buf, b) == nil {
		return
	}
	s, _ := json.Marshal(string(b))
	buf.Write(s)
}
