package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubeline/kubeline/runtime/lineage"
)

// gitRepo makes a git repository (with go-git) whose commits write
// train.sh with each body in turn; it returns the repository and the
// commits' hashes.
func gitRepo(t *testing.T, bodies ...string) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, false)
	require.NoError(t, err)
	wt, err := repo.Worktree()
	require.NoError(t, err)
	var hashes []string
	for i, body := range bodies {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "train.sh"), []byte(body), 0o644))
		_, err := wt.Add("train.sh")
		require.NoError(t, err)
		h, err := wt.Commit("training script, take "+string(rune('1'+i)), &git.CommitOptions{
			Author: &object.Signature{Name: "Ann", Email: "ann@example.com", When: time.Unix(1700000000+int64(i)*60, 0)}})
		require.NoError(t, err)
		hashes = append(hashes, h.String())
	}
	return dir, hashes
}

// The training scripts of the two commits: the model says which one ran.
const (
	trainV1 = `awk -F, -v lr="$2" 'NR > 1 { s += $1 * lr } END { printf "script v1 weights %.3f\n", s }' "$1"` + "\n"
	trainV2 = `awk -F, -v lr="$2" 'NR > 1 { s += $2 * lr } END { printf "script v2 weights %.3f\n", s }' "$1"` + "\n"
)

