package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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
	build := filepath.Join(t.TempDir(), "build.yaml")
	os.WriteFile(build, []byte("apiVersion: kubeline.io/v1alpha1\nkind: ImageBuild\nmetadata: {name: web}\n"+
		"spec: {code: web@v1, destination: registry.local/web:1, catalog: {name: web}}\n"), 0o644)
	if code, out, errs := kl("compile", build); code != 0 || !strings.Contains(out, "buildctl-daemonless.sh") || !strings.Contains(out, "--resolve-version") {
		t.Fatalf("compile an ImageBuild: %d %s %s", code, out, errs)
	}
	if code, _, errs := kl("run", build); code == 0 || !strings.Contains(errs, "--engine argo") {
		t.Fatalf("run an ImageBuild on the embedded engine: %d %s", code, errs)
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

// TestIDEDiesWithServer: no IDE process outlives its server. A server
// with a Running IDE (a shell and its HTTP server child) is killed with
// SIGKILL; the next server kills what is left through the engine's
// records and ends the IDE with Error, saying why; a queued IDE stays
// queued and starts.
func TestIDEDiesWithServer(t *testing.T) {
	home := t.TempDir()
	p := startServerProc(t, home, "--gpus", "t4:n1=1")
	kl := p.root + "/apis/kubeline/v1"
	start := func(name string, gpus int) {
		body := fmt.Sprintf(`{"name":%q,"image":"python","gpus":%d,"command":["sh","-c","python3 -m http.server \"$PORT\" --bind 127.0.0.1 & wait"]}`, name, gpus)
		if code, out := send(t, "POST", kl+"/ides", "application/json", strings.NewReader(body)); code != 200 {
			t.Fatalf("start %s: %d %s", name, code, out)
		}
	}
	status := func(name string) string {
		_, out := send(t, "GET", kl+"/ides/"+name, "", nil)
		var m map[string]any
		json.Unmarshal([]byte(out), &m)
		return fmt.Sprint(m["status"])
	}
	start("lab", 1)
	waitFor(t, 30*time.Second, "the IDE Running", func() bool { return status("lab") == "Running" })
	start("next", 1)
	waitFor(t, 10*time.Second, "the second IDE Queued", func() bool { return status("next") == "Queued" })
	if n := len(stepProcs(t, home)); n != 2 {
		t.Fatalf("%d IDE processes before the kill, want the shell and its server: %v", n, stepProcs(t, home))
	}
	syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.exited
	time.Sleep(300 * time.Millisecond)
	left := stepProcs(t, home)
	t.Logf("after kill -9: %d IDE processes left (the shell's child: the parent-death signal killed the shell)", len(left))
	p = startServerProc(t, home, "--gpus", "t4:n1=1")
	kl = p.root + "/apis/kubeline/v1"
	for pid, comm := range left {
		// A killed process whose parent is gone may linger as a zombie until
		// init reaps it: only a live one (not state Z) is left over.
		if now, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && strings.Contains(string(now), "("+comm+")") && !strings.Contains(string(now), ") Z ") {
			t.Errorf("after the restart process %d (%s) of the killed server's IDE is still there", pid, comm)
		}
	}
	_, out := send(t, "GET", kl+"/ides/lab", "", nil)
	if !strings.Contains(out, `"status":"Error"`) || !strings.Contains(out, "the server that ran it stopped") {
		t.Fatalf("the IDE of the killed server: %s", out)
	}
	waitFor(t, 30*time.Second, "the queued IDE starts on the restarted server", func() bool { return status("next") == "Running" })
	send(t, "POST", kl+"/ides/next:stop", "", nil)
	waitFor(t, 10*time.Second, "the second IDE stopped", func() bool { return status("next") == "Stopped" })
	waitFor(t, 5*time.Second, "no IDE process left", func() bool { return len(stepProcs(t, home)) == 0 })
}
