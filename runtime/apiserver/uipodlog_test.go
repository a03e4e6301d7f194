package apiserver_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeline/kubeline/runtime/apiserver"
	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/engine"
	"github.com/kubeline/kubeline/runtime/engine/local"
	"github.com/kubeline/kubeline/runtime/store"
)

// podEngine is an engine whose steps are pods (as Argo's): it answers a
// pod's log while the pod exists. The embedded engine runs nothing here.
type podEngine struct {
	engine.Engine
	pods  map[string]string // workflow/pod -> what it printed
	asked []string
}

func (e *podEngine) PodLog(_ context.Context, workflow, pod string) (io.ReadCloser, error) {
	e.asked = append(e.asked, workflow+"/"+pod)
	log, ok := e.pods[workflow+"/"+pod]
	if !ok {
		return nil, errors.New("pods \"" + pod + "\" not found")
	}
	return io.NopCloser(strings.NewReader(log)), nil
}

// TestUILogFromThePod: on an engine with pods, the Pipelines UI's log route
// serves a step's log from its pod while it is not archived, and the
// archived log once it is; another group's member gets neither (404, as a
// run that does not exist), and a pod outside the run's workflow is never
// asked for.
func TestUILogFromThePod(t *testing.T) {
	ui := t.TempDir()
	if err := os.WriteFile(filepath.Join(ui, "index.html"), []byte("<html></html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	objects := artifact.Dir{Root: filepath.Join(home, "artifacts")}
	eng := &podEngine{Engine: local.NewRunner(local.Options{Home: home, Store: objects})}
	h := newHostile(t, serverOptions{engine: eng, objects: objects, with: func(api *apiserver.Server, _ context.Context) {
		api.WithUI(ui).WithArtifacts(objects.Read)
	}})
	ctx := context.Background()
	id := store.NewID()
	wf := apiserver.WorkflowName(id)
	if err := h.k.st.CreateRun(ctx, &store.Run{ID: id, DisplayName: "on pods", Namespace: "a", State: "RUNNING", CreatedAt: time.Now(),
		Workflow: `{"metadata":{"name":"` + wf + `"}}`}); err != nil {
		t.Fatal(err)
	}
	pod, other := wf+"-train-1", "run-other-train-1"
	eng.pods = map[string]string{wf + "/" + pod: "epoch 1\n", wf + "/" + other: "not this run's"}
	logs := func(user, id, pod string) resp {
		return h.as(user, "GET", h.k.root+"/k8s/pod/logs?runid="+id+"&podname="+pod, nil)
	}
	if r := logs("a-ds", id, pod); r.code != 200 || r.raw != "epoch 1\n" {
		t.Errorf("a reads its running step's log: %d %q, want the pod's", r.code, r.raw)
	}
	if r := logs("a-ds", id, wf+"-train-2"); r.code != 404 || !strings.Contains(r.raw, "not found") {
		t.Errorf("a step without a pod or an archived log: %d %q, want 404 saying why", r.code, r.raw)
	}
	eng.asked = nil
	if r := logs("a-ds", id, other); r.code != 404 {
		t.Errorf("a pod of another workflow through a's run: %d %q, want 404", r.code, r.raw)
	}
	const missing = "00000000-0000-0000-0000-000000000000"
	hiddenLike(t, "GET /k8s/pod/logs of a's running step", logs("b-ds", id, pod), logs("b-ds", missing, pod), id, missing)
	if len(eng.asked) != 0 {
		t.Errorf("the engine was asked for %v: a pod outside the caller's run", eng.asked)
	}
	// Archived (the pod ended): the archive answers, the pod is not asked.
	if _, err := objects.Put(ctx, artifact.LogKey(wf, pod), strings.NewReader("epoch 1\nepoch 2\n"), -1); err != nil {
		t.Fatal(err)
	}
	if r := logs("a-ds", id, pod); r.code != 200 || r.raw != "epoch 1\nepoch 2\n" || len(eng.asked) != 0 {
		t.Errorf("an archived log: %d %q (pods asked %v), want the archive's", r.code, r.raw, eng.asked)
	}
}
