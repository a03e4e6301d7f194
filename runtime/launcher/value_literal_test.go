package launcher

import (
	"encoding/base64"
	"testing"

	"github.com/kubeline/kubeline/compiler/argo"
)

// TestLiteral: values holding "{{" — and values that already look encoded,
// so that decoding cannot change what the user gave — are encoded (by the
// compiler for run parameters, by the launcher for step outputs, alike) and
// decoded back whole; others pass untouched.
func TestLiteral(t *testing.T) {
	looksEncoded := "kubeline-literal:" + base64.RawURLEncoding.EncodeToString([]byte("{{workflow.name}}"))
	for _, v := range []string{"{{workflow.name}}", "{{=toJson(workflow)}}", "a {{b}} c\n", "{{$.pipeline_job_name}}",
		looksEncoded, "kubeline-literal:%%%", "kubeline-literal:"} {
		for _, enc := range []string{argo.Literal(v), Literal(v)} {
			if enc == v || DecodeLiteral(enc) != v {
				t.Errorf("%q: encoded %q, decoded %q", v, enc, DecodeLiteral(enc))
			}
		}
	}
	for _, v := range []string{"", "plain", "{ {x} }", "x kubeline-liter:aGk"} {
		if Literal(v) != v || argo.Literal(v) != v || DecodeLiteral(v) != v {
			t.Errorf("%q changed: %q %q %q", v, Literal(v), argo.Literal(v), DecodeLiteral(v))
		}
	}
}
