package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStoreSurvivesForeignOpens is issue 15's finding 6 against a real
// server process: between writes it answered 200, a step importer names the
// database file (refused: the server never opens its store's files for a
// step), a step process opens and reads it, a step leaves a link to it as
// its output artifact (the server opens and closes the file in its own
// process to store it), and an outside SQLite client (Python's sqlite3)
// opens, reads and closes it; the server is killed -9 and restarted: every
// write that was answered 200 is there.
func TestStoreSurvivesForeignOpens(t *testing.T) {
	bin := kubelineBinary(t)
	home := filepath.Join(t.TempDir(), "home")
	db := filepath.Join(home, "kubeline.db")
	start := func() (*exec.Cmd, string) {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := l.Addr().String()
		l.Close()
		cmd := exec.Command(bin, "server", "--addr", addr)
		cmd.Env = append(os.Environ(), "KUBELINE_HOME="+home)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		base := "http://" + addr + "/apis/v2beta1"
		for i := 0; i < 400; i++ {
			if res, err := http.Get(base + "/healthz"); err == nil {
				res.Body.Close()
				return cmd, base
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatal("server did not start")
		return nil, ""
	}
	post := func(base, path, body string) map[string]any {
		t.Helper()
		res, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		json.NewDecoder(res.Body).Decode(&out)
		if res.StatusCode != 200 {
			t.Fatalf("POST %s: %d %v", path, res.StatusCode, out)
		}
		return out
	}
	cmd, base := start()
	defer func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() }()
	var written []string
	write := func(n int) {
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("p-%02d", len(written))
			post(base, "/pipelines", fmt.Sprintf(`{"display_name": %q}`, name))
			written = append(written, name)
		}
	}
	wait := func(id string) map[string]any {
		for i := 0; i < 600; i++ {
			res, err := http.Get(base + "/runs/" + id)
			if err == nil {
				var r map[string]any
				json.NewDecoder(res.Body).Decode(&r)
				res.Body.Close()
				if s := r["state"]; s == "SUCCEEDED" || s == "FAILED" {
					return r
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("run %s did not finish", id)
		return nil
	}
	write(10)
	// A step's importer names the database: refused, never opened by the
	// server.
	spec, err := os.ReadFile("../../examples/train-model/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var train map[string]any
	if err := yamlToJSON(spec, &train); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"display_name": "import-db", "pipeline_spec": train,
		"runtime_config": map[string]any{"parameters": map[string]any{"data": "file://" + db}}})
	run := wait(post(base, "/runs", string(b))["run_id"].(string))
	if run["state"] != "FAILED" || !strings.Contains(fmt.Sprint(run["error"]), "metadata store") {
		t.Errorf("importer of the store's file: %v %v, want FAILED naming the metadata store", run["state"], run["error"])
	}
	write(5)
	// A step process opens and reads it (its own process: the server's
	// locks stay).
	b, _ = json.Marshal(map[string]any{"display_name": "read-db", "pipeline_spec": map[string]any{
		"components":     map[string]any{"comp-read": map[string]any{"executorLabel": "exec-read"}},
		"deploymentSpec": map[string]any{"executors": map[string]any{"exec-read": map[string]any{"container": map[string]any{"image": "alpine", "command": []any{"sh", "-c", "cat " + db + " >/dev/null"}}}}},
		"pipelineInfo":   map[string]any{"name": "read-db"},
		"root":           map[string]any{"dag": map[string]any{"tasks": map[string]any{"read": map[string]any{"componentRef": map[string]any{"name": "comp-read"}, "taskInfo": map[string]any{"name": "read"}}}}},
		"schemaVersion":  "2.1.0"}})
	if run := wait(post(base, "/runs", string(b))["run_id"].(string)); run["state"] != "SUCCEEDED" {
		t.Errorf("the step reading the store: %v %v", run["state"], run["error"])
	}
	write(5)
	// A step whose output artifact is a link to the database: the server
	// itself opens and closes the file to store the artifact (any close
	// drops a process's POSIX locks on the file; the store's own
	// open-file-description lock stays).
	b, _ = json.Marshal(map[string]any{"display_name": "link-db", "pipeline_spec": map[string]any{
		"components": map[string]any{"comp-link": map[string]any{"executorLabel": "exec-link",
			"outputDefinitions": map[string]any{"artifacts": map[string]any{"out": map[string]any{"artifactType": map[string]any{"schemaTitle": "system.Artifact", "schemaVersion": "0.0.1"}}}}}},
		"deploymentSpec": map[string]any{"executors": map[string]any{"exec-link": map[string]any{"container": map[string]any{"image": "alpine",
			"command": []any{"sh", "-c", `mkdir -p "$(dirname "$0")" && ln -s "$1" "$0"`, "{{$.outputs.artifacts['out'].path}}", db}}}}},
		"pipelineInfo":  map[string]any{"name": "link-db"},
		"root":          map[string]any{"dag": map[string]any{"tasks": map[string]any{"link": map[string]any{"componentRef": map[string]any{"name": "comp-link"}, "taskInfo": map[string]any{"name": "link"}}}}},
		"schemaVersion": "2.1.0"}})
	if run := wait(post(base, "/runs", string(b))["run_id"].(string)); run["state"] != "SUCCEEDED" {
		t.Errorf("the step linking its output to the store: %v %v", run["state"], run["error"])
	}
	write(5)
	// An outside SQLite client opens, reads and closes the database.
	py := exec.Command("python3", "-c", `import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=5)
print(c.execute("SELECT COUNT(*) FROM pipelines").fetchone()[0])
c.close()`, db)
	if out, err := py.CombinedOutput(); err != nil {
		t.Fatalf("outside client: %v %s", err, out)
	}
	write(10)
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	cmd, base = start()
	res, err := http.Get(base + "/pipelines?page_size=100")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var list struct {
		Pipelines []struct {
			DisplayName string `json:"display_name"`
		} `json:"pipelines"`
	}
	json.NewDecoder(res.Body).Decode(&list)
	have := map[string]bool{}
	for _, p := range list.Pipelines {
		have[p.DisplayName] = true
	}
	var lost []string
	for _, name := range written {
		if !have[name] {
			lost = append(lost, name)
		}
	}
	if len(lost) > 0 {
		t.Fatalf("after kill -9 and restart, %d of %d writes answered 200 are gone: %v", len(lost), len(written), lost)
	}
}