// TestCodeFeatureSetsLineage is issue 20's acceptance 1 on the embedded
// engine through the CLI: a git repository made here with two commits →
// code app@v1, @v2; a dataset → a preprocessing run makes featureset
// customers@v1 (a bad one fails naming the column and makes none) → a
// training run using code@v2 (its script runs from $KUBELINE_CODE_DIR)
// and featureset@v1 makes model m@v1, whose lineage names exactly code@v2
// with its commit, featureset@v1, dataset@v1 and the run's parameters.
func TestCodeFeatureSetsLineage(t *testing.T) {
	home, cwd := t.TempDir(), t.TempDir()
	env := []string{"KUBELINE_HOME=" + home}
	repo, commits := gitRepo(t, trainV1, trainV2)
	tdata := absPath(t, "testdata/codefeatures")
	steps := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"code", "create", "app", "--from", repo, "--ref", "HEAD~1"}, 0, "code app@v1 created (commit " + commits[0][:12] + " by Ann <ann@example.com>: training script, take 1)"},
		{[]string{"code", "create", "app", "--from", repo}, 0, "code app@v2 created (commit " + commits[1][:12]},
		{[]string{"code", "create", "app", "--from", "file://" + repo, "--ref", commits[1]}, 0, "code app: same commit as v2, no new version"},
		{[]string{"code", "create", "app", "--from", repo, "--ref", "nope"}, 1, `ref "nope"`},
		{[]string{"datasets", "create", "raw", "--from", filepath.Join(tdata, "raw.csv")}, 0, "dataset raw@v1 created"},
		{[]string{"run", filepath.Join(tdata, "preprocess.yaml")}, 1, "featureset customers: no such featureset is declared"},
		{[]string{"featuresets", "create", "-f", filepath.Join(tdata, "featureset.yaml")}, 0, "featureset customers declared: 3 features"},
		{[]string{"run", filepath.Join(tdata, "preprocess.yaml"), "--param", "bad=true"}, 1,
			`featureset customers: output extract.features: the data does not match the declared features: column "age": declared int, line 3 has "unknown"`},
		{[]string{"run", filepath.Join(tdata, "preprocess.yaml")}, 0, "new version featureset customers@v1"},
		{[]string{"run", filepath.Join(tdata, "train.yaml"), "--param", "code=code://app@v2", "--param", "features=featureset://customers@v1", "--param", "lr=0.5"}, 0,
			"new version model m@v1"},
		{[]string{"run", filepath.Join(tdata, "train.yaml"), "--param", "code=code://app@v9"}, 1, "parameter code: code app@v9: not found"},
	}
	for _, s := range steps {
		r := kubelineIn(t, cwd, env, s.args...)
		require.Equal(t, s.code, r.code, "kubeline %q\n%s%s", s.args, r.stdout, r.stderr)
		require.Contains(t, r.stdout+r.stderr, s.want, "kubeline %q", s.args)
	}
	// The failed preprocessing made no version, and its run is recorded failed.
	r := kubelineIn(t, cwd, env, "featuresets", "versions", "customers", "-o", "json")
	require.Equal(t, 0, r.code, r.stderr)
	var vs struct {
		Versions []struct {
			Version  int            `json:"version"`
			Metadata map[string]any `json:"metadata"`
		} `json:"versions"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &vs))
	require.Len(t, vs.Versions, 1)
	assert.Equal(t, []any{"dataset://raw@v1"}, vs.Versions[0].Metadata["kubeline.io/extracted-from"])
	assert.Equal(t, []any{"age:int", "income:float", "label:int"}, vs.Versions[0].Metadata["kubeline.io/features"])

	// The model came from app@v2's script: income (not age) times lr.
	r = kubelineIn(t, cwd, env, "models", "versions", "m", "-o", "json")
	require.Equal(t, 0, r.code, r.stderr)
	var mv struct {
		Versions []struct {
			URI string `json:"uri"`
		} `json:"versions"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &mv))
	require.Len(t, mv.Versions, 1)
	model, err := os.ReadFile(strings.TrimPrefix(mv.Versions[0].URI, "file://"))
	require.NoError(t, err)
	assert.Equal(t, "script v2 weights 75.875\n", string(model), "(52.5+38+61.25)*0.5")

	r = kubelineIn(t, cwd, env, "lineage", "model", "m@v1", "-o", "json")
	require.Equal(t, 0, r.code, r.stderr)
	var g lineage.Graph
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &g))
	var versions []string
	for _, n := range g.Nodes {
		if lineage.IsVersion(n.Kind) {
			versions = append(versions, n.ID)
		}
	}
	slices.Sort(versions)
	assert.Equal(t, []string{"code:app@v2", "dataset:raw@v1", "featureset:customers@v1", "model:m@v1"}, versions)
	code, _ := g.Node("code:app@v2")
	assert.Equal(t, commits[1], code.Commit)
	assert.Contains(t, code.Label, "commit "+commits[1][:12])
	var train *lineage.Node
	for _, n := range g.Of(lineage.KindTask) {
		if n.Label == "train" {
			train = &n
		}
	}
	require.NotNil(t, train, "no train task upstream of m@v1")
	assert.Equal(t, "0.5", train.Params["lr"])
	runs := g.Runs()
	require.Len(t, runs, 2, "the training run and the preprocessing run")
	for _, run := range runs {
		if strings.Contains(run.Label, "train.yaml") {
			assert.Equal(t, "0.5", run.Params["lr"])
			assert.Contains(t, run.Params["code"], "kubeline/versions/codes/app/", "the run's code argument")
		}
	}
	assert.Contains(t, edges(g), "code:app@v2 -> task:", "code@v2 feeds the train task")

	// Upstream text tree: the train task uses code app@v2 with its commit.
	r = kubelineIn(t, cwd, env, "lineage", "model", "m@v1")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "uses code app@v2 (commit "+commits[1][:12]+")")
	assert.Contains(t, r.stdout, "input artifact imported from featureset customers@v1")

	// A featureset's lineage reaches its dataset; usage of each kind.
	r = kubelineIn(t, cwd, env, "lineage", "featureset", "customers@v1", "-o", "json")
	require.Equal(t, 0, r.code, r.stderr)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &g))
	_, ok := g.Node("dataset:raw@v1")
	assert.True(t, ok, "featureset lineage without its dataset: %s", r.stdout)
	for _, c := range []struct{ kind, ref, want string }{
		{"code", "app@v2", `train\s+used\s+SUCCEEDED`}, {"featuresets", "customers@v1", `extract\s+produced`}, {"featuresets", "customers@v1", `importer\s+used`},
	} {
		r = kubelineIn(t, cwd, env, c.kind, "usage", c.ref)
		require.Equal(t, 0, r.code, r.stderr)
		assert.Regexp(t, c.want, r.stdout, "%s usage %s", c.kind, c.ref)
	}
	r = kubelineIn(t, cwd, env, "code", "usage", "app@v1")
	assert.NotContains(t, r.stdout, "used", "app@v1 was never used")
}

func edges(g lineage.Graph) string {
	var out []string
	for _, e := range g.Edges {
		out = append(out, e.From+" -> "+e.To)
	}
	return strings.Join(out, "\n")
}

// TestCodeOfTheStoreItself: a directory holding the artifact store (here
// $KUBELINE_HOME) is refused, not copied into itself without end.
func TestCodeOfTheStoreItself(t *testing.T) {
	home := t.TempDir()
	r := kubelineIn(t, t.TempDir(), []string{"KUBELINE_HOME=" + home}, "code", "create", "app", "--from", home)
	assert.Equal(t, 1, r.code, r.stdout)
	assert.Contains(t, r.stderr, "holds the artifact store")
}
