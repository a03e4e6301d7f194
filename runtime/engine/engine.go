package engine

import (
	"context"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// Engine runs workflows. Submit starts a run and returns at once with the
// workflow's name; Watch delivers status snapshots until the run ends (the
// last one has a completed phase) and then closes the channel; Stop asks a
// running workflow to stop: running steps are signalled, nothing new starts,
// and the run ends Failed with message "stopped".
type Engine interface {
	Submit(ctx context.Context, wf *wfv1.Workflow) (name string, err error)
	Watch(ctx context.Context, name string) (<-chan *wfv1.Workflow, error)
	Stop(ctx context.Context, name string) error
}
