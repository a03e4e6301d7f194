package apiserver_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"

	"github.com/kubeline/kubeline/runtime/admission"
	"github.com/kubeline/kubeline/runtime/apiserver"
	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/coderepo"
	"github.com/kubeline/kubeline/runtime/versioning"
)

// webIDE is an IDE body whose command serves HTTP on its port with
// Python's http.server (JupyterLab is not installed here), started by a
// shell that also writes the pids of itself and its server under the IDE's
// directory, so a test can look for orphans after the stop.
func webIDE(name string, gpus int, extra map[string]any) map[string]any {
	b := map[string]any{"name": name, "image": "python", "gpus": gpus,
		"command": []string{"sh", "-c", `echo $$ > shell.pid; python3 -m http.server "$PORT" --bind 127.0.0.1 & echo $! > server.pid; wait`}}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

// waitIDE polls an IDE until its status is one of want.
func waitIDE(t *testing.T, k *kserver, token, name string, want ...string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last resp
	for time.Now().Before(deadline) {
		last = do(t, "GET", k.kl()+"/ides/"+name, token, nil)
		for _, w := range want {
			if last.body["status"] == w {
				return last.body
			}
		}
		time.Sleep(30 * time.Millisecond)
	}
	t.Fatalf("IDE %s never became %v: %s", name, want, last.raw)
	return nil
}

func statuses(ide map[string]any) []string {
	var out []string
	for _, h := range ide["status_history"].([]any) {
		out = append(out, h.(map[string]any)["status"].(string))
	}
	return out
}

// metric reads one sample of /metrics ("name{labels}" as exposed).
func metric(t *testing.T, k *kserver, sample string) string {
	t.Helper()
	res, err := http.Get(k.root + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			return v
		}
	}
	return ""
}

// TestIDEAdmission (acceptance 1): a pool of 2 GPUs; an IDE holding both
// runs and answers; a run needing 1 waits Queued saying why, while pool
// usage and /metrics show the IDE's GPUs held and the run queued; stopping
// the IDE gives the GPUs back and the run starts and completes.
func TestIDEAdmission(t *testing.T) {
	k := newKubeline(t, false, []admission.ClusterNode{{Name: "n1", GPUType: "t4", GPUs: 2}})
	if r := do(t, "POST", k.kl()+"/ides", "", webIDE("lab", 2, nil)); r.code != 200 {
		t.Fatalf("start IDE: %d %s", r.code, r.raw)
	}
	lab := waitIDE(t, k, "", "lab", "Running")
	if diff := cmp.Diff(map[string]any{"n1": 2.0}, lab["allocation"]); diff != "" || lab["pool"] != "default" {
		t.Fatalf("IDE's allocation (-want +got)\n%s\n%v", diff, lab)
	}
	if res, err := http.Get(lab["url"].(string)); err != nil || res.StatusCode != 200 {
		t.Fatalf("IDE URL %v: %v %v", lab["url"], res, err)
	}
	r := do(t, "POST", k.kfp()+"/runs", "", map[string]any{"display_name": "needs-one", "pipeline_spec": gpuSpec(t, 1, "0.1")})
	if r.code != 200 {
		t.Fatalf("create run: %d %s", r.code, r.raw)
	}
	run := r.body["run_id"].(string)
	time.Sleep(300 * time.Millisecond) // nothing frees GPUs: it stays queued
	got := do(t, "GET", k.kl()+"/runs/"+run, "", nil).body
	if got["status"] != "Queued" || got["reason"] != "needs 1 × t4 on one node; pool default has at most 0 free on a node (0 in all)" {
		t.Fatalf("run while the IDE holds the GPUs: %v", got)
	}
	pool := do(t, "GET", k.kl()+"/pools/default", "", nil).body
	if pool["used_gpus"] != 2.0 || pool["free_gpus"] != 0.0 || pool["queued_runs"] != 1.0 {
		t.Fatalf("pool while the IDE holds the GPUs: %v", pool)
	}
	for sample, want := range map[string]string{
		`kubeline_pool_gpus_in_use{gpu_type="t4",pool="default"}`: "2",
		`kubeline_admission_queue_length{pool="default"}`:         "1",
		`kubeline_ides{status="Running"}`:                         "1",
	} {
		if got := metric(t, k, sample); got != want {
			t.Errorf("/metrics %s = %q, want %s", sample, got, want)
		}
	}
	if r := do(t, "POST", k.kl()+"/ides/lab:stop", "", nil); r.code != 200 {
		t.Fatalf("stop: %d %s", r.code, r.raw)
	}
	lab = waitIDE(t, k, "", "lab", "Stopped")
	waitStatus(t, k, "", run, "Complete")
	if diff := cmp.Diff([]string{"Queued", "Starting", "Running", "Stopping", "Stopped"}, statuses(lab)); diff != "" {
		t.Fatalf("IDE statuses (-want +got)\n%s", diff)
	}
	pool = do(t, "GET", k.kl()+"/pools/default", "", nil).body
	if pool["used_gpus"] != 0.0 || metric(t, k, `kubeline_pool_gpus_in_use{gpu_type="t4",pool="default"}`) != "0" {
		t.Fatalf("pool after the IDE stopped: %v", pool)
	}
}

