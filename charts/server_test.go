package charts_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/kubeline/kubeline/runtime/artifact/s3test"
)

// kubeVar is a $(NAME) reference in a container's args, which the kubelet
// expands from the container's env.
var kubeVar = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// TestChartServerStarts runs the kubeline binary as the chart's container
// would: the rendered Deployment's args, with $(VAR) expanded from its
// env, and its env with each Secret reference resolved — against a real
// S3 server (versitygw) under KFP's variable names, and a SQLite file
// standing in for the PostgreSQL URL, a kubeconfig for the in-cluster
// config of --engine argo. Only the listen address (loopback, port 0),
// KUBELINE_HOME and the S3 endpoint are changed. The server must
// start, say /readyz 200, serve /metrics with the store up, log JSON, and
// exit 0 on SIGTERM as the kubelet sends it.
func TestChartServerStarts(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "kubeline")
	build := exec.Command("go", "build", "-o", bin, "github.com/kubeline/kubeline/cmd/kubeline")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	gw := s3test.Start(t)
	host, port, _ := net.SplitHostPort(gw.Endpoint)
	for _, vs := range valueSets[:3] { // default, postgres, dir
		t.Run(vs.name, func(t *testing.T) {
			dep := of[*appsv1.Deployment](render(t, vs.args...))[0]
			c := dep.Spec.Template.Spec.Containers[0]
			home := t.TempDir()
			secrets := map[string]string{"accesskey": gw.Access, "secretkey": gw.Secret, "url": filepath.Join(home, "pg-standin.db")}
			overrides := map[string]string{"KUBELINE_HOME": home, "HOME": home, "OBJECTSTORECONFIG_HOST": host,
				"OBJECTSTORECONFIG_PORT": port, "OBJECTSTORECONFIG_SECURE": "false", "OBJECTSTORECONFIG_REGION": gw.Region}
			env := map[string]string{}
			for _, e := range c.Env {
				switch {
				case overrides[e.Name] != "":
					env[e.Name] = overrides[e.Name]
				case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
					v, ok := secrets[e.ValueFrom.SecretKeyRef.Key]
					if !ok {
						t.Fatalf("env %s: no stand-in for Secret key %s", e.Name, e.ValueFrom.SecretKeyRef.Key)
					}
					env[e.Name] = v
				default:
					env[e.Name] = e.Value
				}
			}
			var args []string
			for _, a := range c.Args {
				args = append(args, kubeVar.ReplaceAllStringFunc(a, func(m string) string { return env[m[2:len(m)-1]] }))
			}
			args = append(args, "--addr=127.0.0.1:0")
			cmd := exec.Command(bin, args...)
			// The pod's in-cluster config (--engine argo) stands in as a
			// kubeconfig naming an API server nobody answers: no route the
			// test calls submits a workflow.
			kubeconfig := filepath.Join(home, "kubeconfig")
			os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"+
				"contexts: [{name: c, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {token: t}}]\ncurrent-context: c\n"), 0o600)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "KUBECONFIG=" + kubeconfig}
			for k, v := range env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			stdout, _ := cmd.StdoutPipe()
			var stderr syncWriter
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			defer cmd.Process.Kill() // after Wait it does nothing
			u := serverURL(t, stdout, &stderr)
			go io.Copy(io.Discard, stdout)

			for _, a := range args {
				if bucket, ok := strings.CutPrefix(a, "--artifacts=minio://"); ok {
					if _, err := os.Stat(filepath.Join(gw.Root, bucket)); err != nil {
						t.Errorf("the server did not reach its bucket %s on the S3 server: %v", bucket, err)
					}
				}
			}
			if code, body := httpGet(t, u+"/readyz"); code != 200 {
				t.Errorf("/readyz: %d %s", code, body)
			}
			if code, body := httpGet(t, u+"/metrics"); code != 200 || !strings.Contains(body, "kubeline_store_up 1") {
				t.Errorf("/metrics: %d, want kubeline_store_up 1:\n%s", code, body)
			}
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-exited:
				if err != nil {
					t.Errorf("after SIGTERM: %v\n%s", err, stderr.String())
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("the server did not stop on SIGTERM:\n%s", stderr.String())
			}
			first, _, _ := strings.Cut(stderr.String(), "\n")
			var e map[string]any
			if err := json.Unmarshal([]byte(first), &e); err != nil || e["msg"] != "serving" {
				t.Errorf("the first log line is not the JSON \"serving\" record: %q", first)
			}
		})
	}
}

// serverURL reads the server's start line from its stdout.
func serverURL(t *testing.T, stdout io.Reader, stderr *syncWriter) string {
	t.Helper()
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), "KFP API on "); ok {
				lines <- strings.Fields(rest)[0]
				return
			}
		}
		close(lines)
	}()
	select {
	case u, ok := <-lines:
		if !ok {
			t.Fatalf("the server exited before serving:\n%s", stderr.String())
		}
		return u
	case <-time.After(60 * time.Second):
		t.Fatalf("the server did not start serving:\n%s", stderr.String())
	}
	return ""
}

func httpGet(t *testing.T, u string) (int, string) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// syncWriter is the server's stderr, read while it writes.
type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
