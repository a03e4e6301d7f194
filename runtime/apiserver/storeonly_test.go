package apiserver_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/kubeline/kubeline/runtime/apiserver"
)

// TestStoreOnly: a store-only server (the CLI's local API) answers what
// its store holds and refuses, with its reason, what would start a run or
// needs a deployment's process; nothing is stored by a refused request.
func TestStoreOnly(t *testing.T) {
	const reason = "the local store runs nothing: use kubeline run"
	k := startKubeline(t, serverOptions{with: func(s *apiserver.Server, _ context.Context) { s.StoreOnly(reason) }})
	spec := gpuSpec(t, 0, "0")
	refused := []struct{ method, path string }{
		{"POST", k.kfp() + "/runs"},
		{"POST", k.kfp() + "/recurringruns"},
		{"POST", k.kl() + "/runs/x:start_anyway"},
		{"GET", k.kl() + "/deployments"},
		{"POST", k.kl() + "/deployments"},
		{"POST", "/v1/models/m:predict"},
	}
	for _, c := range refused {
		u := c.path
		if u[0] == '/' {
			u = k.root + u
		}
		r := do(t, c.method, u, "", map[string]any{"display_name": "r", "pipeline_spec": spec,
			"trigger": map[string]any{"periodic_schedule": map[string]any{"interval_second": "60"}}})
		assert.Equal(t, 409, r.code, "%s %s: %s", c.method, c.path, r.raw)
		assert.Equal(t, reason, r.body["message"], "%s %s", c.method, c.path)
	}
	r := do(t, "GET", k.kfp()+"/runs", "", nil)
	assert.Equal(t, 200, r.code, r.raw)
	assert.Empty(t, r.body["runs"], "a refused run was stored")
	r = do(t, "GET", k.kfp()+"/recurringruns", "", nil)
	assert.Empty(t, r.body["recurringRuns"], "a refused recurring run was stored")
	assert.Empty(t, r.body["recurring_runs"], "a refused recurring run was stored")

	up := uploadVersion(t, k.root, "dataset", "d", "rows\n")
	assert.Equal(t, 200, up.code, up.raw)
	r = do(t, "GET", k.kl()+"/datasets", "", nil)
	assert.Equal(t, 200, r.code, r.raw)
	assert.Len(t, r.body["datasets"], 1)
}
