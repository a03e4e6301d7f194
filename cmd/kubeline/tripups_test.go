package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSmallTripUps are #26.14's: each message says what is wrong in the
// user's terms.
func TestSmallTripUps(t *testing.T) {
	home := t.TempDir()
	t.Setenv("KUBELINE_HOME", home)
	t.Setenv("KUBELINE_TOKEN", "")
	env := []string{"KUBELINE_HOME=" + home, "KUBELINE_CONFIG=", "KUBELINE_TOKEN="}

	// A path that does not exist is named as such (it said "digest /nope: stat ...").
	r := kubelineIn(t, t.TempDir(), env, "datasets", "create", "e", "--from", "/nope")
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "kubeline datasets create: /nope does not exist\n", r.stderr)

	// An unknown lineage kind is named (it printed only the usage).
	r = kubelineIn(t, t.TempDir(), env, "lineage", "mdl", "m@v1")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, `unknown kind "mdl": want model, dataset, code or featureset`)

	// A pool's nodes print as NODE=GPUS, not raw JSON.
	var gpus gpuFlag
	require.NoError(t, gpus.Set("a100:gpu-1=8,gpu-2=4"))
	u, _, _ := startServer(t, accessFlags{gpus: gpus})
	r = kubelineIn(t, t.TempDir(), env, "pools", "create", "train", "--nodes", "gpu-1=2,gpu-2=4", "--server", u)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `(?m)^nodes:\s+gpu-1=2,gpu-2=4$`, r.stdout)
	assert.NotContains(t, r.stdout, "{")
	r = kubelineIn(t, t.TempDir(), env, "pools", "get", "train", "--server", u)
	assert.Regexp(t, `(?m)^nodes:\s+gpu-1=2,gpu-2=4$`, r.stdout)
}
