package compiler

import (
	"os"
	"path/filepath"
	"testing"
)

// TestExamples compiles and validates every pipeline under examples/: the
// examples are part of the product and must keep working.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob("../examples/*/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("found %d examples, want at least 3", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(filepath.Dir(f)), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(f), "README.md")); err != nil {
				t.Errorf("example has no README.md: %v", err)
			}
			wf, err := Compile(filepath.Base(f), data, Options{})
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			if err := lint(wf); err != nil {
				t.Fatalf("argo lint: %v", err)
			}
		})
	}
}
