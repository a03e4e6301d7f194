package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
	run := &store.Run{DisplayName: filepath.Base(file) + " " + wf.Name, State: apiserver.RunState(wf), Workflow: string(b),
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

// printRecorded says which versions a run used and produced.
func printRecorded(w io.Writer, rec *versioning.Recorded) {
	if rec == nil {
		return
	}
	for _, u := range rec.Used {
		fmt.Fprintf(w, "used %s %s@v%d (task %s)\n", u.Kind, u.Name, u.Version, u.Task)
	}
	for _, p := range rec.Produced {
		if p.Created {
			fmt.Fprintf(w, "new version %s %s@v%d (task %s, sha256 %s)\n", p.Kind, p.Name, p.Version, p.Task, p.Digest[:12])
		} else {
			fmt.Fprintf(w, "%s %s: same content as v%d, no new version\n", p.Kind, p.Name, p.Version)
		}
	}
	var ms []string
	for _, m := range rec.Metrics {
		ms = append(ms, fmt.Sprintf("%s.%s=%g", m.Task, m.Name, m.Value))
	}
	if len(ms) > 0 {
		fmt.Fprintf(w, "metrics %s\n", strings.Join(ms, " "))
	}
}
