//go:build e2e

package argo

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/coderepo"
	"github.com/kubeline/kubeline/runtime/featureset"
	"github.com/kubeline/kubeline/runtime/lineage"
	"github.com/kubeline/kubeline/runtime/store"
	"github.com/kubeline/kubeline/runtime/versioning"
)

// TestCodeFeatureSetsOnArgo is issue 20's acceptance 2 on the real node.
// Each pipeline of acceptance 1 — preprocess with bad data, preprocess,
// train with code://app@v2 and featureset://customers@v1 — is compiled with
// its version URIs resolved and run on the embedded engine (host
// processes) and in pods on the real node through the real Argo
// controller: the importers read the versions from S3 in their pods, the
// train step's launcher fetches app@v2 from S3 into $KUBELINE_CODE_DIR and
// runs its train.sh there, Argo's executor uploads the outputs. One
// metadata store records both runs; each engine keeps its artifacts in its
// own bucket (a step's key names the workflow and the pod, the same on both
// engines), the versions' content is mirrored into both. The status graphs,
// outputs and artifact contents must be identical, the bad preprocessing
// must fail naming the column on both, the Argo runs must reproduce the
// embedded runs' versions (customers@v1, m@v1), and the model's lineage
// must name exactly code@v2 (its commit), featureset@v1 and dataset@v1
// through either run, the code reaching the Argo run's train task through
// its parameter as Argo recorded it.
func TestCodeFeatureSetsOnArgo(t *testing.T) {
	t.Parallel()
	holdNodeSlot(t)
	c := newRealCluster(t, "codefs")
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "k.db"))
	require.NoError(t, err)
	defer st.Close()
	vl := &versioning.Versioner{Objects: c.localStore, Records: st, TempDir: t.TempDir()}
	va := &versioning.Versioner{Objects: c.argoStore, Records: st, TempDir: t.TempDir()}
	// Versions made on one side get their content into the other's bucket.
	mirror := func() {
		t.Helper()
		mirrorPrefix(t, c.localStore, c.argoStore, "kubeline/versions/")
		mirrorPrefix(t, c.argoStore, c.localStore, "kubeline/versions/")
	}

	// The code's two commits (a repository made here with go-git), the raw
	// dataset and the declared featureset.
	repo, commits := twoCommits(t)
	for _, ref := range []string{"HEAD~1", ""} {
		_, err := va.CreateCode(ctx, "app", coderepo.Source{Location: repo, Ref: ref})
		require.NoError(t, err)
	}
	tdata := "../../../cmd/kubeline/testdata/codefeatures/"
	_, err = va.CreateFrom(ctx, "dataset", "raw", tdata+"raw.csv", nil)
	require.NoError(t, err)
	doc, err := os.ReadFile(tdata + "featureset.yaml")
	require.NoError(t, err)
	spec, err := featureset.Decode(doc)
	require.NoError(t, err)
	require.NoError(t, st.CreateFeatureSet(ctx, &store.FeatureSet{Name: spec.Name, Spec: spec.JSON()}))
	mirror()

	type outcome struct {
		emb, argo       *wfv1.Workflow
		embRec, argoRec *versioning.Recorded
		embErr, argoErr error
		embID, argoID   string
	}
	both := func(name, file string, params map[string]string) outcome {
		t.Helper()
		wf := compileFile(t, file, params, "codefs-"+name)
		onLocal, onArgo := wf.DeepCopy(), wf.DeepCopy()
		require.NoError(t, vl.Resolve(ctx, onLocal))
		require.NoError(t, va.Resolve(ctx, onArgo))
		var o outcome
		o.emb, err = c.runLocal(t.TempDir(), onLocal)
		require.NoError(t, err)
		o.embID, o.embRec, o.embErr = record(t, st, vl, name+" embedded", o.emb)
		mirror()
		o.argo = c.run(t, onArgo, 5*time.Minute)
		o.argoID, o.argoRec, o.argoErr = record(t, st, va, name+" argo", o.argo)
		mirror()
		compareRuns(t, c, o.emb, o.argo)
		return o
	}

	bad := both("bad", tdata+"preprocess.yaml", map[string]string{"bad": "true"})
	for _, err := range []error{bad.embErr, bad.argoErr} {
		require.Error(t, err)
		assert.Contains(t, err.Error(), `featureset customers: output extract.features: the data does not match the declared features: column "age": declared int, line 3 has "unknown"`)
	}
	_, err = st.GetArtifactVersion(ctx, "featureset", "customers", 0)
	require.ErrorIs(t, err, store.ErrNotFound, "a featureset version from bad data")

	prep := both("prep", tdata+"preprocess.yaml", nil)
	require.NoError(t, prep.embErr)
	require.NoError(t, prep.argoErr)
	require.Len(t, prep.embRec.Produced, 1)
	require.Len(t, prep.argoRec.Produced, 1)
	assert.True(t, prep.embRec.Produced[0].Created && !prep.argoRec.Produced[0].Created, "the Argo run reproduces customers@v1")
	assert.Equal(t, 1, prep.argoRec.Produced[0].Version)

	train := both("train", tdata+"train.yaml", map[string]string{"code": "code://app@v2", "features": "featureset://customers@v1", "lr": "0.5"})
	require.NoError(t, train.embErr)
	require.NoError(t, train.argoErr)
	require.Len(t, train.embRec.Produced, 1)
	assert.Equal(t, "model m@v1", fmt.Sprintf("%s %s@v%d", train.embRec.Produced[0].Kind, train.embRec.Produced[0].Name, train.embRec.Produced[0].Version))
	assert.Equal(t, 1, train.argoRec.Produced[0].Version, "the Argo run reproduces m@v1")
	for _, side := range []struct {
		name string
		s    artifact.Store
	}{{"embedded", c.localStore}, {"argo", c.argoStore}} {
		model, err := readTree(ctx, side.s, train.embRec.Produced[0].Key)
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"": "script v2 weights 75.875\n"}, model, "%s: m@v1 is not what app@v2's script from $KUBELINE_CODE_DIR writes", side.name)
	}
	var trained string
	for _, n := range train.argo.Status.Nodes {
		if n.Type == wfv1.NodeTypePod && n.Outputs != nil {
			for _, a := range n.Outputs.Artifacts {
				if a.Name == "model" && a.S3 != nil {
					out, err := readTree(ctx, c.argoStore, a.S3.Key+"/data")
					require.NoError(t, err)
					trained = out[""]
				}
			}
		}
	}
	assert.Equal(t, "script v2 weights 75.875\n", trained, "the train pod's model as Argo's executor uploaded it")
	for _, rec := range []*versioning.Recorded{train.embRec, train.argoRec} {
		var used []string
		for _, u := range rec.Used {
			used = append(used, fmt.Sprintf("%s:%s@v%d", u.Kind, u.Name, u.Version))
		}
		slices.Sort(used)
		assert.Equal(t, []string{"code:app@v2", "featureset:customers@v1"}, used)
	}

	g, err := versioning.Lineage(ctx, st, lineage.Version{Kind: lineage.KindModel, Name: "m", Version: 1}, true)
	require.NoError(t, err)
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
	var runs []string
	for _, r := range g.Runs() {
		runs = append(runs, r.ID)
	}
	for _, id := range []string{train.embID, train.argoID, prep.embID, prep.argoID} {
		assert.Contains(t, runs, "run:"+id)
	}
	codeToArgo := false
	for _, ed := range g.Edges {
		if ed.From == "code:app@v2" && strings.HasPrefix(ed.To, "task:"+train.argoID+"/") {
			task, _ := g.Node(ed.To)
			codeToArgo = task.Label == "train" && task.Params["lr"] == "0.5" && strings.Contains(task.Params["code"], "kubeline/versions/codes/app/")
		}
	}
	assert.True(t, codeToArgo, "code@v2 does not reach the Argo run's train task (lr=0.5)")
}

