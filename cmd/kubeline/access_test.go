package main

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeline/kubeline/runtime/store"
)

func TestGPUFlag(t *testing.T) {
	cases := []struct {
		args []string
		want gpuFlag
		err  string
	}{
		{[]string{"a100:n1=8,n2=4", "t4:m1=2"}, gpuFlag{{Name: "n1", GPUType: "a100", GPUs: 8}, {Name: "n2", GPUType: "a100", GPUs: 4}, {Name: "m1", GPUType: "t4", GPUs: 2}}, ""},
		{[]string{"n1=8"}, nil, "want TYPE:NODE=N"},
		{[]string{"a100:n1=0"}, nil, `node "n1=0": want NODE=N with N > 0`},
		{[]string{"a100:n1=2", "t4:n1=2"}, nil, `node "n1" is given twice`},
	}
	for _, c := range cases {
		var g gpuFlag
		var err error
		for _, a := range c.args {
			if err = g.Set(a); err != nil {
				break
			}
		}
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%v: %v, want %q", c.args, err, c.err)
			}
			continue
		}
		if diff := cmp.Diff(c.want, g); err != nil || diff != "" {
			t.Errorf("%v (-want +got)\n%s %v", c.args, diff, err)
		}
	}
}

// lockedBuffer is the server's log, read while it writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServer runs `kubeline server` in-process on a loopback port until
// the test ends, and returns its URL and log.
func startServer(t *testing.T, acc accessFlags) (string, *lockedBuffer, func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	log := &lockedBuffer{}
	served := make(chan error, 1)
	go func() { served <- serveWith(ctx, l, "", storeFlags{}, acc, log) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-served; err != nil {
				t.Errorf("server: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	u := "http://" + l.Addr().String()
	for i := 0; i < 200; i++ {
		if r, err := http.Get(u + "/apis/v2beta1/healthz"); err == nil {
			r.Body.Close()
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return u, log, stop
}

// kl runs the CLI and returns its exit code, stdout and stderr.
func kl(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, nil, &out, &errb)
	return code, squash(out.String()), errb.String()
}

// squash collapses runs of spaces, so tests do not depend on column widths.
func squash(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}

// TestMultiUserServerAndCLI: the first multi-user start makes an operator
// and prints its token once; the operator splits the cluster's GPUs into
// pools and sets up a group and a user with the CLI; that user's project,
// runs, leaderboard and compare work over HTTP; no token is refused; a
// restart keeps the users and needs no flag to stay multi-user.
func TestMultiUserServerAndCLI(t *testing.T) {
	t.Setenv("KUBELINE_HOME", t.TempDir())
	t.Setenv("KUBELINE_TOKEN", "")
	var gpus gpuFlag
	if err := gpus.Set("a100:n1=4"); err != nil {
		t.Fatal(err)
	}
	if err := gpus.Set("t4:n2=2"); err != nil {
		t.Fatal(err)
	}
	u, log, _ := startServer(t, accessFlags{multiUser: true, gpus: gpus})
	m := regexp.MustCompile(`KUBELINE_TOKEN=(\S+)`).FindStringSubmatch(log.String())
	if m == nil {
		t.Fatalf("no bootstrap token in the log:\n%s", log)
	}
	op := []string{"--server", u, "--token", m[1]}
	steps := []struct {
		args []string
		out  string
	}{
		{[]string{"pools", "create", "fast", "--nodes", "n1=4"}, "gpu_type: a100"},
		{[]string{"pools", "list"}, "cluster: 6 GPUs"},
		{[]string{"groups", "create", "vision", "--pool", "fast"}, "pool: fast"},
		{[]string{"users", "create", "ann", "--roles", "ds,ml", "--groups", "vision"}, "roles: data-scientist,ml-engineer"},
		{[]string{"users", "list"}, "ann data-scientist,ml-engineer vision"},
	}
	for _, s := range steps {
		code, out, errs := kl(append(s.args, op...)...)
		if code != 0 || !strings.Contains(out, s.out) {
			t.Fatalf("kubeline %v: %d\n%s%s\nwant %q", s.args, code, out, errs, s.out)
		}
	}
	if code, _, errs := kl("pools", "create", "x", "--nodes", "n1=1", "--server", u, "--token", m[1]); code != 1 || !strings.Contains(errs, `pools: node "n1" has 4 GPUs, the pools are given 5`) {
		t.Fatalf("over-given node: %d %s", code, errs)
	}
	code, tok, errs := kl(append([]string{"users", "create-token", "ann"}, op...)...)
	if code != 0 {
		t.Fatalf("create-token: %s", errs)
	}
	ann := []string{"--server", u, "--token", strings.TrimSpace(tok)}
	if code, out, _ := kl(append([]string{"users", "whoami"}, ann...)...); code != 0 || !strings.Contains(out, "name: ann") {
		t.Fatalf("whoami: %s", out)
	}
	if code, _, errs := kl("users", "list", "--server", u); code != 1 || !strings.Contains(errs, "multi-user") {
		t.Fatalf("no token: %d %s", code, errs)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "project.yaml")
	os.WriteFile(good, []byte("apiVersion: kubeline.io/v1alpha1\nkind: Project\nmetadata: {name: mnist}\nspec:\n  group: vision\n  leaderboard: {metric: accuracy, direction: maximize}\n"), 0o644)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("apiVersion: v1\nkind: Project\nmetadata: {name: x}\nspec:\n  leaderboard: {direction: up}\n"), 0o644)
	if code, _, errs := kl(append([]string{"projects", "create", "-f", bad}, ann...)...); code != 1 ||
		!strings.Contains(errs, "apiVersion: want kubeline.io/v1alpha1") || !strings.Contains(errs, "spec.leaderboard.metric is required") ||
		!strings.Contains(errs, `spec.leaderboard.direction: want maximize or minimize, got "up"`) {
		t.Fatalf("bad project: %d %s", code, errs)
	}
	code, out, errs := kl(append([]string{"projects", "create", "-f", good, "-o", "json"}, ann...)...)
	if code != 0 {
		t.Fatalf("project: %s", errs)
	}
	var proj map[string]any
	json.Unmarshal([]byte(out), &proj)
	run := createRun(t, u, strings.TrimSpace(tok), proj["experiment_id"].(string))
	if code, out, errs := kl(append([]string{"runs", "status", run}, ann...)...); code != 0 || !strings.Contains(out, "pool: fast") {
		t.Fatalf("runs status: %d %s %s", code, out, errs)
	}
	if code, out, errs := kl(append([]string{"leaderboard", "mnist"}, ann...)...); code != 0 || !strings.Contains(out, "best run of each user by accuracy (maximize)") {
		t.Fatalf("leaderboard: %d %s %s", code, out, errs)
	}
	if code, out, errs := kl(append([]string{"compare", run}, ann...)...); code != 0 || !strings.Contains(out, run) {
		t.Fatalf("compare: %d %s %s", code, out, errs)
	}
}

// TestQueuedRunSurvivesRestart: a run waiting for GPUs when the server
// stops is still queued, with its reason, when the next server starts.
func TestQueuedRunSurvivesRestart(t *testing.T) {
	t.Setenv("KUBELINE_HOME", t.TempDir())
	var gpus gpuFlag
	if err := gpus.Set("a100:n1=2"); err != nil {
		t.Fatal(err)
	}
	u, _, stop := startServer(t, accessFlags{gpus: gpus})
	c := &apiClient{server: u, http: http.DefaultClient}
	var run map[string]any
	if err := c.call("POST", "/apis/v2beta1/runs", map[string]any{"display_name": "big", "pipeline_spec": gpuPipeline(4)}, &run); err != nil {
		t.Fatal(err)
	}
	id := run["run_id"].(string)
	stop()
	u, _, _ = startServer(t, accessFlags{gpus: gpus})
	c.server = u
	var st map[string]any
	if err := c.call("GET", "/runs/"+id, nil, &st); err != nil {
		t.Fatal(err)
	}
	if st["status"] != "Queued" || st["state"] != "PENDING" || !strings.Contains(str(st["reason"]), "needs 4 × a100 on one node") {
		t.Fatalf("after a restart: %v", st)
	}
	if code, out, errs := kl("runs", "start-anyway", id, "--server", u); code != 0 || !strings.Contains(out, "start_anyway: true") {
		t.Fatalf("start-anyway: %d %s %s", code, out, errs)
	}
	waitComplete(t, c, id)
}

func gpuPipeline(gpus int) map[string]any {
	return map[string]any{
		"components":     map[string]any{"comp-t": map[string]any{"executorLabel": "exec-t"}},
		"deploymentSpec": map[string]any{"executors": map[string]any{"exec-t": map[string]any{"container": map[string]any{"image": "alpine", "command": []string{"true"}, "resources": map[string]any{"accelerator": map[string]any{"resourceType": "nvidia.com/gpu", "resourceCount": strconv.Itoa(gpus)}}}}}},
		"pipelineInfo":   map[string]any{"name": "t"},
		"root":           map[string]any{"dag": map[string]any{"tasks": map[string]any{"t": map[string]any{"componentRef": map[string]any{"name": "comp-t"}, "taskInfo": map[string]any{"name": "t"}}}}},
		"schemaVersion":  "2.1.0",
	}
}

func waitComplete(t *testing.T, c *apiClient, id string) {
	t.Helper()
	for i := 0; i < 600; i++ {
		var st map[string]any
		if err := c.call("GET", "/runs/"+id, nil, &st); err != nil {
			t.Fatal(err)
		}
		if st["status"] == "Complete" {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("run %s did not complete", id)
}

// createRun starts a 4-GPU run in the experiment over the KFP API and
// waits for it to complete.
func createRun(t *testing.T, u, token, experiment string) string {
	t.Helper()
	c := &apiClient{server: u, token: token, http: http.DefaultClient}
	var run map[string]any
	if err := c.call("POST", "/apis/v2beta1/runs", map[string]any{"display_name": "r", "experiment_id": experiment, "pipeline_spec": gpuPipeline(4)}, &run); err != nil {
		t.Fatal(err)
	}
	id := run["run_id"].(string)
	waitComplete(t, c, id)
	return id
}

// TestMultiUserMode: when the server asks for tokens.
func TestMultiUserMode(t *testing.T) {
	cases := []struct {
		flag bool
		addr string
		want bool
	}{
		{false, "127.0.0.1:8888", false},
		{true, "127.0.0.1:8888", true},
		{false, "0.0.0.0:8888", true},
		{false, "10.1.2.3:8888", true},
		{false, "[::1]:8888", false},
	}
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, c := range cases {
		a, _ := net.ResolveTCPAddr("tcp", c.addr)
		got, err := (&accessFlags{multiUser: c.flag}).multiUserMode(ctx, st, a)
		if err != nil || got != c.want {
			t.Errorf("--multi-user=%v on %s: %v %v, want %v", c.flag, c.addr, got, err, c.want)
		}
	}
	// Once users exist, a loopback server without the flag stays multi-user.
	if err := bootstrap(ctx, st, io.Discard); err != nil {
		t.Fatal(err)
	}
	a, _ := net.ResolveTCPAddr("tcp", "127.0.0.1:8888")
	if got, _ := (&accessFlags{}).multiUserMode(ctx, st, a); !got {
		t.Fatal("a server with users fell back to single-user mode")
	}
}

// TestPoolsFitTheClusterAtStart: pools made for one --gpus are fitted to
// the next start's cluster, which says so: a node gone from the cluster
// leaves its pool (pools totalled 13 against a 12-GPU cluster, and a later
// update of another pool failed naming that node).
func TestPoolsFitTheClusterAtStart(t *testing.T) {
	home := t.TempDir()
	env := []string{"KUBELINE_HOME=" + home, "KUBELINE_TOKEN=", "KUBELINE_CONFIG="}
	srv := startServerBinary(t, home, "--gpus", "a100:n1=8,n2=5")
	for _, args := range [][]string{{"pools", "create", "train", "--nodes", "n2=5"}, {"pools", "create", "big", "--nodes", "n1=4"}} {
		r := kubelineIn(t, t.TempDir(), env, append(args, "--server", srv.url)...)
		require.Equal(t, 0, r.code, r.stderr)
	}
	srv.stop()

	srv = startServerBinary(t, home, "--gpus", "a100:n1=8,n3=4")
	assert.Contains(t, srv.out.String(), `kubeline server: warning: pool train: node "n2" is no longer in the cluster: its 5 GPUs leave the pool; it now holds no GPUs`)
	r := kubelineIn(t, t.TempDir(), env, "pools", "list", "-o", "json", "--server", srv.url)
	require.Equal(t, 0, r.code, r.stderr)
	var list struct {
		Pools []struct {
			Name  string `json:"name"`
			Total int64  `json:"total_gpus"`
		} `json:"pools"`
		Cluster int64 `json:"cluster_gpus"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &list), r.stdout)
	var total int64
	for _, p := range list.Pools {
		total += p.Total
	}
	assert.Equal(t, int64(12), list.Cluster)
	assert.Equal(t, int64(12), total, "the pools do not add up to the cluster: %s", r.stdout)
	r = kubelineIn(t, t.TempDir(), env, "pools", "update", "big", "--nodes", "n1=6", "--server", srv.url)
	assert.Equal(t, 0, r.code, "updating another pool: %s", r.stderr)
	assert.Regexp(t, `(?m)^nodes:\s+n1=6$`, r.stdout)
	r = kubelineIn(t, t.TempDir(), env, "pools", "update", "train", "--nodes", "n3=4", "--server", srv.url)
	assert.Equal(t, 0, r.code, "giving the emptied pool nodes: %s", r.stderr)
	// A third start with the same --gpus changes nothing.
	srv.stop()
	srv = startServerBinary(t, home, "--gpus", "a100:n1=8,n3=4")
	assert.NotContains(t, srv.out.String(), "warning")
}

// TestOperatorRecovery: the operator's token, shown once at the first
// multi-user start, is lost; whoever holds the store (the server's machine)
// makes a new one with `users create-token admin --db`, no token needed,
// while the server runs; it works against the server.
func TestOperatorRecovery(t *testing.T) {
	home := t.TempDir()
	env := []string{"KUBELINE_HOME=" + t.TempDir(), "KUBELINE_TOKEN=", "KUBELINE_SERVER=", "KUBELINE_CONFIG="}
	srv := startServerBinary(t, home, "--multi-user")
	require.Contains(t, srv.out.String(), "export KUBELINE_TOKEN=kl_")
	db := filepath.Join(home, "kubeline.db")

	r := kubelineIn(t, t.TempDir(), env, "users", "whoami", "--server", srv.url)
	require.Equal(t, 1, r.code, "no token: %s", r.stdout)
	r = kubelineIn(t, t.TempDir(), env, "users", "create-token", "admin", "--db", db)
	require.Equal(t, 0, r.code, r.stderr)
	token := strings.TrimSpace(r.stdout)
	assert.Regexp(t, `^kl_[0-9a-f]{48}$`, token)
	r = kubelineIn(t, t.TempDir(), env, "users", "whoami", "--server", srv.url, "--token", token)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `(?m)^name:\s+admin$`, r.stdout)
	assert.Regexp(t, `(?m)^roles:\s+operator$`, r.stdout)

	r = kubelineIn(t, t.TempDir(), env, "users", "create-token", "nope", "--db", db)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "kubeline users create-token: user nope:")
}