// TestIDEWaitsForRun: an IDE is queued behind a run like a run, stops at
// once while queued, and starts anyway when asked.
func TestIDEWaitsForRun(t *testing.T) {
	k := newKubeline(t, false, []admission.ClusterNode{{Name: "n1", GPUType: "t4", GPUs: 1}})
	r := do(t, "POST", k.kfp()+"/runs", "", map[string]any{"display_name": "holder", "pipeline_spec": gpuSpec(t, 1, "30")})
	holder := r.body["run_id"].(string)
	waitStatus(t, k, "", holder, "Starting", "Running")
	do(t, "POST", k.kl()+"/ides", "", webIDE("waits", 1, nil))
	got := waitIDE(t, k, "", "waits", "Queued")
	if got["reason"] != "needs 1 × t4 on one node; pool default has at most 0 free on a node (0 in all)" {
		t.Fatalf("queued IDE: %v", got)
	}
	if r = do(t, "POST", k.kl()+"/ides/waits:stop", "", nil); r.code != 200 || r.body["status"] != "Stopped" {
		t.Fatalf("stop a queued IDE: %d %s", r.code, r.raw)
	}
	if diff := cmp.Diff([]string{"Queued", "Stopped"}, statuses(r.body)); diff != "" {
		t.Fatalf("statuses (-want +got)\n%s", diff)
	}
	do(t, "POST", k.kl()+"/ides", "", webIDE("waits", 1, nil)) // an ended IDE's name starts again
	waitIDE(t, k, "", "waits", "Queued")
	if r := do(t, "POST", k.kl()+"/ides/waits:start_anyway", "", nil); r.code != 200 {
		t.Fatalf("start anyway: %d %s", r.code, r.raw)
	}
	got = waitIDE(t, k, "", "waits", "Running")
	if got["allocation"] != nil {
		t.Fatalf("a start-anyway IDE holds GPUs: %v", got)
	}
	if r := do(t, "DELETE", k.kl()+"/ides/waits", "", nil); r.code != 409 {
		t.Fatalf("delete a running IDE: %d %s", r.code, r.raw)
	}
	do(t, "POST", k.kl()+"/ides/waits:stop", "", nil)
	waitIDE(t, k, "", "waits", "Stopped")
	if r := do(t, "DELETE", k.kl()+"/ides/waits", "", nil); r.code != 200 {
		t.Fatalf("delete a stopped IDE: %d %s", r.code, r.raw)
	}
	// A project puts the IDE in its group; a missing one is named.
	if r := do(t, "POST", k.kl()+"/projects", "", map[string]any{"name": "proj", "metric": "acc"}); r.code != 200 {
		t.Fatalf("project: %d %s", r.code, r.raw)
	}
	if r := do(t, "POST", k.kl()+"/ides", "", webIDE("in-proj", 0, map[string]any{"project": "proj"})); r.code != 200 || r.body["project"] != "proj" || r.body["group"] != "default" {
		t.Fatalf("IDE of a project: %d %s", r.code, r.raw)
	}
	do(t, "POST", k.kl()+"/ides/in-proj:stop", "", nil)
	for body, want := range map[string]map[string]any{
		"ide.project: project \"nope\"":     {"project": "nope"},
		"ide.datasets[0]: want NAME@vN":     {"datasets": []string{"iris"}},
		"ide.image: image://gone is not in": {"image": "image://gone"},
		"ide.gpus: -1":                      {"gpus": -1},
	} {
		b := webIDE("bad", 0, want)
		if r := do(t, "POST", k.kl()+"/ides", "", b); r.code != 400 || !strings.Contains(fmt.Sprint(r.body["message"]), body) {
			t.Errorf("%v: %d %s, want 400 naming %q", want, r.code, r.raw, body)
		}
	}
	do(t, "POST", k.kfp()+"/runs/"+holder+":terminate", "", nil)
}

