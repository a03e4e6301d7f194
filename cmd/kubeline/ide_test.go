package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestImagesAndIDECommands: `kubeline images add|list|remove` keep the
// catalog; `kubeline compile` resolves a catalog name from it (an unknown
// one names the task); `kubeline ide start|list|get|stop` run a notebook
// whose URL answers, through a real server.
func TestImagesAndIDECommands(t *testing.T) {
	t.Setenv("KUBELINE_HOME", t.TempDir())
	t.Setenv("KUBELINE_TOKEN", "")
	u, _, _ := startServer(t, accessFlags{})
	srv := []string{"--server", u}
	if code, out, errs := kl(append([]string{"images", "add", "web", "python:3.12-slim", "--framework", "python", "--version", "3.12",
		"--command", "python3", "--command", "-m", "--command", "http.server", "--command", "$(PORT)", "--command", "--bind", "--command", "127.0.0.1"}, srv...)...); code != 0 ||
		!strings.Contains(out, "python:3.12-slim") {
		t.Fatalf("images add: %d %s %s", code, out, errs)
	}
	code, out, errs := kl(append([]string{"images", "list"}, srv...)...)
	if code != 0 || !strings.Contains(out, "web") || !strings.Contains(out, "default") || !strings.Contains(out, "jupyter-scipy") {
		t.Fatalf("images list: %d %s %s", code, out, errs)
	}
	spec := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(spec, []byte(`components:
  comp-a: {executorLabel: exec-a}
deploymentSpec:
  executors:
    exec-a:
      container: {image: 'image://web', command: [sh, -c, 'true']}
pipelineInfo: {name: p}
root:
  dag:
    tasks:
      a: {componentRef: {name: comp-a}, taskInfo: {name: a}}
schemaVersion: 2.1.0
`), 0o644)
	if code, out, errs := kl(append([]string{"compile", spec}, srv...)...); code != 0 || !strings.Contains(out, "image: python:3.12-slim") {
		t.Fatalf("compile with the server's catalog: %d %s %s", code, out, errs)
	}
	if code, out, errs := kl(append([]string{"ide", "start", "lab", "--image", "web", "-o", "json"}, srv...)...); code != 0 || !strings.Contains(out, `"status"`) {
		t.Fatalf("ide start: %d %s %s", code, out, errs)
	}
	var url string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		_, out, _ = kl(append([]string{"ide", "get", "lab"}, srv...)...)
		if strings.Contains(out, ": Running") {
			for _, line := range strings.Split(out, "\n") {
				if v, ok := strings.CutPrefix(strings.TrimSpace(line), "url: "); ok {
					url = v
				}
			}
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if url == "" {
		t.Fatalf("ide get never showed it Running with a URL: %s", out)
	}
	if res, err := http.Get(url); err != nil || res.StatusCode != 200 {
		t.Fatalf("the IDE's URL %s: %v %v", url, res, err)
	}
	if code, out, _ := kl(append([]string{"ide", "list"}, srv...)...); code != 0 || !strings.Contains(out, "lab") || !strings.Contains(out, "Running") {
		t.Fatalf("ide list: %s", out)
	}
	if code, out, errs := kl(append([]string{"ide", "stop", "lab"}, srv...)...); code != 0 || !strings.Contains(out, "Stopping") && !strings.Contains(out, "Stopped") {
		t.Fatalf("ide stop: %d %s %s", code, out, errs)
	}
	if code, out, errs := kl(append([]string{"images", "remove", "web"}, srv...)...); code != 0 {
		t.Fatalf("images remove: %d %s %s", code, out, errs)
	}
	if code, _, errs := kl(append([]string{"compile", spec}, srv...)...); code == 0 || !strings.Contains(errs, "root.dag.tasks[a]") || !strings.Contains(errs, "image://web is not in the image catalog") {
		t.Fatalf("compile of a removed catalog name: %d %s", code, errs)
	}
}
