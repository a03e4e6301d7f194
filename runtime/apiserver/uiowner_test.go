package apiserver_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kubeline/kubeline/runtime/apiserver"
	"github.com/kubeline/kubeline/runtime/store"
)

// TestUIArtifactOfAnOldRun: the Pipelines UI's artifact route serves a
// group's member an artifact of the group's run however many newer runs
// the group has (it used to look at the 200 newest only and answer 404),
// and still hides it from another group.
func TestUIArtifactOfAnOldRun(t *testing.T) {
	ui := t.TempDir() // a Pipelines UI build: its Node server's routes are served too
	if err := os.WriteFile(filepath.Join(ui, "index.html"), []byte("<html></html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := newHostile(t, serverOptions{with: func(api *apiserver.Server, _ context.Context) { api.WithUI(ui) }})
	ctx := context.Background()
	// A run of an older server: its workflow's name kept 8 characters of
	// its id (found by its stored workflow's name).
	id := store.NewID()
	old := &store.Run{ID: id, DisplayName: "old", Namespace: "a", State: "SUCCEEDED", CreatedAt: time.Now().Add(-time.Hour),
		Workflow: `{"metadata":{"name":"run-` + id[:8] + `"}}`}
	if err := h.k.st.CreateRun(ctx, old); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(h.k.home, "artifacts")
	key := "kubeline/run-" + old.ID[:8] + "/run-" + old.ID[:8] + "-train/model"
	if err := os.MkdirAll(filepath.Dir(filepath.Join(root, key)), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, key), []byte("weights"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 205; i++ {
		if err := h.k.st.CreateRun(ctx, &store.Run{DisplayName: "newer", Namespace: "a", State: "SUCCEEDED", CreatedAt: time.Now().Add(time.Duration(i) * time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
	}
	get := func(user, k string) resp {
		return h.as(user, "GET", h.k.root+"/artifacts/get?source=file&bucket="+url.QueryEscape(root)+"&key="+url.QueryEscape(k), nil)
	}
	if r := get("a-ds", key); r.code != 200 || r.raw != "weights" {
		t.Errorf("a's member reads an artifact of a's run older than 205 others: %d %q", r.code, r.raw)
	}
	fake := "kubeline/run-zzzzzzzz/run-zzzzzzzz-train/model"
	hiddenLike(t, "GET /artifacts/get of a's old artifact", get("b-ds", key), get("b-ds", fake), key, fake)
	// A run of b's whose id starts with the same 8 characters (its
	// workflow has the whole id in its name) does not make a's old
	// artifact b's.
	twin := id[:8] + store.NewID()[8:]
	if err := h.k.st.CreateRun(ctx, &store.Run{ID: twin, DisplayName: "twin", Namespace: "b", State: "SUCCEEDED",
		Workflow: `{"metadata":{"name":"` + apiserver.WorkflowName(twin) + `"}}`}); err != nil {
		t.Fatal(err)
	}
	hiddenLike(t, "GET /artifacts/get of a's old artifact by b, whose run's id starts alike", get("b-ds", key), get("b-ds", fake), key, fake)
}