// TestEmbeddedIDE (acceptance 2): a real process serves the IDE's URL with
// the dataset version it mounts in its directory; stop ends it and every
// process it started (no orphan); statuses are recorded in order. Run
// plain and in a multi-user server's sandbox.
func TestEmbeddedIDE(t *testing.T) {
	for _, sandboxed := range []bool{false, true} {
		t.Run(map[bool]string{false: "single-user", true: "sandboxed"}[sandboxed], func(t *testing.T) {
			k := startKubeline(t, serverOptions{sandboxed: sandboxed})
			if r := uploadVersionAs(t, k, "dataset", "iris", "5.1,3.5,1.4\n", ""); r.code != 200 {
				t.Fatalf("dataset: %d %s", r.code, r.raw)
			}
			src := t.TempDir()
			os.WriteFile(filepath.Join(src, "train.py"), []byte("print('training')\n"), 0o644)
			v := &versioning.Versioner{Objects: artifact.Dir{Root: filepath.Join(k.home, "artifacts")}, Records: k.st}
			if _, err := v.CreateCode(context.Background(), "trainer", coderepo.Source{Location: src}); err != nil {
				t.Fatal(err)
			}
			r := do(t, "POST", k.kl()+"/ides", "", webIDE("lab", 0, map[string]any{"datasets": []string{"iris@latest"}, "code": "trainer@v1"}))
			if r.code != 200 {
				t.Fatalf("start: %d %s", r.code, r.raw)
			}
			lab := waitIDE(t, k, "", "lab", "Running")
			url := lab["url"].(string)
			if lab["datasets"].([]any)[0] != "iris@v1" || lab["lineage"].(map[string]any)["datasets"].([]any)[0] != "iris@v1" {
				t.Fatalf("mounted versions: %v", lab)
			}
			if code, got := get(t, url+"datasets/iris"); code != 200 || !strings.Contains(got, "5.1,3.5,1.4") {
				t.Fatalf("the dataset version is not in the IDE's directory: %s", got)
			}
			if code, got := get(t, url+"code/trainer/train.py"); code != 200 || got != "print('training')\n" || lab["code"] != "trainer@v1" {
				t.Fatalf("the code version is not in the IDE's directory: %d %q (%v)", code, got, lab["code"])
			}
			usage := do(t, "GET", k.kl()+"/datasets/iris/versions/v1/usage", "", nil)
			if !strings.Contains(usage.raw, `"ide":"lab"`) || !strings.Contains(usage.raw, `"how":"mounted"`) {
				t.Fatalf("the dataset version's usage does not name the IDE: %s", usage.raw)
			}
			pids := idePids(t, k.home)
			for _, pid := range pids {
				if !alive(pid) {
					t.Fatalf("process %d of the IDE is not running", pid)
				}
			}
			if r := do(t, "POST", k.kl()+"/ides/lab:stop", "", nil); r.code != 200 {
				t.Fatalf("stop: %d %s", r.code, r.raw)
			}
			lab = waitIDE(t, k, "", "lab", "Stopped", "Error")
			if diff := cmp.Diff([]string{"Queued", "Starting", "Running", "Stopping", "Stopped"}, statuses(lab)); diff != "" {
				t.Fatalf("statuses (-want +got)\n%s\n%v", diff, lab)
			}
			deadline := time.Now().Add(5 * time.Second)
			for _, pid := range pids {
				for alive(pid) && time.Now().Before(deadline) {
					time.Sleep(20 * time.Millisecond)
				}
				if alive(pid) {
					t.Errorf("process %d outlived the IDE's stop", pid)
				}
			}
			if _, err := http.Get(url); err == nil {
				t.Errorf("the IDE's URL still answers after the stop")
			}
		})
	}
}

