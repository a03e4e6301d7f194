package apiserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubeline/kubeline/runtime/lineage"
	"github.com/kubeline/kubeline/runtime/store"
)

// TestLineageBoundOverAPI: a dataset version 30 runs used (20 group a's,
// 10 group b's) is drawn for a member of a as the newest 5 of a's runs and
// one item counting the other 15 — b's runs neither drawn nor counted;
// runs= and depth= widen or narrow the bound, out of range is a 400
// naming the parameter; the usage list takes limit= and task=.
func TestLineageBoundOverAPI(t *testing.T) {
	k := startKubeline(t, serverOptions{multiUser: true})
	makeGroups(t, k, "a", "b")
	mia := k.user(t, "mia", []string{"data-scientist"}, []string{"a"})
	require.Equal(t, 200, uploadVersionAs(t, k, "dataset", "d", "1\n", mia).code)
	ctx := context.Background()
	wf, err := json.Marshal(wfv1.Workflow{Status: wfv1.WorkflowStatus{Phase: wfv1.WorkflowSucceeded, Nodes: wfv1.Nodes{
		"n": {ID: "n", Type: wfv1.NodeTypePod, DisplayName: "train", Phase: wfv1.NodeSucceeded,
			Inputs: &wfv1.Inputs{Parameters: []wfv1.Parameter{{Name: lineage.TaskParam, Value: wfv1.AnyStringPtr("train")}}}}}}})
	require.NoError(t, err)
	for i := range 30 {
		r := &store.Run{DisplayName: fmt.Sprintf("r%02d", i), Namespace: "a", State: "SUCCEEDED", Workflow: string(wf)}
		if i%3 == 2 {
			r.Namespace = "b"
		}
		require.NoError(t, k.st.CreateRun(ctx, r))
		require.NoError(t, k.st.AddLink(ctx, store.VersionLink{Kind: "dataset", Name: "d", Version: 1, RunID: r.ID, Task: "train", Key: "param:n/data"}))
	}
	lin := k.kl() + "/datasets/d/versions/v1/lineage"
	g := do(t, "GET", lin, mia, nil)
	require.Equal(t, 200, g.code, g.raw)
	assert.Equal(t, 5, strings.Count(g.raw, `"kind":"run"`), g.raw)
	assert.Contains(t, g.raw, `"id":"runs:dataset:d@v1/used/train","kind":"runs","label":"15 more runs of task train"`)
	assert.Contains(t, g.raw, `"count":15`)

	g = do(t, "GET", lin+"?runs=25", mia, nil)
	assert.Equal(t, 20, strings.Count(g.raw, `"kind":"run"`), "every run of a drawn: %s", g.raw)
	assert.NotContains(t, g.raw, `"kind":"runs"`)

	svg := do(t, "GET", lin+"?format=svg&runs=2", mia, nil)
	assert.Contains(t, svg.raw, `data-id="runs:dataset:d@v1/used/train"`)
	assert.Contains(t, svg.raw, "18 more runs of task train")
	assert.Contains(t, do(t, "GET", lin+"?format=text", mia, nil).raw, "used by 15 more runs of task train")

	for q, want := range map[string]string{"depth=0": "depth: want 1 to 50", "runs=x": `runs: want 1 to 50, got \"x\"`, "runs=51": "runs: want 1 to 50"} {
		r := do(t, "GET", lin+"?"+q, mia, nil)
		assert.Equal(t, 400, r.code, q)
		assert.Contains(t, r.raw, want, q)
	}

	u := do(t, "GET", k.kl()+"/datasets/d/versions/v1/usage?limit=4", mia, nil)
	require.Equal(t, 200, u.code, u.raw)
	assert.Equal(t, float64(20), u.body["total_size"])
	assert.Len(t, u.body["usages"], 4)
	assert.Equal(t, float64(0), do(t, "GET", k.kl()+"/datasets/d/versions/v1/usage?task=evaluate", mia, nil).body["total_size"])
	assert.Equal(t, 400, do(t, "GET", k.kl()+"/datasets/d/versions/v1/usage?limit=0", mia, nil).code)
}
