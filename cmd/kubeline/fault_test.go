package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// The tests of this file are issue #16's storage faults, on a real server
// process: a full disk (a small tmpfs holding the store), a database
// locked by another process, a read-only home, a second server.

// tmpfs mounts a tmpfs of size bytes on a new directory, unmounted when
// the test ends. Mounting needs root: the test is skipped otherwise.
func tmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: mounting a tmpfs for the store needs root (mount -t tmpfs); this test runs as uid", os.Geteuid())
	}
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file in dir until the file system is full, and returns a
// function that frees the space again.
func fill(t *testing.T, dir string) (free func()) {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", dir, err)
			}
			break
		}
	}
	f.Close()
	return func() {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
}

// statuses records every answer a test got, to check no 5xx but 503 came.
type statuses struct {
	mu   sync.Mutex
	seen []string
}

func (s *statuses) send(t *testing.T, method, url, body string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 64<<10)
	n, _ := res.Body.Read(buf)
	b.Write(buf[:n])
	s.mu.Lock()
	s.seen = append(s.seen, fmt.Sprintf("%d %s %s: %.200s", res.StatusCode, method, url, b.String()))
	s.mu.Unlock()
	return res.StatusCode, b.String(), res.Header
}

// no5xx fails the test for any 5xx answer but 503 with Retry-After.
func (s *statuses) no5xx(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.seen {
		if a[0] == '5' && !strings.HasPrefix(a, "503 ") {
			t.Errorf("a %s", a)
		}
	}
}

// unavailable fails the test unless the answer was 503 with Retry-After.
func unavailable(t *testing.T, what string, code int, body string, h http.Header) {
	t.Helper()
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Errorf("%s: %d (Retry-After %q) %.300s, want 503 with Retry-After", what, code, h.Get("Retry-After"), body)
	}
}

type runView struct {
	State string `json:"state"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

func getRun(t *testing.T, s *statuses, base, id string) runView {
	t.Helper()
	code, body, _ := s.send(t, "GET", base+"/runs/"+id, "")
	var r runView
	if code != 200 || json.Unmarshal([]byte(body), &r) != nil {
		t.Fatalf("get run %s: %d %s", id, code, body)
	}
	return r
}

// waitFor polls cond every 100 ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("%s: not within %v", what, d)
}

const napPipeline = `components:
  comp-nap:
    executorLabel: exec-nap
    inputDefinitions:
      parameters:
        seconds: {parameterType: STRING}
deploymentSpec:
  executors:
    exec-nap:
      container: {image: alpine, command: [sh, -c, 'sleep "$0"', '{{$.inputs.parameters[''seconds'']}}']}
pipelineInfo: {name: nap}
root:
  inputDefinitions:
    parameters:
      seconds: {parameterType: STRING, defaultValue: "1"}
  dag:
    tasks:
      nap:
        componentRef: {name: comp-nap}
        inputs:
          parameters:
            seconds: {componentInputParameter: seconds}
        taskInfo: {name: nap}
schemaVersion: 2.1.0
`

// startRun starts a run of pipeline pid sleeping seconds and returns its id.
func startRun(t *testing.T, s *statuses, base, pid, seconds string) string {
	t.Helper()
	code, body, _ := s.send(t, "POST", base+"/runs", fmt.Sprintf(
		`{"display_name":"nap %s","pipeline_version_reference":{"pipeline_id":%q},"runtime_config":{"parameters":{"seconds":%q}}}`, seconds, pid, seconds))
	var r struct {
		ID string `json:"run_id"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &r) != nil {
		t.Fatalf("create run: %d %s", code, body)
	}
	return r.ID
}

