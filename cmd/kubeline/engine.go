package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/engine"
	"github.com/kubeline/kubeline/runtime/engine/argo"
	"github.com/kubeline/kubeline/runtime/engine/local"
	"github.com/kubeline/kubeline/runtime/launcher"
	"github.com/kubeline/kubeline/runtime/store"
)

// engineFlags choose the engine: the embedded one (default) or Argo
// Workflows on a Kubernetes cluster reached through a kubeconfig context
// (or the in-cluster config).
type engineFlags struct {
	engine, kubeconfig, context, namespace string
	// cluster names a registered cluster (kubeline clusters add), which
	// sets the others.
	cluster string
	// python is how KFP lightweight Python components run (server
	// --python-executor): "" leaves it to the engine (the embedded one:
	// auto; in pods: their own command, which pip-installs kfp).
	python string
}

func (c *engineFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.engine, "engine", "local", "where the workflow runs: local (embedded engine) or argo (Argo Workflows on Kubernetes)")
	fs.StringVar(&c.kubeconfig, "kubeconfig", "", "argo: kubeconfig `FILE` (default $KUBECONFIG, ~/.kube/config, or in-cluster)")
	fs.StringVar(&c.context, "context", "", "argo: kubeconfig `CONTEXT` (default the current one)")
	fs.StringVar(&c.namespace, "namespace", "", "argo: `NAMESPACE` the workflow runs in (default the context's)")
	fs.StringVar(&c.cluster, "cluster", "", "argo on a registered `CLUSTER` (kubeline clusters add)")
}

// open returns the engine the server runs workflows on.
func (c *engineFlags) open(lo local.Options) (engine.Engine, error) {
	switch c.engine {
	case "", "local":
		lo.ArchiveLogs = true
		if c.python != "" {
			lo.PythonExecutor = c.python
		}
		return local.NewRunner(lo), nil
	case "argo":
		e, err := c.argo(lo.Store)
		if err != nil {
			return nil, err
		}
		return e, nil
	}
	return nil, fmt.Errorf("--engine %q: want local or argo", c.engine)
}

// argo is the Argo engine of the flags; the launcher steps that use the
// artifact store themselves get its settings when it is an S3 store.
func (c *engineFlags) argo(objects artifact.Store) (*argo.Engine, error) {
	cfg, ns, err := argo.Config(c.kubeconfig, c.context, c.namespace)
	if err != nil {
		return nil, err
	}
	e, err := argo.New(cfg, ns)
	if err != nil {
		return nil, err
	}
	e.SetPodEnv(c.podEnv(objects))
	return e, nil
}

// podEnv is what the launcher steps' pods are given: the S3 store's
// settings (argo.PodEnv) and the Python executor the flags chose.
func (c *engineFlags) podEnv(objects artifact.Store) []corev1.EnvVar {
	var env []corev1.EnvVar
	if s3, ok := objects.(*artifact.S3); ok {
		env = argo.PodEnv(s3)
	}
	if c.python != "" {
		env = append(env, corev1.EnvVar{Name: "KUBELINE_PYTHON_EXECUTOR", Value: c.python})
	}
	return env
}

// checkPythonExecutor refuses an executor the launcher does not know.
func checkPythonExecutor(flag, v string) error {
	switch v {
	case launcher.PythonAuto, launcher.PythonBuiltin, launcher.PythonVenv, launcher.PythonCommand:
		return nil
	}
	return usagef("%s %q: want auto, builtin, venv or command", flag, v)
}

// run submits wf to Argo and follows it to the end, stopping it when ctx
// is cancelled (Ctrl-C).
func (c *engineFlags) run(ctx context.Context, wf *wfv1.Workflow, objects artifact.Store, update func(*wfv1.Workflow)) (*wfv1.Workflow, error) {
	e, err := c.argo(objects)
	if err != nil {
		return nil, err
	}
	name, err := e.Submit(ctx, wf)
	if err != nil {
		return nil, err
	}
	watchCtx := context.WithoutCancel(ctx)
	ch, err := e.Watch(watchCtx, name)
	if err != nil {
		return nil, err
	}
	stopped := false
	var last *wfv1.Workflow
	for {
		select {
		case w, ok := <-ch:
			if !ok {
				if last == nil {
					return nil, errors.New("the watch ended before any status")
				}
				return last, nil
			}
			last = w
			update(w)
		case <-ctx.Done():
			if !stopped {
				stopped = true
				if err := e.Stop(watchCtx, name); err != nil {
					return last, fmt.Errorf("stop %s: %w", name, err)
				}
			}
			ctx = watchCtx
		}
	}
}