// idePids reads the pids the IDE's shell wrote (host pids: the sandbox's
// pid namespace shows its own, so they are looked up by command line).
func idePids(t *testing.T, home string) []int {
	t.Helper()
	var pids []int
	for _, f := range []string{"shell.pid", "server.pid"} {
		var matches []string
		deadline := time.Now().Add(10 * time.Second)
		for len(matches) == 0 && time.Now().Before(deadline) {
			matches, _ = filepath.Glob(filepath.Join(home, "runs", "*", "*", "root", "kubeline", "ide", f))
			time.Sleep(20 * time.Millisecond)
		}
		if len(matches) == 0 {
			t.Fatalf("the IDE wrote no %s under %s", f, home)
		}
		b, _ := os.ReadFile(matches[0])
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatalf("%s: %q", f, b)
		}
		pids = append(pids, hostPid(pid, f == "server.pid"))
	}
	return pids
}

// hostPid maps a pid seen in the step's pid namespace to the host's: the
// process whose NSpid line ends with it and that runs the IDE's command.
func hostPid(pid int, server bool) int {
	want := "sh"
	if server {
		want = "http.server"
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		host, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		status, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		for _, line := range strings.Split(string(status), "\n") {
			if f, ok := strings.CutPrefix(line, "NSpid:"); ok {
				ns := strings.Fields(f)
				if len(ns) > 0 && ns[len(ns)-1] == strconv.Itoa(pid) && strings.Contains(string(cmdline), want) {
					return host
				}
			}
		}
	}
	return pid
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	return err == nil && !strings.Contains(string(stat), ") Z ")
}

// buildEngine stands in for Argo in TestImageBuildEntersCatalog: every
// workflow it is given succeeds at once (no BuildKit pod runs here).
type buildEngine struct{ wfs sync.Map }

func (e *buildEngine) Submit(_ context.Context, wf *wfv1.Workflow) (string, error) {
	e.wfs.Store(wf.Name, wf.DeepCopy())
	return wf.Name, nil
}

func (e *buildEngine) Watch(_ context.Context, name string) (<-chan *wfv1.Workflow, error) {
	v, _ := e.wfs.Load(name)
	wf := v.(*wfv1.Workflow).DeepCopy()
	wf.Status.Phase = wfv1.WorkflowSucceeded
	ch := make(chan *wfv1.Workflow, 1)
	ch <- wf
	close(ch)
	return ch, nil
}

func (e *buildEngine) Stop(context.Context, string) error { return nil }

// TestImageBuildEntersCatalog: an ImageBuild run refused by an embedded
// engine's server; on a server whose steps are pods (an engine standing in
// for Argo), the succeeded build's image enters the group's catalog with
// its code version and the run that built it.
func TestImageBuildEntersCatalog(t *testing.T) {
	doc := map[string]any{"apiVersion": "kubeline.io/v1alpha1", "kind": "ImageBuild", "metadata": map[string]any{"name": "trainer"},
		"spec": map[string]any{"code": "trainer@v3", "destination": "registry.example.com/team/trainer:v3",
			"catalog": map[string]any{"name": "trainer", "framework": "pytorch", "version": "2.5", "gpu": true}}}
	embedded := newKubeline(t, false, nil)
	if r := do(t, "POST", embedded.kfp()+"/runs", "", map[string]any{"display_name": "b", "pipeline_spec": doc}); r.code != 400 || !strings.Contains(r.raw, "--engine argo") {
		t.Fatalf("an ImageBuild on the embedded engine: %d %s", r.code, r.raw)
	}
	k := startKubeline(t, serverOptions{engine: &buildEngine{}, with: func(api *apiserver.Server, _ context.Context) {
		api.WithIDEs(apiserver.IDEOptions{Address: func(context.Context, string, *wfv1.Workflow) (string, error) { return "", nil }})
	}})
	r := do(t, "POST", k.kfp()+"/runs", "", map[string]any{"display_name": "build", "pipeline_spec": doc})
	if r.code != 200 {
		t.Fatalf("build run: %d %s", r.code, r.raw)
	}
	run := r.body["run_id"].(string)
	waitStatus(t, k, "", run, "Complete")
	got := do(t, "GET", k.kl()+"/images/default/trainer", "", nil)
	want := map[string]any{"name": "trainer", "image": "registry.example.com/team/trainer:v3", "framework": "pytorch", "version": "2.5",
		"gpu": true, "source": "code://trainer@v3", "build": run, "group": "default", "standard": false}
	for key, v := range want {
		if got.body[key] != v {
			t.Errorf("catalog entry %s = %v, want %v (%s)", key, got.body[key], v, got.raw)
		}
	}
}

