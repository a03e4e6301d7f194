package apiserver_test

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeline/kubeline/runtime/store"
)

// listedRuns is the first page of the runs list by run id.
func listedRuns(t *testing.T, base string) map[string]any {
	t.Helper()
	r := call(t, "GET", base+"/runs?page_size=50", nil)
	if r.code != 200 {
		t.Fatalf("list runs: %d %s", r.code, r.raw)
	}
	out := map[string]any{}
	for _, run := range r.body["runs"].([]any) {
		out[run.(map[string]any)["run_id"].(string)] = run
	}
	return out
}

// listAgrees fails unless each run's entry in the list is its GET, as
// both are rendered within a few seconds (a running run moves on).
func listAgrees(t *testing.T, base string, ids ...string) {
	t.Helper()
	diff := ""
	for try := 0; try < 50; try++ {
		diff = ""
		got := map[string]any{}
		for _, id := range ids {
			got[id] = call(t, "GET", base+"/runs/"+id, nil).body
		}
		listed := listedRuns(t, base)
		for _, id := range ids {
			diff += cmp.Diff(got[id], listed[id])
		}
		if diff == "" {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("list vs GET of runs %v (-GET +list):\n%s", ids, diff)
}

// TestListFromKeptListings: the runs list shows each run as GET does —
// finished ones from the listing kept when they ended (task details and
// inline spec rendered once, no workflow or spec decoded per page), ones
// that ended before listings were kept once KeepListings (or a list) kept
// theirs, a retried one from its new workflow, not the listing of its
// first attempt.
func TestListFromKeptListings(t *testing.T) {
	k := startKubeline(t, serverOptions{})
	base, ctx := k.kfp(), context.Background()
	p := upload(t, base, "../../examples/hello-params/pipeline.yaml", "name=hello")
	ok := call(t, "POST", base+"/runs", map[string]any{"display_name": "ok",
		"pipeline_version_reference": map[string]any{"pipeline_id": p.body["pipeline_id"]}})
	specData, err := os.ReadFile("../engine/local/testdata/exit.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var failing map[string]any
	if err := yamlToJSON(specData, &failing); err != nil {
		t.Fatal(err)
	}
	bad := call(t, "POST", base+"/runs", map[string]any{"display_name": "bad", "pipeline_spec": failing})
	if ok.code != 200 || bad.code != 200 {
		t.Fatalf("create runs: %s %s", ok.raw, bad.raw)
	}
	ids := []string{ok.body["run_id"].(string), bad.body["run_id"].(string)}
	for _, id := range ids {
		waitRun(t, base, id)
	}
	// observe kept both listings when the runs ended.
	missing := func() []string {
		t.Helper()
		ids, err := k.st.EndedRunsWithoutListing(ctx, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if m := missing(); len(m) != 0 {
		t.Fatalf("ended runs without a kept listing: %v", m)
	}
	listAgrees(t, base, ids...)
	// The list shows what is kept, not what the workflow says.
	marker := `[{"task_id":"kept"}]`
	if err := k.st.SetRunListings(ctx, map[string]store.RunListing{ids[0]: {Tasks: marker}}); err != nil {
		t.Fatal(err)
	}
	tasks := listedRuns(t, base)[ids[0]].(map[string]any)["run_details"].(map[string]any)["task_details"]
	if diff := cmp.Diff([]any{map[string]any{"task_id": "kept"}}, tasks); diff != "" {
		t.Fatalf("task details listed (-kept +listed):\n%s", diff)
	}
	// A new workflow of an ended run (as a store written before listings
	// were kept) drops them; KeepListings keeps them again.
	for _, id := range ids {
		runs, err := k.st.RunsByID(ctx, []string{id})
		if err != nil || len(runs) != 1 {
			t.Fatalf("run %s: %v", id, err)
		}
		r := runs[0]
		if err := k.st.UpdateRun(ctx, id, r.State, r.Error, r.Workflow+"\n", r.FinishedAt); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(slices.Sorted(slices.Values(ids)), missing()); diff != "" {
		t.Fatalf("runs without a listing after their workflow changed (-want +got):\n%s", diff)
	}
	if err := k.api.KeepListings(ctx); err != nil {
		t.Fatal(err)
	}
	if m := missing(); len(m) != 0 {
		t.Fatalf("after KeepListings, runs without a listing: %v", m)
	}
	listAgrees(t, base, ids...)

	// A canceled run retried: while it runs again the list shows its new
	// workflow's tasks, not the listing kept when it was canceled.
	nap := map[string]any{}
	if err := yamlToJSON([]byte(`components:
  comp-nap: {executorLabel: exec-nap}
deploymentSpec:
  executors:
    exec-nap:
      container: {image: alpine, command: [sh, -c, 'sleep 30']}
pipelineInfo: {name: nap}
root:
  dag:
    tasks:
      nap: {componentRef: {name: comp-nap}, taskInfo: {name: nap}}
schemaVersion: 2.1.0
`), &nap); err != nil {
		t.Fatal(err)
	}
	id := call(t, "POST", base+"/runs", map[string]any{"display_name": "nap", "pipeline_spec": nap}).body["run_id"].(string)
	waitState(t, base, id, "RUNNING")
	call(t, "POST", base+"/runs/"+id+":terminate", nil)
	if run := waitRun(t, base, id); run["state"] != "CANCELED" {
		t.Fatalf("terminated run is %v", run["state"])
	}
	listAgrees(t, base, id)
	if r := call(t, "POST", base+"/runs/"+id+":retry", nil); r.code != 200 {
		t.Fatalf("retry: %d %s", r.code, r.raw)
	}
	waitState(t, base, id, "RUNNING")
	listAgrees(t, base, append(ids, id)...)
	call(t, "POST", base+"/runs/"+id+":terminate", nil)
	waitRun(t, base, id)
	listAgrees(t, base, append(ids, id)...)
}

// waitState polls a run until its state is want.
func waitState(t *testing.T, base, id, want string) {
	t.Helper()
	for i := 0; i < 300; i++ {
		if call(t, "GET", base+"/runs/"+id, nil).body["state"] == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("run %s never %s", id, want)
}
