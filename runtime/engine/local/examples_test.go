package local_test

import (
	"path/filepath"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// TestExamplesRun runs every pipeline under examples/ end to end on the
// embedded engine, as the README's first command does.
func TestExamplesRun(t *testing.T) {
	files, err := filepath.Glob("../../../examples/*/pipeline.yaml")
	if err != nil || len(files) < 3 {
		t.Fatalf("found %d examples (%v)", len(files), err)
	}
	for _, f := range files {
		t.Run(filepath.Base(filepath.Dir(f)), func(t *testing.T) {
			wf, logs := runFile(t, f, nil)
			if wf.Status.Phase != wfv1.WorkflowSucceeded {
				t.Fatalf("phase %s\n%s\n%s", wf.Status.Phase, summary(wf), logs)
			}
			if wf.Status.Outputs == nil || len(wf.Status.Outputs.Parameters) == 0 {
				t.Fatalf("example produced no pipeline output\n%s", summary(wf))
			}
			t.Logf("%s = %s", wf.Status.Outputs.Parameters[0].Name, wf.Status.Outputs.Parameters[0].Value)
		})
	}
}
