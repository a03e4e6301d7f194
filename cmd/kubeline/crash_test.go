package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
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

const sleepPipeline = `components:
  comp-nap:
    executorLabel: exec-nap
deploymentSpec:
  executors:
    exec-nap:
      container: {image: alpine, command: [sh, -c, 'sleep 1']}
pipelineInfo: {name: nap}
root:
  dag:
    tasks:
      nap:
        componentRef: {name: comp-nap}
        taskInfo: {name: nap}
schemaVersion: 2.1.0
`

// TestCrashRecovery: a server with 20 runs in flight is killed with SIGKILL;
// the next server lists all 20 runs exactly once, each ended — SUCCEEDED,
// FAILED, or with an error saying why — and none left running.
func TestCrashRecovery(t *testing.T) {
	dir := t.TempDir()
	bin := kubelineBinary(t)
	home := filepath.Join(dir, "home")
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
		for i := 0; i < 200; i++ {
			if res, err := http.Get(base + "/healthz"); err == nil {
				res.Body.Close()
				return cmd, base
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatal("server did not start")
		return nil, ""
	}
	cmd, base := start()
	pid := uploadString(t, base, sleepPipeline)
	for i := 0; i < 20; i++ {
		body := fmt.Sprintf(`{"display_name":"nap-%02d","pipeline_version_reference":{"pipeline_id":%q}}`, i, pid)
		res, err := http.Post(base+"/runs", "application/json", strings.NewReader(body))
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("create run %d: %v %v", i, err, res)
		}
		res.Body.Close()
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the server and its steps
	cmd.Wait()
	cmd, base = start()
	stopped := false
	defer func() {
		if !stopped {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
		}
	}()
	res, err := http.Get(base + "/runs?page_size=100")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var list struct {
		Runs []struct {
			RunID string `json:"run_id"`
			State string `json:"state"`
			Error *struct {
				Message string `json:"message"`
			} `json:"error"`
		} `json:"runs"`
		TotalSize int `json:"total_size"`
	}
	if err := json.NewDecoder(res.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range list.Runs {
		if seen[r.RunID] {
			t.Errorf("run %s listed twice", r.RunID)
		}
		seen[r.RunID] = true
		switch {
		case r.State == "SUCCEEDED":
		case r.State == "FAILED" && r.Error != nil && r.Error.Message != "":
		default:
			t.Errorf("run %s: %s %+v, want SUCCEEDED or FAILED with a reason", r.RunID, r.State, r.Error)
		}
	}
	if list.TotalSize != 20 || len(seen) != 20 {
		t.Fatalf("%d runs listed (total %d), want 20", len(seen), list.TotalSize)
	}
	// SIGTERM shuts the server down gracefully: it exits 0.
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		stopped = true
		if err != nil {
			t.Fatalf("server exit after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop within 15 s of SIGTERM")
	}
}

func uploadString(t *testing.T, base, spec string) string {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("uploadfile", "nap.yaml")
	io.WriteString(fw, spec)
	mw.Close()
	res, err := http.Post(base+"/pipelines/upload?name=nap", mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var p struct {
		PipelineID string `json:"pipeline_id"`
	}
	b, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(b, &p); err != nil || p.PipelineID == "" {
		t.Fatalf("upload: %d %s", res.StatusCode, b)
	}
	return p.PipelineID
}
