package apiserver_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubeline/kubeline/runtime/apiserver"
	"github.com/kubeline/kubeline/runtime/store"
)

// checkKubeconfig stands in for cmd/kubeline's check (argo.Config, which
// reads the kubeconfig and its context; tested there): the kubeconfig must
// be a file, and context "missing" does not exist.
var checkKubeconfig apiserver.ClusterCheck = func(kubeconfig, context, _ string) error {
	if kubeconfig != "" {
		if _, err := os.Stat(kubeconfig); err != nil {
			return err
		}
	}
	if context == "missing" {
		return fmt.Errorf("context %q does not exist", context)
	}
	return nil
}

// TestClustersAPI: operators register clusters for a group; its members
// see them, other groups' members find them missing (404, as for a name
// never registered) and not listed; only operators add and remove; a
// relative kubeconfig path, a failing check and a taken name are refused.
func TestClustersAPI(t *testing.T) {
	k := newKubeline(t, true, nil)
	ctx := context.Background()
	for _, g := range []string{"team", "other"} {
		require.NoError(t, k.st.CreateGroup(ctx, &store.Group{Name: g, Pool: "default"}))
	}
	op := k.user(t, "op", []string{"operator"}, []string{"team"})
	member := k.user(t, "ds", []string{"data-scientist"}, []string{"team"})
	outsider := k.user(t, "out", []string{"data-scientist", "ml-engineer", "production-engineer"}, []string{"other"})
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(kc, []byte("apiVersion: v1\nkind: Config\n"), 0o600))

	r := do(t, "POST", k.kl()+"/clusters", op, map[string]any{"name": "gpu", "kubeconfig": kc, "namespace": "ns", "group": "team"})
	require.Equal(t, 200, r.code, r.raw)
	assert.Equal(t, "team", r.body["group"])
	assert.Equal(t, "op", r.body["owner"])

	r = do(t, "GET", k.kl()+"/clusters", member, nil)
	require.Equal(t, 200, r.code, r.raw)
	assert.Len(t, r.body["clusters"], 1)
	r = do(t, "GET", k.kl()+"/clusters/gpu", member, nil)
	assert.Equal(t, 200, r.code, r.raw)
	assert.Equal(t, "ns", r.body["namespace"])

	r = do(t, "GET", k.kl()+"/clusters", outsider, nil)
	require.Equal(t, 200, r.code, r.raw)
	assert.Empty(t, r.body["clusters"])
	got, missing := do(t, "GET", k.kl()+"/clusters/gpu", outsider, nil), do(t, "GET", k.kl()+"/clusters/nope", outsider, nil)
	assert.Equal(t, 404, got.code, got.raw)
	assert.Equal(t, missing.raw, strings.ReplaceAll(got.raw, "gpu", "nope"), "a hidden cluster answers as a missing one")

	refusals := []struct {
		token string
		body  map[string]any
		code  int
		want  string
	}{
		{member, map[string]any{"name": "mine", "kubeconfig": kc}, 403, "operate"},
		{op, map[string]any{"name": "rel", "kubeconfig": "kubeconfig"}, 400, "give an absolute path"},
		{op, map[string]any{"name": "ctx", "kubeconfig": kc, "context": "missing"}, 400, `cluster ctx: context "missing" does not exist`},
		{op, map[string]any{"name": "gone", "kubeconfig": kc + ".nope"}, 400, "no such file"},
		{op, map[string]any{"name": "gpu", "kubeconfig": kc}, 409, "already exists"},
		{op, map[string]any{"name": "a/b", "kubeconfig": kc}, 400, "cluster.name"},
	}
	for _, c := range refusals {
		r := do(t, "POST", k.kl()+"/clusters", c.token, c.body)
		assert.Equal(t, c.code, r.code, "%v: %s", c.body, r.raw)
		msg, _ := r.body["message"].(string)
		assert.Contains(t, msg, c.want, "%v", c.body)
	}
	r = do(t, "DELETE", k.kl()+"/clusters/gpu", member, nil)
	assert.Equal(t, 403, r.code, r.raw)
	r = do(t, "DELETE", k.kl()+"/clusters/gpu", op, nil)
	assert.Equal(t, 200, r.code, r.raw)
	r = do(t, "GET", k.kl()+"/clusters/gpu", member, nil)
	assert.Equal(t, 404, r.code, r.raw)
	cs, err := k.st.ListClusters(ctx)
	require.NoError(t, err)
	assert.Empty(t, cs, "only the removed cluster was ever stored")
}