// TestStoreDiskFull: the store's disk fills while one run is about to end
// and another runs. Writes answer 503 with Retry-After, /readyz fails, the
// ended run stays RUNNING (its end waits, it is not lost), terminate is a
// 503 and delete a 409; once space returns, the ended run is SUCCEEDED
// with a message saying the store was unavailable, /readyz recovers, and
// terminate and delete work. No 500 anywhere.
func TestStoreDiskFull(t *testing.T) {
	mnt := tmpfs(t, "8m")
	p := startServerProc(t, t.TempDir(), "--db", filepath.Join(mnt, "kubeline.db"))
	s := &statuses{}
	defer s.no5xx(t)
	pid := uploadString(t, p.base, napPipeline)
	short := startRun(t, s, p.base, pid, "2")
	long := startRun(t, s, p.base, pid, "600")
	waitFor(t, 10*time.Second, "both runs RUNNING", func() bool {
		return getRun(t, s, p.base, short).State == "RUNNING" && getRun(t, s, p.base, long).State == "RUNNING"
	})
	free := fill(t, mnt)
	code, body, h := s.send(t, "POST", p.base+"/experiments", `{"display_name":"while full"}`)
	unavailable(t, "create an experiment on a full disk", code, body, h)
	waitFor(t, 10*time.Second, "/readyz failing", func() bool {
		code, _, _ := s.send(t, "GET", p.root+"/readyz", "")
		return code == http.StatusServiceUnavailable
	})
	time.Sleep(4 * time.Second) // the short run's step has ended by now
	if r := getRun(t, s, p.base, short); r.State != "RUNNING" {
		t.Errorf("the run that ended while the disk was full is %s, want RUNNING until its end is recorded", r.State)
	}
	code, body, h = s.send(t, "POST", p.base+"/runs/"+long+":terminate", "")
	unavailable(t, "terminate on a full disk", code, body, h)
	code, body, h = uploadDataset(t, s, p.root, "d")
	unavailable(t, "a dataset upload on a full disk", code, body, h)
	if left, _ := filepath.Glob(filepath.Join(p.home, "artifacts", "kubeline", "versions", "datasets", "d", "*")); len(left) > 0 {
		t.Errorf("the failed dataset version left %v in the artifact store", left)
	}
	if code, body, _ := s.send(t, "DELETE", p.base+"/runs/"+long, ""); code != http.StatusConflict {
		t.Errorf("delete a running run: %d %s, want 409", code, body)
	}
	free()
	waitFor(t, 15*time.Second, "the ended run recorded", func() bool { return getRun(t, s, p.base, short).State == "SUCCEEDED" })
	if r := getRun(t, s, p.base, short); r.Error == nil || !strings.Contains(r.Error.Message, "the store was unavailable (the database's disk is full)") {
		t.Errorf("the run's message: %+v, want it to say the store was unavailable", r.Error)
	}
	waitFor(t, 10*time.Second, "/readyz ok", func() bool {
		code, _, _ := s.send(t, "GET", p.root+"/readyz", "")
		return code == http.StatusOK
	})
	if code, body, _ := s.send(t, "POST", p.base+"/runs/"+long+":terminate", ""); code != 200 {
		t.Fatalf("terminate after the fault: %d %s", code, body)
	}
	waitFor(t, 15*time.Second, "the terminated run CANCELED", func() bool { return getRun(t, s, p.base, long).State == "CANCELED" })
	if code, body, _ := s.send(t, "DELETE", p.base+"/runs/"+long, ""); code != 200 {
		t.Errorf("delete after the fault: %d %s", code, body)
	}
	if code, body, _ := uploadDataset(t, s, p.root, "d"); code != 200 || !strings.Contains(body, `"version":1`) {
		t.Errorf("the dataset upload after the fault: %d %s, want v1", code, body)
	}
	p.healthy()
}

// uploadDataset uploads a small file as the next version of dataset name.
func uploadDataset(t *testing.T, s *statuses, root, name string) (int, string, http.Header) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("uploadfile", "data.csv")
	fw.Write([]byte("a,b\n1,2\n"))
	mw.Close()
	req, _ := http.NewRequest("POST", root+"/apis/kubeline/v1/datasets/"+name+"/versions:upload", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	s.mu.Lock()
	s.seen = append(s.seen, fmt.Sprintf("%d POST dataset upload: %.200s", res.StatusCode, b))
	s.mu.Unlock()
	return res.StatusCode, string(b), res.Header
}

// lockDB holds SQLite's write lock on the database at path from this test
// process until the returned function is called.
func lockDB(t *testing.T, path string) (unlock func()) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("lock the store: %v", err)
	}
	var once sync.Once
	unlock = func() {
		once.Do(func() {
			conn.ExecContext(context.Background(), "ROLLBACK")
			conn.Close()
			db.Close()
		})
	}
	t.Cleanup(unlock)
	return unlock
}

