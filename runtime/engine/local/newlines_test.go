package local_test

import (
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"
)

// TestOutputsTrimOneNewline: output parameters and a script's result keep
// their content but one trailing newline, as Argo's executor saves them (a
// real pod showed the embedded engine keeping it).
func TestOutputsTrimOneNewline(t *testing.T) {
	wf, logs := runFile(t, "testdata/newlines.yaml", nil)
	if wf.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("phase %s\n%s\n%s", wf.Status.Phase, summary(wf), logs)
	}
	n := nodesByDisplay(wf)
	got := map[string]string{"two": param(t, n["write"], "two"), "one": param(t, n["write"], "one"), "none": param(t, n["write"], "none")}
	if d := cmp.Diff(map[string]string{"two": "  two\n", "one": "one", "none": "none"}, got); d != "" {
		t.Errorf("output parameters (-want +got):\n%s", d)
	}
	if r := n["say"].Outputs; r == nil || r.Result == nil || *r.Result != "  padded\n" {
		t.Errorf("script result %+v, want %q", r, "  padded\n")
	}
}
