package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/spf13/cobra"

	"github.com/kubeline/kubeline/compiler"
	"github.com/kubeline/kubeline/runtime/apiserver"
	"github.com/kubeline/kubeline/runtime/engine"
	"github.com/kubeline/kubeline/runtime/engine/argo"
	"github.com/kubeline/kubeline/runtime/hpo"
	"github.com/kubeline/kubeline/runtime/kserve"
	"github.com/kubeline/kubeline/runtime/launcher"
	"github.com/kubeline/kubeline/runtime/serving"
	"github.com/kubeline/kubeline/runtime/store"
	"github.com/kubeline/kubeline/runtime/versioning"
)

// serverOptions are the flags of `kubeline server`.
type serverOptions struct {
	addr, db string
	ui       string
	arts     storeFlags
	acc      accessFlags
	cl       clusterFlags
	lim      limitFlags
}

// newServerCmd is `kubeline server`: the KFP API over the store and the
// embedded engine, until SIGINT/SIGTERM.
func newServerCmd(s streams) *cobra.Command {
	var o serverOptions
	c := &cobra.Command{
		Use:   "server",
		Short: "serve the KFP-compatible API (and kubeline's) over the store and an engine",
		Long: `Server serves the KFP REST API (v2beta1 and the v1beta1 calls the Pipelines UI makes) and kubeline's
own API (/apis/kubeline/v1), running pipelines on the embedded engine or on Argo, until SIGINT or
SIGTERM. It is multi-user with --multi-user, when it listens beyond loopback, or once its store has
users; the first multi-user start prints the operator's token once.`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error { return code(o.run(s.out, s.errOut)) },
	}
	f := c.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:8888", "listen `ADDRESS`")
	f.StringVar(&o.db, "db", "", "store `URL`: postgres://... or a SQLite file (default $KUBELINE_HOME/kubeline.db)")
	f.StringVar(&o.ui, "ui", "", "serve the Kubeflow Pipelines UI build in `DIR` at / with its Node server's routes (artifact previews, step logs)")
	o.arts.register(f)
	o.acc.register(f)
	o.cl.register(f)
	o.lim.register(f)
	return c
}