// mirrorPrefix copies the objects under prefix that to lacks from from.
func mirrorPrefix(t *testing.T, from, to artifact.Store, prefix string) {
	t.Helper()
	ctx := context.Background()
	objs, err := from.List(ctx, prefix)
	require.NoError(t, err)
	for _, o := range objs {
		if _, err := to.Stat(ctx, o.Key); err == nil {
			continue
		}
		rc, _, err := from.Get(ctx, o.Key)
		require.NoError(t, err)
		_, err = to.Put(ctx, o.Key, rc, -1)
		rc.Close()
		require.NoError(t, err)
	}
}

// record records a finished run as kubeline does (recordLocalRun): the run,
// then its versions.
func record(t *testing.T, st *store.Store, v *versioning.Versioner, name string, wf *wfv1.Workflow) (string, *versioning.Recorded, error) {
	t.Helper()
	b, _ := json.Marshal(wf)
	run := &store.Run{DisplayName: name, State: "SUCCEEDED", Workflow: string(b)}
	require.NoError(t, st.CreateRun(context.Background(), run))
	require.NoError(t, st.UpdateRun(context.Background(), run.ID, run.State, "", run.Workflow, time.Now()))
	rec, err := v.Record(context.Background(), run.ID, wf, nil)
	return run.ID, rec, err
}

// twoCommits makes a git repository whose two commits hold the training
// scripts of acceptance 1.
func twoCommits(t *testing.T) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, false)
	require.NoError(t, err)
	wt, err := repo.Worktree()
	require.NoError(t, err)
	var hashes []string
	for i, col := range []string{"$1", "$2"} {
		body := fmt.Sprintf(`awk -F, -v lr="$2" 'NR > 1 { s += %s * lr } END { printf "script v%d weights %%.3f\n", s }' "$1"`+"\n", col, i+1)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "train.sh"), []byte(body), 0o644))
		_, err := wt.Add("train.sh")
		require.NoError(t, err)
		h, err := wt.Commit(fmt.Sprintf("take %d", i+1), &git.CommitOptions{Author: &object.Signature{Name: "Ann", Email: "ann@example.com", When: time.Unix(1700000000, 0)}})
		require.NoError(t, err)
		hashes = append(hashes, h.String())
	}
	return dir, hashes
}
