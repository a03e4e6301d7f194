package kfp

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kubeflow/pipelines/api/v2alpha1/go/pipelinespec"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/kubeline/kubeline/compiler/spec"
)

// TestDecodeMatchesProtojson: the strict decoder (with its direct setting
// of string and []string fields) builds, for every corpus pipeline, the
// PipelineSpec and PipelineDeploymentConfig protojson builds from the same
// document as JSON (fields the served proto predates left out, as
// protojson's DiscardUnknown leaves them).
func TestDecodeMatchesProtojson(t *testing.T) {
	var files []string
	for _, dir := range []string{"ir/valid", "ir/argo_compatibility"} {
		filepath.WalkDir(filepath.Join(corpus, dir), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") {
				files = append(files, p)
			}
			return nil
		})
	}
	compared, strs := 0, 0
	for _, f := range files {
		p, err := loadFile(t, f)
		if err != nil {
			continue
		}
		data, _ := os.ReadFile(f)
		docs, err := spec.Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		v, err := spec.Value(docs[0].Node) // YAML 1.2, as the decoder reads it
		if err != nil {
			t.Fatal(err)
		}
		js, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		want := &pipelinespec.PipelineSpec{}
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(js, want); err != nil {
			continue // a form protojson refuses and the decoder takes
		}
		depJSON, err := protojson.Marshal(want.GetDeploymentSpec())
		if err != nil {
			t.Fatal(err)
		}
		wantDep := &pipelinespec.PipelineDeploymentConfig{}
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(depJSON, wantDep); err != nil {
			t.Fatal(err)
		}
		want.DeploymentSpec = nil
		if diff := cmp.Diff(want, p.Spec, protocmp.Transform()); diff != "" {
			t.Fatalf("%s: spec (-protojson +decoder):\n%s", f, diff)
		}
		if diff := cmp.Diff(wantDep, p.Deployment, protocmp.Transform()); diff != "" {
			t.Fatalf("%s: deployment (-protojson +decoder):\n%s", f, diff)
		}
		compared++
		for _, e := range p.Deployment.GetExecutors() {
			strs += len(e.GetContainer().GetArgs()) + len(e.GetContainer().GetCommand())
		}
	}
	if compared < 140 || strs < 1000 {
		t.Fatalf("compared %d files (%d container strings)", compared, strs)
	}
}
