package apiserver

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/runtime/engine"
	"github.com/kubeline/kubeline/runtime/store"
)

// watchedEngine is the engine as the server sees it: a run submitted has
// just been admitted, so its wait in the queue is observed then; and every
// workflow snapshot the engine delivers passes through the telemetry: the
// steps that finished since the last snapshot are timed and logged with
// their run and task ids, and so is the run when it ends. It reads only the
// run's admission record and Workflow.status, so it works the same for
// every engine.
type watchedEngine struct {
	engine.Engine
	t     *telemetry
	store *store.Store
}

func (e watchedEngine) Submit(ctx context.Context, wf *wfv1.Workflow) (string, error) {
	name, err := e.Engine.Submit(ctx, wf)
	if err != nil {
		return name, err
	}
	id := wf.Annotations[AnnotationRunID]
	a, aerr := e.store.GetAdmission(ctx, id)
	if aerr != nil {
		return name, nil // a run without an admission record
	}
	pool := a.Pool
	if pool == "" {
		pool = "none" // started anyway: it holds no pool's GPUs
	}
	var wait time.Duration
	if !a.Enqueued.IsZero() {
		wait = time.Since(a.Enqueued)
		e.t.wait.WithLabelValues(pool).Observe(wait.Seconds())
	}
	e.t.log.Info("run admitted", "run_id", id, "workflow", name, "group", a.Group, "pool", pool, "gpus", a.GPUs,
		"nodes", a.Nodes, "start_anyway", a.StartAnyway, "wait_seconds", wait.Seconds())
	return name, nil
}

func (e watchedEngine) Watch(ctx context.Context, name string) (<-chan *wfv1.Workflow, error) {
	in, err := e.Engine.Watch(ctx, name)
	if err != nil {
		return nil, err
	}
	out := make(chan *wfv1.Workflow)
	go func() {
		defer close(out)
		seen := map[string]bool{} // nodes already reported
		for w := range in {
			e.t.snapshot(w, seen)
			select {
			case out <- w:
			case <-ctx.Done(): // nobody reads any more: drain the engine
			}
		}
	}()
	return out, nil
}

// snapshot reports what changed in w since the nodes of seen; seen[""]
// marks the run as started.
func (t *telemetry) snapshot(w *wfv1.Workflow, seen map[string]bool) {
	run := slog.Group("", slog.String("run_id", w.Annotations[AnnotationRunID]), slog.String("workflow", w.Name))
	if !seen[""] {
		seen[""] = true
		t.log.LogAttrs(context.Background(), slog.LevelInfo, "run started", run)
	}
	for id, n := range w.Status.Nodes {
		if n.Type != wfv1.NodeTypePod || !n.Fulfilled() || seen[id] {
			continue
		}
		seen[id] = true
		cached := n.MemoizationStatus != nil && n.MemoizationStatus.Hit
		attrs := []slog.Attr{run, slog.String("task", taskName(n)), slog.String("node_id", id),
			slog.String("template", n.TemplateName), slog.String("phase", string(n.Phase)), slog.Bool("cached", cached)}
		if !n.StartedAt.IsZero() && !n.FinishedAt.IsZero() {
			d := n.FinishedAt.Sub(n.StartedAt.Time).Seconds()
			t.step.WithLabelValues(string(n.Phase), strconv.FormatBool(cached)).Observe(d)
			attrs = append(attrs, slog.Float64("duration_seconds", d))
		}
		level := slog.LevelInfo
		if n.Phase != wfv1.NodeSucceeded && n.Phase != wfv1.NodeSkipped {
			level = slog.LevelWarn
			attrs = append(attrs, slog.String("message", n.Message))
		}
		t.log.LogAttrs(context.Background(), level, "task finished", attrs...)
	}
	if !w.Status.Phase.Completed() || seen["\x00end"] {
		return
	}
	seen["\x00end"] = true
	attrs := []slog.Attr{run, slog.String("phase", string(w.Status.Phase))}
	if !w.Status.StartedAt.IsZero() && !w.Status.FinishedAt.IsZero() {
		d := w.Status.FinishedAt.Sub(w.Status.StartedAt.Time).Seconds()
		t.run.WithLabelValues(string(w.Status.Phase)).Observe(d)
		attrs = append(attrs, slog.Float64("duration_seconds", d))
	}
	level := slog.LevelInfo
	if w.Status.Phase != wfv1.WorkflowSucceeded {
		level = slog.LevelWarn
		attrs = append(attrs, slog.String("message", w.Status.Message))
	}
	t.log.LogAttrs(context.Background(), level, "run finished", attrs...)
}

// taskName is the KFP task a step node runs: the kubeline-task input
// parameter the compiler gives every step, else the node's display name.
func taskName(n wfv1.NodeStatus) string {
	if n.Inputs != nil {
		for _, p := range n.Inputs.Parameters {
			if p.Name == "kubeline-task" && p.Value != nil {
				return p.Value.String()
			}
		}
	}
	return n.DisplayName
}
