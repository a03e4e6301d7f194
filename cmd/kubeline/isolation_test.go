package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kubeline/kubeline/runtime/sandbox"
)

// TestServerIsolation is issue 15's step isolation as `kubeline server`
// wires it (isolation.go), against the real binary: a multi-user embedded
// engine that cannot sandbox refuses to start and says what to do, an
// --import-root holding the store is refused, and a multi-user server runs
// a step as a uid of its own that sees neither the server's environment
// nor its home, reads importers under --import-root only, and keeps its
// home 0700 even when it found it open.
func TestServerIsolation(t *testing.T) {
	bin := kubelineBinary(t)
	// Without bubblewrap, a server asked for multi-user mode and one that
	// is multi-user because it listens beyond loopback both refuse the
	// embedded engine, saying what to install or to use --engine argo.
	for _, c := range []struct {
		name, host string
		args       []string
	}{{"no sandbox", "127.0.0.1", []string{"--multi-user"}}, {"no sandbox beyond loopback", "0.0.0.0", nil}} {
		t.Run(c.name, func(t *testing.T) {
			home := filepath.Join(t.TempDir(), "home")
			code, out := startRefusedOn(t, bin, c.host, []string{"KUBELINE_HOME=" + home, "PATH=" + t.TempDir()}, c.args...)
			for _, want := range []string{"multi-user mode runs each step sandboxed", "bwrap not found", "apt-get install bubblewrap", "--engine argo"} {
				if code == 0 || !strings.Contains(out, want) {
					t.Errorf("a multi-user server on %s without bwrap: exit %d, output lacks %q:\n%s", c.host, code, want, out)
				}
			}
		})
	}
	t.Run("import root holding the store", func(t *testing.T) {
		home := filepath.Join(t.TempDir(), "home")
		code, out := startRefused(t, bin, []string{"KUBELINE_HOME=" + home}, "--multi-user", "--import-root", filepath.Dir(home))
		if code == 0 || !strings.Contains(out, "holds the metadata store") {
			t.Errorf("--import-root above the store: exit %d:\n%s", code, out)
		}
	})
	t.Run("steps sandboxed", func(t *testing.T) {
		t.Setenv("KUBELINE_TEST_SERVER_SECRET", "server-only-value")
		home := filepath.Join(t.TempDir(), "home")
		if err := os.MkdirAll(home, 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chmod(home, 0o755)
		importRoot := t.TempDir()
		if err := os.WriteFile(filepath.Join(importRoot, "rows.txt"), []byte("1\n2\n3\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		srv := startServerBinary(t, home, "--multi-user", "--import-root", importRoot)
		said := func() bool {
			return strings.Contains(srv.out.String(), "multi-user: each run's steps run sandboxed (bubblewrap)")
		}
		for i := 0; i < 100 && !said(); i++ { // its output reaches the test through a pipe
			time.Sleep(50 * time.Millisecond)
		}
		if !said() {
			t.Errorf("the server does not say how it isolates steps:\n%s", srv.out)
		}
		if fi, err := os.Stat(home); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("KUBELINE_HOME after the start: %v %v, want 0700", fi.Mode().Perm(), err)
		}
		m := regexp.MustCompile(`KUBELINE_TOKEN=(\S+)`).FindStringSubmatch(srv.out.String())
		if m == nil {
			t.Fatalf("no operator token in the log:\n%s", srv.out)
		}
		c := isoClient{t: t, base: srv.url + "/apis/v2beta1", token: m[1]}
		// The probe exits with a code naming what it reached.
		probe := fmt.Sprintf(`test "$(id -u)" -ge %d || exit 11
env | grep -q server-only-value && exit 12
ls -A %[2]s 2>/dev/null | grep -qv '^runs$' && exit 13
test -e %[2]s/kubeline.db && exit 13
cat /proc/[0-9]*/environ 2>/dev/null | tr '\0' '\n' | grep -q server-only-value && exit 14
exit 0`, sandbox.FirstUID, home)
		if run := c.run(probeSpec(probe), nil); run["state"] != "SUCCEEDED" {
			t.Errorf("the probe step reached the server (exit 11: uid, 12: environment, 13: files of its home, 14: processes): %v %v", run["state"], run["error"])
		}
		train, err := os.ReadFile("../../examples/train-model/pipeline.yaml")
		if err != nil {
			t.Fatal(err)
		}
		var spec map[string]any
		if err := yamlToJSON(train, &spec); err != nil {
			t.Fatal(err)
		}
		for _, uri := range []string{"file:///etc/shadow", "file://" + filepath.Join(home, "kubeline.db")} {
			if run := c.run(spec, map[string]any{"data": uri}); run["state"] != "FAILED" || !strings.Contains(fmt.Sprint(run["error"]), "refused") {
				t.Errorf("importer of %s: %v %v, want FAILED (refused)", uri, run["state"], run["error"])
			}
		}
		if run := c.run(spec, map[string]any{"data": "file://" + filepath.Join(importRoot, "rows.txt")}); run["state"] != "SUCCEEDED" {
			t.Errorf("importer under --import-root: %v %v", run["state"], run["error"])
		}
	})
	// A single-user server given --import-root keeps its importers to it
	// too (it used to ignore the flag), and says so at the start.
	t.Run("single-user import root", func(t *testing.T) {
		importRoot, elsewhere := t.TempDir(), t.TempDir()
		for _, d := range []string{importRoot, elsewhere} {
			if err := os.WriteFile(filepath.Join(d, "rows.txt"), []byte("1\n2\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		srv := startServerBinary(t, filepath.Join(t.TempDir(), "home"), "--import-root", importRoot)
		said := func() bool {
			return strings.Contains(srv.out.String(), "importers read host paths under "+importRoot+" only")
		}
		for i := 0; i < 100 && !said(); i++ {
			time.Sleep(50 * time.Millisecond)
		}
		if !said() {
			t.Errorf("the server does not say it keeps importers to %s:\n%s", importRoot, srv.out)
		}
		train, err := os.ReadFile("../../examples/train-model/pipeline.yaml")
		if err != nil {
			t.Fatal(err)
		}
		var spec map[string]any
		if err := yamlToJSON(train, &spec); err != nil {
			t.Fatal(err)
		}
		c := isoClient{t: t, base: srv.url + "/apis/v2beta1"}
		if run := c.run(spec, map[string]any{"data": filepath.Join(elsewhere, "rows.txt")}); run["state"] != "FAILED" || !strings.Contains(fmt.Sprint(run["error"]), "outside the import root") {
			t.Errorf("importer outside --import-root: %v %v, want FAILED (outside the import root)", run["state"], run["error"])
		}
		if run := c.run(spec, map[string]any{"data": filepath.Join(importRoot, "rows.txt")}); run["state"] != "SUCCEEDED" {
			t.Errorf("importer under --import-root: %v %v", run["state"], run["error"])
		}
	})
}

// startRefused runs `kubeline server` with env (added to the test's) and
// args, expecting it to exit at start; it returns the exit code and output.
// A server that starts instead is stopped after 20 s and fails the test.
func startRefused(t *testing.T, bin string, env []string, args ...string) (int, string) {
	t.Helper()
	return startRefusedOn(t, bin, "127.0.0.1", env, args...)
}

// startRefusedOn is startRefused listening on host.
func startRefusedOn(t *testing.T, bin, host string, env []string, args ...string) (int, string) {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"server", "--addr", addr}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	_ = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("kubeline server %v started instead of refusing:\n%s", args, out.String())
	}
	return cmd.ProcessState.ExitCode(), out.String()
}

// isoClient calls the KFP API with a bearer token.
type isoClient struct {
	t           *testing.T
	base, token string
}

// run creates a run of an inline spec with parameters and waits for its
// end.
func (c isoClient) run(spec map[string]any, params map[string]any) map[string]any {
	c.t.Helper()
	body := map[string]any{"display_name": "isolation", "pipeline_spec": spec}
	if params != nil {
		body["runtime_config"] = map[string]any{"parameters": params}
	}
	created := c.call("POST", "/runs", body)
	id, _ := created["run_id"].(string)
	if id == "" {
		c.t.Fatalf("create run: %v", created)
	}
	for i := 0; i < 1200; i++ {
		r := c.call("GET", "/runs/"+id, nil)
		switch r["state"] {
		case "SUCCEEDED", "FAILED", "CANCELED":
			return r
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("run %s did not finish", id)
	return nil
}

func (c isoClient) call(method, path string, body any) map[string]any {
	c.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, c.base+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 200 {
		c.t.Fatalf("%s %s: %d %v %v", method, path, res.StatusCode, out, err)
	}
	return out
}

// probeSpec is a one-step pipeline running script with sh.
func probeSpec(script string) map[string]any {
	return map[string]any{
		"components":     map[string]any{"comp-probe": map[string]any{"executorLabel": "exec-probe"}},
		"deploymentSpec": map[string]any{"executors": map[string]any{"exec-probe": map[string]any{"container": map[string]any{"image": "alpine", "command": []any{"sh", "-c", script}}}}},
		"pipelineInfo":   map[string]any{"name": "probe"},
		"root":           map[string]any{"dag": map[string]any{"tasks": map[string]any{"probe": map[string]any{"componentRef": map[string]any{"name": "comp-probe"}, "taskInfo": map[string]any{"name": "probe"}}}}},
		"schemaVersion":  "2.1.0",
	}
}
