package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stepProcs are the processes of steps run by servers with home: their
// environment holds KUBELINE_HOME=home and a workflow name (the servers
// themselves have none), by command name.
func stepProcs(t *testing.T, home string) map[int]string {
	t.Helper()
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	procs := map[int]string{}
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil || !bytes.Contains(env, []byte("\x00KUBELINE_HOME="+home+"\x00")) || !bytes.Contains(env, []byte("\x00KUBELINE_WORKFLOW=")) {
			continue
		}
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		procs[pid] = strings.TrimSpace(string(comm))
	}
	return procs
}

// napTwice is one step that starts a child and waits for it: two processes
// per step, the second outside the reach of a parent-death signal.
const napTwice = `components:
  comp-nap:
    executorLabel: exec-nap
deploymentSpec:
  executors:
    exec-nap:
      container: {image: alpine, command: [sh, -c, 'sleep 600 & wait']}
pipelineInfo: {name: nap-twice}
root:
  dag:
    tasks:
      nap:
        componentRef: {name: comp-nap}
        taskInfo: {name: nap}
schemaVersion: 2.1.0
`

// pythonNap is a KFP lightweight Python component, in the SDK's command
// shape (the server runs it with its builtin executor, forked from a
// zygote), that starts a child and sleeps.
const pythonNap = `components:
  comp-nap:
    executorLabel: exec-nap
deploymentSpec:
  executors:
    exec-nap:
      container:
        image: python:3.11
        args: [--executor_input, '{{$}}', --function_to_execute, nap]
        command:
        - sh
        - -c
        - "\nif ! [ -x \"$(command -v pip)\" ]; then\n    python3 -m ensurepip || python3 -m ensurepip --user || apt-get install python3-pip\nfi\n\nPIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install --quiet --no-warn-script-location 'kfp==2.14.3' '--no-deps' 'typing-extensions>=3.7.4,<5; python_version<\"3.9\"' && \"$0\" \"$@\"\n"
        - sh
        - -ec
        - "program_path=$(mktemp -d)\n\nprintf \"%s\" \"$0\" > \"$program_path/ephemeral_component.py\"\n_KFP_RUNTIME=true python3 -m kfp.dsl.executor_main --component_module_path \"$program_path/ephemeral_component.py\" \"$@\"\n"
        - "\nimport kfp\nfrom kfp import dsl\nfrom kfp.dsl import *\nfrom typing import *\n\ndef nap():\n    import subprocess, time\n    subprocess.Popen(['sleep', '600'])\n    time.sleep(600)\n\n"
pipelineInfo: {name: python-nap}
root:
  dag:
    tasks:
      nap:
        componentRef: {name: comp-nap}
        taskInfo: {name: nap}
schemaVersion: 2.1.0
sdkVersion: kfp-2.14.3
`

