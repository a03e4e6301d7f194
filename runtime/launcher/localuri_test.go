package launcher

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLocalURIsStoredAsStoreURIs: with LocalURIs (the embedded engine) the
// step sees its output artifact's local path as the URI, but what is stored
// (metadata.json and the descriptor) names the artifact where it is stored,
// as a pod's launcher writes it; an importer keeps the URI it imported.
func TestLocalURIsStoredAsStoreURIs(t *testing.T) {
	o, log := opts(t, artComp, nil, "sh", "-c", `cp "$0" "$1"; echo "$2" > "$1.uri"`,
		"{{$.inputs.artifacts['src'].path}}", "{{$.outputs.artifacts['dst'].path}}", "{{$.outputs.artifacts['dst'].uri}}")
	o.LocalURIs = true
	src := filepath.Join(o.InputsDir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "data"), []byte("hello"), 0o644)
	if err := Run(context.Background(), o); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	seen, _ := os.ReadFile(filepath.Join(o.OutputsDir, "dst", "data.uri"))
	if got, want := strings.TrimSpace(string(seen)), filepath.Join(o.OutputsDir, "dst", "data"); got != want {
		t.Errorf("the step saw uri %q, want its local path %q", got, want)
	}
	wantURI := o.ArtifactRoot + "/kubeline/wf-1/wf-1-t-123/dst/data"
	for _, f := range []string{"dst/metadata.json", "dst.artifact"} {
		var md artifact
		if err := json.Unmarshal([]byte(readOut(t, o, f)), &md); err != nil {
			t.Fatal(err)
		}
		if md.URI != wantURI {
			t.Errorf("%s stores uri %q, want %q", f, md.URI, wantURI)
		}
	}

	imp, _ := opts(t, `{"outputDefinitions":{"artifacts":{"artifact":{"artifactType":{"schemaTitle":"system.Dataset"}}}}}`, nil)
	imp.LocalURIs = true
	if err := RunImporter(Importer{URI: "gs://bucket/rows"}, imp); err != nil {
		t.Fatal(err)
	}
	if md := readOut(t, imp, "artifact/metadata.json"); !strings.Contains(md, `"uri":"gs://bucket/rows"`) {
		t.Errorf("the importer's artifact: %s", md)
	}
}

// TestReportedURIRelativeToOutputs: an executor that reports an output
// artifact at a path of its own inside the step's outputs directory (the
// KFP SDK's pythonic artifacts: OUTPUTS/.kfp/NAME) has it recorded relative
// to that directory, the same in a pod (/kubeline/out) as on the embedded
// engine (a directory of the run); a URI elsewhere is recorded as reported.
func TestReportedURIRelativeToOutputs(t *testing.T) {
	for _, c := range []struct{ reported, want string }{
		{"OUT/.kfp/dataset", ".kfp/dataset"},
		{"gs://bucket/elsewhere", "gs://bucket/elsewhere"},
		{"/elsewhere/dataset", "/elsewhere/dataset"},
	} {
		script := `python3 -c '
import json, sys
ei = json.loads(sys.argv[1])
uri = sys.argv[2].replace("OUT", ei["outputs"]["outputFile"].rsplit("/", 2)[0])
out = {"artifacts": {"dst": {"artifacts": [{"name": "dst", "uri": uri}]}}}
open(ei["outputs"]["outputFile"], "w").write(json.dumps(out))
' "$0" "$1"`
		o, log := opts(t, `{"outputDefinitions":{"artifacts":{"dst":{"artifactType":{"schemaTitle":"system.Dataset"}}}}}`, nil,
			"sh", "-c", script, "{{$}}", c.reported)
		if err := Run(context.Background(), o); err != nil {
			t.Fatalf("%v\n%s", err, log)
		}
		var md artifact
		if err := json.Unmarshal([]byte(readOut(t, o, "dst/metadata.json")), &md); err != nil {
			t.Fatal(err)
		}
		if got := md.Metadata["kubeline.io/reported-uri"]; got != c.want {
			t.Errorf("reported %s: recorded %v, want %q", c.reported, got, c.want)
		}
	}
}
