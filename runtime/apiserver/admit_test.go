package apiserver

import (
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/runtime/store"
)

// TestStatuses: the seed's run statuses, the KFP state each maps to, and
// how workflow phases move a run between them.
func TestStatuses(t *testing.T) {
	cases := []struct {
		current string
		phase   wfv1.WorkflowPhase
		message string
		want    string
		kfp     string
	}{
		{store.StatusStarting, wfv1.WorkflowPending, "", store.StatusStarting, "PENDING"},
		{store.StatusStarting, wfv1.WorkflowRunning, "", store.StatusRunning, "RUNNING"},
		{store.StatusRunning, wfv1.WorkflowSucceeded, "", store.StatusComplete, "SUCCEEDED"},
		{store.StatusRunning, wfv1.WorkflowFailed, "step failed", store.StatusError, "FAILED"},
		{store.StatusRunning, wfv1.WorkflowError, "", store.StatusError, "FAILED"},
		{store.StatusStopping, wfv1.WorkflowRunning, "", store.StatusStopping, "CANCELING"},
		{store.StatusStopping, wfv1.WorkflowFailed, "stopped", store.StatusStopped, "CANCELED"},
	}
	for _, c := range cases {
		w := &wfv1.Workflow{Status: wfv1.WorkflowStatus{Phase: c.phase, Message: c.message}}
		got := nextStatus(w, c.current)
		if got != c.want || kfpStates[got] != c.kfp {
			t.Errorf("%s + %s %q: %s (%s), want %s (%s)", c.current, c.phase, c.message, got, kfpStates[got], c.want, c.kfp)
		}
	}
	if kfpStates[store.StatusQueued] != "PENDING" || len(kfpStates) != 7 {
		t.Fatalf("the seed's seven statuses: %v", kfpStates)
	}
	// A run whose end was reported elsewhere shows it; one without an
	// admission record takes its status from its KFP state.
	if s := runStatus(store.Run{State: "FAILED"}, &store.RunAdmission{Status: store.StatusRunning}); s != store.StatusError {
		t.Fatalf("reported end: %s", s)
	}
	if s := runStatus(store.Run{State: "CANCELED"}, nil); s != store.StatusStopped {
		t.Fatalf("no record: %s", s)
	}
}