// fiftySleepingRuns starts 50 runs of napTwice and waits until their 100
// processes run.
func fiftySleepingRuns(t *testing.T, p *serverProc) {
	t.Helper()
	t.Cleanup(func() { // whatever the test found, nothing stays running
		for pid := range stepProcs(t, p.home) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	pid := uploadString(t, p.base, napTwice)
	s := &statuses{}
	for i := 0; i < 50; i++ {
		code, body, _ := s.send(t, "POST", p.base+"/runs", fmt.Sprintf(`{"display_name":"nap-%02d","pipeline_version_reference":{"pipeline_id":%q}}`, i, pid))
		if code != 200 {
			t.Fatalf("create run %d: %d %s", i, code, body)
		}
	}
	waitFor(t, 60*time.Second, "100 step processes running", func() bool { return len(stepProcs(t, p.home)) == 100 })
}

// runsEnded checks that the 50 runs ended FAILED with a message saying
// want.
func runsEnded(t *testing.T, base string, want ...string) {
	t.Helper()
	res, err := http.Get(base + "/runs?page_size=100")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var list struct {
		Runs []runView `json:"runs"`
	}
	if err := json.NewDecoder(res.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if len(list.Runs) != 50 {
		t.Fatalf("%d runs listed, want 50", len(list.Runs))
	}
	bad := 0
	for _, r := range list.Runs {
		ok := r.State == "FAILED" && r.Error != nil
		for _, w := range want {
			ok = ok && strings.Contains(r.Error.Message, w)
		}
		if !ok {
			if bad++; bad <= 3 {
				t.Errorf("a run is %s %+v, want FAILED saying %q", r.State, r.Error, want)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of 50 runs did not end with the reason", bad)
	}
}

// TestStepsDieWithServer: no step outlives its server. A server running 50
// runs (each a step with a child) is killed with SIGKILL: the parent-death
// signal kills each step's first process at once, and the next server
// kills the children it finds through the engine's records before it
// ends the runs, naming them. A server stopped with SIGTERM stops its runs
// itself, records them FAILED with the reason and exits 0.
func TestStepsDieWithServer(t *testing.T) {
	t.Run("kill -9", func(t *testing.T) {
		home := t.TempDir()
		p := startServerProc(t, home)
		fiftySleepingRuns(t, p)
		syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL) // the server alone, not its steps' groups
		<-p.exited
		time.Sleep(500 * time.Millisecond)
		left := stepProcs(t, home)
		for pid, comm := range left {
			if comm != "sleep" {
				t.Errorf("process %d (%s) outlived the server: only the steps' children may (the parent-death signal kills the steps)", pid, comm)
			}
		}
		t.Logf("after kill -9: %d of 100 step processes left (the steps' children)", len(left))
		p = startServerProc(t, home)
		if left := stepProcs(t, home); len(left) > 0 {
			t.Errorf("after the restart %d step processes are left: %v", len(left), left)
		}
		runsEnded(t, p.base, "the server stopped while this run was in flight", "its leftover step processes were killed")
	})
	t.Run("kill -9 with Python steps", func(t *testing.T) {
		home := t.TempDir()
		p := startServerProc(t, home)
		t.Cleanup(func() {
			for pid := range stepProcs(t, home) {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		})
		pid := uploadString(t, p.base, pythonNap)
		for i := 0; i < 5; i++ {
			if code, body := send(t, "POST", p.base+"/runs", "application/json", strings.NewReader(fmt.Sprintf(
				`{"display_name":"py-%d","pipeline_version_reference":{"pipeline_id":%q}}`, i, pid))); code != 200 {
				t.Fatalf("create run: %d %s", code, body)
			}
		}
		sleeps := func() int {
			n := 0
			for _, comm := range stepProcs(t, home) {
				if comm == "sleep" {
					n++
				}
			}
			return n
		}
		waitFor(t, 60*time.Second, "the 5 Python steps' children running", func() bool { return sleeps() == 5 })
		syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
		time.Sleep(500 * time.Millisecond)
		t.Logf("after kill -9: %d processes of the Python steps left", len(stepProcs(t, home)))
		p = startServerProc(t, home)
		if left := stepProcs(t, home); len(left) > 0 {
			t.Errorf("after the restart %d processes of the Python steps are left: %v", len(left), left)
		}
	})
	t.Run("SIGTERM", func(t *testing.T) {
		home := t.TempDir()
		p := startServerProc(t, home)
		fiftySleepingRuns(t, p)
		start := time.Now()
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(45 * time.Second):
			t.Fatalf("the server did not exit within 45 s of SIGTERM:\n%s", p.stderr)
		}
		if p.err != nil {
			t.Errorf("the server's exit after SIGTERM: %v\n%s", p.err, p.stderr)
		}
		t.Logf("SIGTERM with 50 runs: the server exited in %v", time.Since(start).Round(time.Millisecond))
		if left := stepProcs(t, home); len(left) > 0 {
			t.Errorf("after SIGTERM %d step processes are left: %v", len(left), left)
		}
		p = startServerProc(t, home)
		runsEnded(t, p.base, "the server shut down while this run was in flight: its steps were stopped")
	})
}

// slowUpload is a pipeline upload whose body the test sends in two parts.
type slowUpload struct {
	finish func() // sends the rest of the body
	answer chan uploadAnswer
}

type uploadAnswer struct {
	code       int
	body       string
	retryAfter string
	err        error
}

// startUpload sends the first half of an upload of napPipeline named name
// and leaves the request open.
func startUpload(t *testing.T, base, name string) *slowUpload {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	req, _ := http.NewRequest("POST", base+"/pipelines/upload?name="+name, pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	u := &slowUpload{answer: make(chan uploadAnswer, 1)}
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			u.answer <- uploadAnswer{err: err}
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		u.answer <- uploadAnswer{code: res.StatusCode, body: string(b), retryAfter: res.Header.Get("Retry-After")}
	}()
	fw, _ := mw.CreateFormFile("uploadfile", name+".yaml")
	half := len(napPipeline) / 2
	go fw.Write([]byte(napPipeline[:half]))
	u.finish = func() {
		go func() {
			fw.Write([]byte(napPipeline[half:]))
			mw.Close()
			pw.Close()
		}()
	}
	t.Cleanup(func() { pw.CloseWithError(io.ErrClosedPipe) })
	return u
}

// TestShutdownAnswersUploads: SIGTERM while two uploads are in flight. The
// one whose body arrives within the grace is stored (200), the one that
// keeps the server waiting is answered 503 with Retry-After, and the
// server exits 0 well before its 10 s shutdown limit.
func TestShutdownAnswersUploads(t *testing.T) {
	home := t.TempDir()
	p := startServerProc(t, home)
	quick, slow := startUpload(t, p.base, "quick"), startUpload(t, p.base, "slow")
	time.Sleep(time.Second) // both requests are being read
	start := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(time.Second)
	quick.finish()
	if a := <-quick.answer; a.err != nil || a.code != 200 {
		t.Errorf("the upload finished during the shutdown: %+v, want 200", a)
	}
	select {
	case a := <-slow.answer:
		if a.err != nil || a.code != http.StatusServiceUnavailable || a.retryAfter == "" || !strings.Contains(a.body, "shutting down") {
			t.Errorf("the upload that never finished: %+v, want 503 with Retry-After saying the server is shutting down", a)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no answer to the unfinished upload")
	}
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		t.Fatal("the server did not exit")
	}
	t.Logf("SIGTERM during two uploads: the server exited in %v", time.Since(start).Round(time.Millisecond))
	if p.err != nil {
		t.Errorf("the server's exit: %v\n%s", p.err, p.stderr)
	}
	p = startServerProc(t, home)
	for name, want := range map[string]int{"quick": 200, "slow": 404} {
		if code, body := send(t, "GET", p.base+"/pipelines/names/"+name, "", nil); code != want {
			t.Errorf("pipeline %s after the restart: %d %s, want %d", name, code, body, want)
		}
	}
}