// newClustersCmd is `kubeline clusters add NAME [--kubeconfig F] [--context C]
// [--namespace NS] | list | remove NAME`: the clusters runs can be sent to
// with --cluster, through the API (a server's, else the local store's).
func newClustersCmd(s streams, g *globalFlags) *cobra.Command {
	var output string
	var body clusterBody
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "register a cluster (a kubeconfig context and namespace) runs can be sent to with run --cluster NAME",
		Args:  exactArgs("NAME"),
		RunE: func(_ *cobra.Command, args []string) error {
			return g.do(s, "kubeline clusters add", toLocalStore, func(c *apiClient) error {
				return addCluster(c, args[0], body, s.out)
			})
		},
	}
	add.Flags().StringVar(&body.kubeconfig, "kubeconfig", "", "kubeconfig `FILE` (default $KUBECONFIG or ~/.kube/config; on a server: a file of its machine)")
	add.Flags().StringVar(&body.context, "context", "", "kubeconfig `CONTEXT` (default the current one)")
	add.Flags().StringVar(&body.namespace, "namespace", "", "`NAMESPACE` runs go to (default the context's)")
	add.Flags().StringVar(&body.group, "group", "", "the `GROUP` the cluster belongs to (default your first)")
	list := &cobra.Command{
		Use:   "list",
		Short: "list the registered clusters",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			return g.do(s, "kubeline clusters list", toLocalStore, func(c *apiClient) error {
				var out map[string]any
				if err := c.call("GET", "/clusters", nil, &out); err != nil {
					return err
				}
				return printOutput(s.out, output, out, func(w *tableWriter) {
					w.row("NAME", "CONTEXT", "NAMESPACE", "KUBECONFIG", "GROUP", "OWNER")
					for _, c := range items(out, "clusters") {
						w.row(str(c["name"]), orDash(str(c["context"])), orDash(str(c["namespace"])), orDash(str(c["kubeconfig"])), str(c["group"]), orDash(str(c["owner"])))
					}
				})
			})
		},
	}
	addOutputFlag(list, &output, "table", "json", "yaml")
	remove := &cobra.Command{
		Use:   "remove NAME",
		Short: "forget a registered cluster",
		Args:  exactArgs("NAME"),
		RunE: func(_ *cobra.Command, args []string) error {
			return g.do(s, "kubeline clusters remove", toLocalStore, func(c *apiClient) error {
				if err := c.call("DELETE", "/clusters/"+url.PathEscape(args[0]), nil, nil); err != nil {
					return err
				}
				fmt.Fprintf(s.out, "cluster %s removed\n", args[0])
				return nil
			})
		},
	}
	return group("clusters", "Kubernetes clusters with Argo Workflows that runs can be sent to",
		g.addStoreTo(add), g.addStoreTo(list), g.completeNames(g.addStoreTo(remove), "clusters"))
}

// clusterBody is a cluster registration.
type clusterBody struct{ kubeconfig, context, namespace, group string }

// addCluster registers a cluster; a relative kubeconfig path is made
// absolute (the API wants one).
func addCluster(c *apiClient, name string, f clusterBody, out io.Writer) error {
	if f.kubeconfig != "" {
		f.kubeconfig, _ = filepath.Abs(f.kubeconfig)
	}
	body := map[string]any{"name": name, "kubeconfig": f.kubeconfig, "context": f.context, "namespace": f.namespace, "group": f.group}
	if err := c.call("POST", "/clusters", body, nil); err != nil {
		return err
	}
	fmt.Fprintf(out, "cluster %s added\n", name)
	return nil
}

// withStore opens the metadata store (dsn, default the embedded one) for f.
func withStore(dsn string, f func(context.Context, *store.Store) error) error {
	ctx := context.Background()
	st, err := openStore(ctx, kubelineHome(), dsn)
	if err != nil {
		return fmt.Errorf("open the metadata store: %w", err)
	}
	defer st.Close()
	return f(ctx, st)
}

// useCluster points the engine flags at a registered cluster.
func (c *engineFlags) useCluster(ctx context.Context, st *store.Store) error {
	if c.cluster == "" {
		return nil
	}
	cl, err := st.GetCluster(ctx, c.cluster)
	if err != nil {
		return fmt.Errorf("--cluster: %w (add it with kubeline clusters add)", err)
	}
	c.engine, c.kubeconfig, c.context, c.namespace = "argo", cl.Kubeconfig, cl.Context, cl.Namespace
	return nil
}