// TestEmbeddedIDEJupyter: where jupyter-lab is installed, an IDE that names
// no command serves JupyterLab on its port with its token. JupyterLab is
// not installed here (and cannot be: no PyPI), so a stand-in jupyter-lab
// on PATH records its arguments and environment and serves HTTP.
func TestEmbeddedIDEJupyter(t *testing.T) {
	bin := t.TempDir()
	fake := "#!/bin/sh\nfor a; do case $a in --port=*) port=${a#--port=};; esac; done\n" +
		"echo \"$* token=$JUPYTER_TOKEN\" > jupyter-args\nexec python3 -m http.server \"$port\" --bind 127.0.0.1\n"
	if err := os.WriteFile(filepath.Join(bin, "jupyter-lab"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	k := startKubeline(t, serverOptions{with: func(api *apiserver.Server, _ context.Context) {
		api.WithIDEs(apiserver.IDEOptions{Jupyter: true})
	}})
	if r := do(t, "POST", k.kl()+"/ides", "", map[string]any{"name": "nb", "image": "jupyter-scipy"}); r.code != 200 {
		t.Fatalf("start: %d %s", r.code, r.raw)
	}
	nb := waitIDE(t, k, "", "nb", "Running")
	code, args := get(t, nb["url"].(string)+"jupyter-args")
	port := strings.TrimSuffix(strings.TrimPrefix(nb["url"].(string), "http://127.0.0.1:"), "/")
	want := "--no-browser --ip=127.0.0.1 --port=" + port + " token=" + nb["token"].(string) + "\n"
	if code != 200 || args != want || nb["image_ref"] != "quay.io/jupyter/scipy-notebook:2026-08-24" {
		t.Fatalf("JupyterLab's arguments: %d %q, want %q (%v)", code, args, want, nb)
	}
	do(t, "POST", k.kl()+"/ides/nb:stop", "", nil)
	waitIDE(t, k, "", "nb", "Stopped")
	// Without JupyterLab, an image that names no command is refused.
	plain := newKubeline(t, false, nil)
	if r := do(t, "POST", plain.kl()+"/ides", "", map[string]any{"name": "nb", "image": "python"}); r.code != 400 || !strings.Contains(r.raw, "ide.command: JupyterLab is not installed") {
		t.Fatalf("no JupyterLab and no command: %d %s", r.code, r.raw)
	}
}

// TestIDEOnPods: on an engine whose steps are pods the server probes the
// address the engine gives (here the embedded engine's process stands in
// for the pod, at 127.0.0.1 on the configured port) and reports the URL of
// the Service the engine puts in front of the pod, named for the IDE and
// selecting its label.
func TestIDEOnPods(t *testing.T) {
	port, err := freeTCPPort()
	if err != nil {
		t.Fatal(err)
	}
	var exposed sync.Map
	k := startKubeline(t, serverOptions{with: func(api *apiserver.Server, _ context.Context) {
		api.WithIDEs(apiserver.IDEOptions{Port: port,
			Address: func(context.Context, string, *wfv1.Workflow) (string, error) { return "127.0.0.1", nil },
			Expose: func(_ context.Context, workflow string, _ *wfv1.Workflow, name string, selector map[string]string, p int) (string, error) {
				exposed.Store(name, fmt.Sprint(selector, p, workflow != ""))
				return "http://" + name + ".team.svc:" + strconv.Itoa(p) + "/", nil
			}})
	}})
	if r := do(t, "POST", k.kl()+"/ides", "", webIDE("pod-lab", 0, nil)); r.code != 200 {
		t.Fatalf("start: %d %s", r.code, r.raw)
	}
	lab := waitIDE(t, k, "", "pod-lab", "Running")
	if want := "http://ide-pod-lab.team.svc:" + strconv.Itoa(port) + "/"; lab["url"] != want {
		t.Fatalf("url %v, want %s", lab["url"], want)
	}
	if got, _ := exposed.Load("ide-pod-lab"); got != fmt.Sprint(map[string]string{"kubeline.io/ide": "pod-lab"}, port, true) {
		t.Fatalf("the Service asked for: %v", got)
	}
	do(t, "POST", k.kl()+"/ides/pod-lab:stop", "", nil)
	waitIDE(t, k, "", "pod-lab", "Stopped")
}

func freeTCPPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
