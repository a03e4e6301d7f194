package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/compiler"
	"github.com/kubeline/kubeline/compiler/spec"
	"github.com/kubeline/kubeline/runtime/apiserver"
	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/engine/local"
	"github.com/kubeline/kubeline/runtime/store"
)

// serverCmd is `kubeline server`: the KFP API over the store and the
// embedded engine, until SIGINT/SIGTERM.
func serverCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8888", "listen `ADDRESS`")
	db := fs.String("db", "", "store `URL`: postgres://... or a SQLite file (default $KUBELINE_HOME/kubeline.db)")
	var arts storeFlags
	arts.register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "kubeline server: %v\n", err)
		return 1
	}
	if err := serve(ctx, l, *db, arts, stdout); err != nil {
		fmt.Fprintf(stderr, "kubeline server: %v\n", err)
		return 1
	}
	return 0
}

// serve runs the API server on l until ctx ends.
func serve(ctx context.Context, l net.Listener, db string, arts storeFlags, log io.Writer) error {
	home := kubelineHome()
	objects, err := arts.open(ctx, home)
	if err != nil {
		return err
	}
	if db == "" {
		if err := os.MkdirAll(home, 0o755); err != nil {
			return err
		}
		db = filepath.Join(home, "kubeline.db")
	}
	st, err := store.Open(ctx, db)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := recoverRuns(ctx, st); err != nil {
		return err
	}
	runner := local.NewRunner(local.Options{Home: home, Store: objects})
	compile := func(name string, data []byte, params map[string]string) (*wfv1.Workflow, error) {
		return compiler.Compile(name, data, compiler.Options{Params: params})
	}
	runCtx, cancelRuns := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRuns()
	api := apiserver.New(runCtx, st, runner, compile, spec.Unpack, version).
		WithArtifacts(readArtifact(objects)).
		WithVersions(&artifact.Versioner{Objects: objects, Records: st})
	go api.Schedule(runCtx, time.Second)
	srv := &http.Server{Handler: api.Handler(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(log, "kubeline server: KFP API on http://%s (store %s)\n", l.Addr(), db)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdown)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// recoverRuns ends the runs a previous server left in flight: the embedded
// engine's processes died with it, so each is marked FAILED with the reason.
func recoverRuns(ctx context.Context, st *store.Store) error {
	runs, err := st.UnfinishedRuns(ctx)
	if err != nil {
		return err
	}
	for _, r := range runs {
		if err := st.UpdateRun(ctx, r.ID, "FAILED", "the server stopped while this run was in flight", "", time.Now()); err != nil {
			return fmt.Errorf("recover run %s: %w", r.ID, err)
		}
	}
	return nil
}
