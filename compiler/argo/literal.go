package argo

import (
	"encoding/base64"
	"strings"
)

// LiteralPrefix marks a parameter value that holds "{{": Argo — and the
// embedded engine, which substitutes as Argo does — would expand it as a
// template ({{workflow.name}}, {{=toJson(workflow)}}) where the value is
// substituted into a step. Such a value travels base64-encoded behind the
// prefix and kubeline's launcher decodes it (runtime/launcher), so a run's
// parameters reach its steps as the data they are, on both engines.
const LiteralPrefix = "kubeline-literal:"

// Literal is v as a workflow parameter value: itself, or encoded when it
// holds "{{" or starts with LiteralPrefix (so that decoding gives back
// exactly what the user gave).
func Literal(v string) string {
	if !strings.Contains(v, "{{") && !strings.HasPrefix(v, LiteralPrefix) {
		return v
	}
	return LiteralPrefix + base64.RawURLEncoding.EncodeToString([]byte(v))
}