// TestStoreLocked: another process holds the database's write lock while a
// run ends. Writes answer 503 with Retry-After (not SQLITE_BUSY's 500),
// /readyz fails; once the lock is let go, the run's end is recorded with a
// message naming the lock and /readyz recovers.
func TestStoreLocked(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "kubeline.db")
	p := startServerProc(t, t.TempDir(), "--db", db+"?_pragma=busy_timeout(1000)")
	s := &statuses{}
	defer s.no5xx(t)
	pid := uploadString(t, p.base, napPipeline)
	run := startRun(t, s, p.base, pid, "2")
	waitFor(t, 10*time.Second, "the run RUNNING", func() bool { return getRun(t, s, p.base, run).State == "RUNNING" })
	unlock := lockDB(t, db)
	code, body, h := s.send(t, "POST", p.base+"/experiments", `{"display_name":"while locked"}`)
	unavailable(t, "create an experiment while the store is locked", code, body, h)
	if !strings.Contains(body, "locked by another process") {
		t.Errorf("the 503 does not say the store is locked: %s", body)
	}
	code, body, _ = s.send(t, "GET", p.root+"/readyz", "")
	if code != http.StatusServiceUnavailable {
		t.Errorf("/readyz while locked: %d %s", code, body)
	}
	time.Sleep(4 * time.Second) // the run's step has ended
	if r := getRun(t, s, p.base, run); r.State != "RUNNING" {
		t.Errorf("the run that ended while the store was locked is %s, want RUNNING until its end is recorded", r.State)
	}
	unlock()
	waitFor(t, 15*time.Second, "the run's end recorded", func() bool { return getRun(t, s, p.base, run).State == "SUCCEEDED" })
	if r := getRun(t, s, p.base, run); r.Error == nil || !strings.Contains(r.Error.Message, "the store was unavailable (the database is locked by another process)") {
		t.Errorf("the run's message: %+v, want it to name the lock", r.Error)
	}
	waitFor(t, 10*time.Second, "/readyz ok", func() bool {
		code, _, _ := s.send(t, "GET", p.root+"/readyz", "")
		return code == http.StatusOK
	})
}

// startFails starts a server that must exit non-zero, and returns what it
// wrote.
func startFails(t *testing.T, home string, args ...string) string {
	t.Helper()
	p := launchServerProc(t, home, args...)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("the server did not exit: %s", p.stderr)
	}
	if p.err == nil {
		t.Fatalf("the server exited 0: %s", p.stderr)
	}
	return p.stderr.String()
}

// TestStartErrors: a server that cannot use its store says why.
func TestStartErrors(t *testing.T) {
	t.Run("read-only home", func(t *testing.T) {
		mnt := tmpfs(t, "4m")
		if out, err := exec.Command("mount", "-o", "remount,ro", mnt).CombinedOutput(); err != nil {
			t.Fatalf("remount read-only: %v %s", err, out)
		}
		out := startFails(t, mnt)
		if !strings.Contains(out, mnt+" is on a read-only file system") {
			t.Errorf("start error: %s\nwant it to say %s is read-only", out, mnt)
		}
	})
	t.Run("full disk", func(t *testing.T) {
		mnt := tmpfs(t, "1m")
		fill(t, mnt)
		out := startFails(t, mnt)
		if !strings.Contains(out, "the disk holding "+mnt+" is full") {
			t.Errorf("start error: %s\nwant it to say the disk is full", out)
		}
	})
	t.Run("locked", func(t *testing.T) {
		dir := t.TempDir()
		db := filepath.Join(dir, "kubeline.db")
		first := startServerProc(t, t.TempDir(), "--db", db) // makes the database
		first.cmd.Process.Signal(syscall.SIGTERM)
		<-first.exited
		lockDB(t, db)
		out := startFails(t, t.TempDir(), "--db", db+"?_pragma=busy_timeout(500)")
		if want := fmt.Sprintf("the store %s is locked by process %d", db, os.Getpid()); !strings.Contains(out, want) {
			t.Errorf("start error: %s\nwant it to say %q", out, want)
		}
	})
	t.Run("second server", func(t *testing.T) {
		home := t.TempDir()
		first := startServerProc(t, home)
		out := startFails(t, home)
		want := fmt.Sprintf("the store %s is in use by another kubeline server: process %d (%s server", filepath.Join(home, "kubeline.db"), first.cmd.Process.Pid, first.cmd.Path)
		if !strings.Contains(out, want) {
			t.Errorf("second server's error: %s\nwant it to say %q", out, want)
		}
		first.healthy()
	})
}