func (o *serverOptions) run(stdout, stderr io.Writer) int {
	logger, err := o.cl.logger(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "kubeline server: %v\n", err)
		return exitUsage
	}
	if o.cl.engine.python != "" {
		if err := checkPythonExecutor("--python-executor", o.cl.engine.python); err != nil {
			fmt.Fprintf(stderr, "kubeline server: %v\n", err)
			return exitUsage
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx = withUI(withLimits(withCluster(ctx, o.cl, logger), o.lim), o.ui)
	if o.ui != "" {
		if err := apiserver.CheckUI(o.ui); err != nil {
			fmt.Fprintf(stderr, "kubeline server: %v\n", err)
			return exitUsage
		}
	}
	l, err := net.Listen("tcp", o.addr)
	if err != nil {
		fmt.Fprintf(stderr, "kubeline server: %v\n", err)
		return exitFailure
	}
	if err := serveWith(ctx, l, o.db, o.arts, o.acc, stdout); err != nil {
		fmt.Fprintf(stderr, "kubeline server: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// serve runs the API server on l until ctx ends, with the default access
// flags (single-user unless the store has users; no GPUs).
func serve(ctx context.Context, l net.Listener, db string, arts storeFlags, log io.Writer) error {
	return serveWith(ctx, l, db, arts, accessFlags{}, log)
}

// serveWith runs the API server on l until ctx ends: multi-user when acc
// (or the store's users, or a non-loopback address) says so, with the
// cluster's GPUs of acc.
func serveWith(ctx context.Context, l net.Listener, db string, arts storeFlags, acc accessFlags, log io.Writer) error {
	home := kubelineHome()
	warning, err := privateHome(home)
	if err != nil {
		return err
	}
	if warning != "" {
		fmt.Fprintf(log, "kubeline server: warning: %s\n", warning)
	}
	objects, err := arts.open(ctx, home)
	if err != nil {
		return err
	}
	st, db, release, err := openServerStore(ctx, home, db)
	if err != nil {
		return err
	}
	defer release()
	if err := recoverRuns(ctx, st, home); err != nil {
		return err
	}
	multiUser, err := acc.multiUserMode(ctx, st, l.Addr())
	if err != nil {
		return err
	}
	if multiUser {
		if err := bootstrap(ctx, st, log); err != nil {
			return err
		}
	}
	cluster := clusterOf(ctx)
	lo, iso, err := acc.isolation(multiUser, cluster.engine.engine, home, db, objects)
	if err != nil {
		return err
	}
	runner, err := cluster.engine.open(lo)
	if err != nil {
		return err
	}
	lim := limitsOf(ctx)
	compile := func(name string, data []byte, params, images map[string]string) (*wfv1.Workflow, error) {
		return compiler.Compile(name, data, compiler.Options{Params: params, ParamsField: apiserver.ParamsField, Image: cluster.image, Limits: lim.spec, NoFiles: true, Images: images, DeferImages: images == nil})
	}
	runCtx, cancelRuns := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRuns()
	versioner := &versioning.Versioner{Objects: objects, Records: st}
	deployments := serving.NewManager()
	if lo.Sandbox != nil {
		deployments.Sandbox = lo.Sandbox
	}
	defer deployments.StopAll()
	api := apiserver.New(runCtx, st, runner, compile, lim.spec.Unpack, version).WithLimits(lim.api).
		WithArtifacts(readArtifact(objects)).WithMetadata(objects.URI).
		WithVersions(versioner).
		WithServing(deployments, versioner, filepath.Join(home, "deployments")).
		WithMultiUser(multiUser).WithCluster(acc.gpus, acc.aging).WithLogger(cluster.log).WithUI(uiOf(ctx)).
		WithIDEs(ideOptions(runner)).WithInferenceServices(kserve.NewClient()).
		WithExperimentRecords(func(ctx context.Context, uid string) ([]hpo.Record, hpo.Status, error) {
			return launcher.ReadExperiment(ctx, objects, uid)
		})
	stopMonitoring, err := startMonitoring(runCtx, api, deployments, st, objects, cluster.log)
	if err != nil {
		return err
	}
	defer stopMonitoring() // before the store closes: what is queued is written
	// Pools made for an earlier --gpus are fitted to this cluster first.
	notes, err := api.ReconcilePools(runCtx)
	if err != nil {
		return err
	}
	for _, n := range notes {
		fmt.Fprintf(log, "kubeline server: warning: %s\n", n)
		cluster.log.Warn("pool reconciled with the cluster (--gpus)", "change", n)
	}
	if err := api.RecoverIDEs(runCtx); err != nil {
		return err
	}
	if err := api.Admit(runCtx); err != nil { // the runs a previous server left queued
		return err
	}
	go api.Schedule(runCtx, time.Second)
	go func() { _ = api.KeepListings(runCtx) }() // runs that ended before listings were kept
	srv := &http.Server{Handler: api.Handler(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(log, "kubeline server: KFP API on http://%s (store %s, %s, %d GPUs)\n", l.Addr(), redactDSN(db), map[bool]string{false: "single-user", true: "multi-user"}[multiUser], clusterGPUs(acc.gpus))
	fmt.Fprintf(log, "kubeline server: console on http://%s/console/\n", l.Addr())
	if dir := uiOf(ctx); dir != "" {
		fmt.Fprintf(log, "kubeline server: Pipelines UI on http://%s/ (from %s)\n", l.Addr(), dir)
	}
	if multiUser {
		fmt.Fprintf(log, "kubeline server: multi-user: %s\n", iso)
	} else if iso != "" {
		fmt.Fprintf(log, "kubeline server: %s\n", iso)
	}
	cluster.log.Info("serving", "addr", l.Addr().String(), "store", redactDSN(db), "multi_user", multiUser,
		"gpus", clusterGPUs(acc.gpus), "version", version)
	return serveUntil(ctx, srv, l, api, cluster.engine.engine != "argo") // shutdown.go
}

// recoverRuns ends the runs a previous server left in flight: first the
// step processes its embedded engine left running under home are killed,
// then each run is marked FAILED with the reason (naming the processes
// killed). Runs still queued for GPUs stay queued.
func recoverRuns(ctx context.Context, st *store.Store, home string) error {
	reasons, err := killLeftovers(home)
	if err != nil {
		return err
	}
	runs, err := st.UnfinishedRuns(ctx)
	if err != nil {
		return err
	}
	queued, err := queuedRuns(ctx, st)
	if err != nil {
		return err
	}
	if err := recoverAdmission(ctx, st); err != nil {
		return err
	}
	for _, r := range runs {
		if queued[r.ID] {
			continue
		}
		reason, ok := reasons[apiserver.WorkflowName(r.ID)]
		if !ok { // a run of an older server: its workflow had 8 characters of the id
			reason, ok = reasons["run-"+r.ID[:min(8, len(r.ID))]]
		}
		if !ok {
			reason = stoppedByCrash
		}
		if err := st.UpdateRun(ctx, r.ID, "FAILED", reason, "", time.Now()); err != nil {
			return fmt.Errorf("recover run %s: %w", r.ID, err)
		}
	}
	return nil
}

// ideOptions say how the engine runs IDEs: as pods whose IP the Argo engine
// finds, or as host processes, serving JupyterLab when it is installed.
func ideOptions(runner engine.Engine) apiserver.IDEOptions {
	if a, ok := runner.(*argo.Engine); ok {
		return apiserver.IDEOptions{Address: a.PodIP, Expose: a.Expose}
	}
	_, err := exec.LookPath("jupyter-lab") // the command ide.JupyterLab runs
	return apiserver.IDEOptions{Jupyter: err == nil}
}
