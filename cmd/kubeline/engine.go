package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/engine"
	"github.com/kubeline/kubeline/runtime/engine/argo"
	"github.com/kubeline/kubeline/runtime/engine/local"
)

// engineFlags choose the engine: the embedded one (default) or Argo
// Workflows on a Kubernetes cluster reached through a kubeconfig context
// (or the in-cluster config).
type engineFlags struct {
	engine, kubeconfig, context, namespace string
}

func (c *engineFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.engine, "engine", "local", "where the workflow runs: local (embedded engine) or argo (Argo Workflows on Kubernetes)")
	fs.StringVar(&c.kubeconfig, "kubeconfig", "", "argo: kubeconfig `FILE` (default $KUBECONFIG, ~/.kube/config, or in-cluster)")
	fs.StringVar(&c.context, "context", "", "argo: kubeconfig `CONTEXT` (default the current one)")
	fs.StringVar(&c.namespace, "namespace", "", "argo: `NAMESPACE` the workflow runs in (default the context's)")
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
