package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/engine"
	"github.com/kubeline/kubeline/runtime/engine/argo"
	"github.com/kubeline/kubeline/runtime/engine/local"
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
}

func (c *engineFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.engine, "engine", "local", "where the workflow runs: local (embedded engine) or argo (Argo Workflows on Kubernetes)")
	fs.StringVar(&c.kubeconfig, "kubeconfig", "", "argo: kubeconfig `FILE` (default $KUBECONFIG, ~/.kube/config, or in-cluster)")
	fs.StringVar(&c.context, "context", "", "argo: kubeconfig `CONTEXT` (default the current one)")
	fs.StringVar(&c.namespace, "namespace", "", "argo: `NAMESPACE` the workflow runs in (default the context's)")
	fs.StringVar(&c.cluster, "cluster", "", "argo on a registered `CLUSTER` (kubeline clusters add)")
}

// open returns the engine the server runs workflows on.
func (c *engineFlags) open(home string, objects artifact.Store) (engine.Engine, error) {
	switch c.engine {
	case "", "local":
		return local.NewRunner(local.Options{Home: home, Store: objects}), nil
	case "argo":
		cfg, ns, err := argo.Config(c.kubeconfig, c.context, c.namespace)
		if err != nil {
			return nil, err
		}
		return argo.New(cfg, ns)
	}
	return nil, fmt.Errorf("--engine %q: want local or argo", c.engine)
}

// run submits wf to Argo and follows it to the end, stopping it when ctx
// is cancelled (Ctrl-C).
func (c *engineFlags) run(ctx context.Context, wf *wfv1.Workflow, update func(*wfv1.Workflow)) (*wfv1.Workflow, error) {
	cfg, ns, err := argo.Config(c.kubeconfig, c.context, c.namespace)
	if err != nil {
		return nil, err
	}
	e, err := argo.New(cfg, ns)
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

// clustersCmd is `kubeline clusters add NAME [--kubeconfig F] [--context C]
// [--namespace NS] | list | remove NAME`: the clusters runs can be sent to
// with --cluster, kept in the metadata store.
func clustersCmd(args []string, stdout, stderr io.Writer) int {
	const usage = "usage: kubeline clusters add NAME [--kubeconfig FILE] [--context CTX] [--namespace NS] | list | remove NAME [--db URL]"
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("clusters", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "metadata store `URL` (default $KUBELINE_HOME/kubeline.db)")
	var c store.Cluster
	fs.StringVar(&c.Kubeconfig, "kubeconfig", "", "add: kubeconfig `FILE` (default $KUBECONFIG or ~/.kube/config)")
	fs.StringVar(&c.Context, "context", "", "add: kubeconfig `CONTEXT` (default the current one)")
	fs.StringVar(&c.Namespace, "namespace", "", "add: `NAMESPACE` runs go to (default the context's)")
	if err := fs.Parse(interleave(args[1:], fs)); err != nil {
		return 2
	}
	ctx := context.Background()
	st, err := openStore(ctx, kubelineHome(), *db)
	if err != nil {
		fmt.Fprintf(stderr, "kubeline clusters: %v\n", err)
		return 1
	}
	defer st.Close()
	switch {
	case args[0] == "add" && fs.NArg() == 1:
		c.Name = fs.Arg(0)
		if c.Kubeconfig != "" {
			c.Kubeconfig, _ = filepath.Abs(c.Kubeconfig)
		}
		if _, _, err = argo.Config(c.Kubeconfig, c.Context, c.Namespace); err == nil {
			err = st.AddCluster(ctx, &c)
		}
		if err == nil {
			fmt.Fprintf(stdout, "cluster %s added\n", c.Name)
		}
	case args[0] == "list" && fs.NArg() == 0:
		var cs []store.Cluster
		if cs, err = st.ListClusters(ctx); err == nil {
			w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tCONTEXT\tNAMESPACE\tKUBECONFIG")
			for _, c := range cs {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", c.Name, c.Context, c.Namespace, c.Kubeconfig)
			}
			w.Flush()
		}
	case args[0] == "remove" && fs.NArg() == 1:
		if err = st.RemoveCluster(ctx, fs.Arg(0)); err == nil {
			fmt.Fprintf(stdout, "cluster %s removed\n", fs.Arg(0))
		}
	default:
		fmt.Fprintln(stderr, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "kubeline clusters %s: %v\n", args[0], err)
		return 1
	}
	return 0
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
