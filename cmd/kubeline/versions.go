package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/runtime/apiserver"
	"github.com/kubeline/kubeline/runtime/store"
	"github.com/kubeline/kubeline/runtime/versioning"
)

// openStore opens the metadata store: dsn, or the embedded SQLite database
// $KUBELINE_HOME/kubeline.db.
func openStore(ctx context.Context, home, dsn string) (*store.Store, error) {
	if dsn == "" {
		if err := os.MkdirAll(home, 0o700); err != nil {
			return nil, err
		}
		dsn = filepath.Join(home, "kubeline.db")
	}
	return store.Open(ctx, dsn)
}

// recordLocalRun stores a finished `kubeline run` like a server's run, and
// records the versions it used and produced and its metrics.
func recordLocalRun(ctx context.Context, st *store.Store, v *versioning.Versioner, file string, wf *wfv1.Workflow, outputs map[string]string) (*store.Run, *versioning.Recorded, error) {
	b, _ := json.Marshal(wf)
	run := &store.Run{DisplayName: runDisplayName(file, pipelineName(wf)), State: apiserver.RunState(wf), Workflow: string(b),
		Error: wf.Status.Message, Description: "kubeline run " + file}
	if err := st.CreateRun(ctx, run); err != nil {
		return nil, nil, fmt.Errorf("record run: %w", err)
	}
	if err := st.UpdateRun(ctx, run.ID, run.State, run.Error, run.Workflow, time.Now()); err != nil {
		return nil, nil, fmt.Errorf("record run: %w", err)
	}
	rec, err := v.Record(ctx, run.ID, wf, outputs)
	if err != nil {
		// A run that succeeded but whose versions could not be recorded
		// (a featureset's data not matching its features) did not do its
		// job: FAILED, as the server records it.
		run.State, run.Error = "FAILED", fmt.Sprintf("record versions: %v", err)
		if uerr := st.UpdateRun(ctx, run.ID, run.State, run.Error, run.Workflow, time.Now()); uerr != nil {
			err = errors.Join(err, fmt.Errorf("record run: %w", uerr))
		}
	}
	return run, rec, err
}

// runDisplayName is the display name of a run the CLI makes of a file,
// here or on a server: the file's name and the pipeline's (its run id
// tells runs apart).
func runDisplayName(file, pipeline string) string {
	return filepath.Base(file) + " " + pipeline
}

// pipelineName is the name of the pipeline a workflow was compiled from.
func pipelineName(wf *wfv1.Workflow) string {
	if n := strings.TrimSuffix(wf.GenerateName, "-"); n != "" {
		return n
	}
	return wf.Name
}

// printRecorded says which versions a run used and produced, and its
// metrics (recordLines).
func printRecorded(w io.Writer, rec *versioning.Recorded) {
	if rec == nil {
		return
	}
	var vs []runVersion
	for _, u := range rec.Used {
		vs = append(vs, runVersion{kind: u.Kind, name: u.Name, version: u.Version, task: u.Task})
	}
	for _, p := range rec.Produced {
		vs = append(vs, runVersion{kind: p.Kind, name: p.Name, version: p.Version, task: p.Task, produced: true, created: p.Created, digest: p.Digest})
	}
	var ms []string
	for _, m := range rec.Metrics {
		ms = append(ms, fmt.Sprintf("%s.%s=%g", m.Task, m.Name, m.Value))
	}
	printRunRecord(w, vs, ms)
}

// runVersion is one version a run used or produced.
type runVersion struct {
	kind, name, task string
	version          int
	produced         bool
	// created: the run made the version (else it reproduced its content).
	created bool
	digest  string
}

// printRunRecord prints what a run used and produced and its metrics, the
// same for a run here and one on a server: used versions, then produced
// ones, each by task, kind and name, then the metrics by name.
func printRunRecord(w io.Writer, vs []runVersion, metrics []string) {
	slices.SortStableFunc(vs, func(a, b runVersion) int {
		return cmp.Or(boolCmp(a.produced, b.produced), strings.Compare(a.task, b.task), strings.Compare(a.kind, b.kind), strings.Compare(a.name, b.name))
	})
	for _, v := range vs {
		switch {
		case !v.produced:
			fmt.Fprintf(w, "used %s %s@v%d (task %s)\n", v.kind, v.name, v.version, v.task)
		case v.created:
			fmt.Fprintf(w, "new version %s %s@v%d (task %s, sha256 %s)\n", v.kind, v.name, v.version, v.task, v.digest[:min(12, len(v.digest))])
		default:
			fmt.Fprintf(w, "%s %s: same content as v%d, no new version\n", v.kind, v.name, v.version)
		}
	}
	slices.Sort(metrics)
	if len(metrics) > 0 {
		fmt.Fprintf(w, "metrics %s\n", strings.Join(metrics, " "))
	}
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
