package compiler

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/validate"
)

const corpus = "../../shared/kfp-corpus"

// corpusFiles lists the valid corpus pipelines.
func corpusFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, dir := range []string{"ir/valid", "ir/argo_compatibility"} {
		err := filepath.WalkDir(filepath.Join(corpus, dir), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			t.Fatalf("read corpus: %v", err)
		}
	}
	if len(files) < 150 {
		t.Fatalf("found %d corpus files under %s, want 150+", len(files), corpus)
	}
	return files
}

// expectedFailures are corpus files kubeline rejects on purpose, with the
// reason the error must carry.
var expectedFailures = map[string]string{
	"ir/valid/pipeline_with_parallelfor_list_artifacts_GH-12033.yaml": "ParallelFor over artifacts is not supported",
}

func lint(wf *wfv1.Workflow) error {
	return validate.ValidateWorkflow(nil, nil, wf, nil, validate.ValidateOpts{Lint: true})
}

func TestCompileCorpus(t *testing.T) {
	for _, f := range corpusFiles(t) {
		rel := strings.TrimPrefix(f, corpus+"/")
		t.Run(rel, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			wf, err := Compile(filepath.Base(f), data, Options{})
			if want, ok := expectedFailures[rel]; ok && want != "" {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("want error containing %q, got %v", want, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			if err := lint(wf); err != nil {
				out, _ := Marshal(wf)
				t.Fatalf("argo lint: %v\n%s", err, out)
			}
		})
	}
}
