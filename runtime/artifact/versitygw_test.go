package artifact

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The S3 tests run against a real S3 server: versitygw (Apache-2.0) with
// its posix backend on a temporary directory (object metadata, the sha256
// included, in extended attributes), listening on 127.0.0.1.
const versitygwInstall = "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// versitygwBinary finds versitygw at $KUBELINE_VERSITYGW, on PATH, in
// $(go env GOBIN) or in $(go env GOPATH)/bin. A missing binary fails the
// test: the S3 driver is never reported as passing untested.
func versitygwBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("KUBELINE_VERSITYGW"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("KUBELINE_VERSITYGW=%s: %v", p, err)
		}
		return p
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	var tried []string
	for _, v := range []string{"GOBIN", "GOPATH"} {
		out, err := exec.Command("go", "env", v).Output()
		dir := strings.TrimSpace(string(out))
		if err != nil || dir == "" {
			continue
		}
		if v == "GOPATH" {
			dir = filepath.Join(filepath.SplitList(dir)[0], "bin")
		}
		p := filepath.Join(dir, "versitygw")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		tried = append(tried, p)
	}
	t.Fatalf("versitygw, the S3 server of these tests, is not installed (looked at $KUBELINE_VERSITYGW, PATH, %s).\n"+
		"Install it with `make tools` or `%s`, or point KUBELINE_VERSITYGW at the binary.",
		strings.Join(tried, ", "), versitygwInstall)
	return ""
}

// gateway is a running versitygw.
type gateway struct {
	endpoint       string // 127.0.0.1:PORT
	access, secret string // the root account
}

// startVersitygw starts versitygw on a free port of 127.0.0.1, stopped when
// the test ends.
func startVersitygw(t *testing.T) gateway {
	t.Helper()
	bin := versitygwBinary(t)
	gw := gateway{access: "kubeline-root", secret: "kubeline-root-secret"}
	root, iam := t.TempDir(), t.TempDir()
	var logs []string
	for attempt := 0; attempt < 3; attempt++ { // another process may take the port first
		gw.endpoint = freeAddr(t)
		log := filepath.Join(t.TempDir(), "versitygw.log")
		out, err := os.Create(log)
		if err != nil {
			t.Fatal(err)
		}
		// --iam-dir: with its internal IAM service versitygw answers an
		// unknown access key as S3 does (403 InvalidAccessKeyId); in
		// single-account mode it answers 404 XAdminUserNotFound.
		cmd := exec.Command(bin, "--access", gw.access, "--secret", gw.secret, "--region", "us-east-1",
			"--port", gw.endpoint, "--iam-dir", iam, "--quiet", "posix", root)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", bin, err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait(); out.Close() }()
		if err := waitListening(gw.endpoint, exited, 20*time.Second); err != nil {
			cmd.Process.Kill()
			<-exited
			b, _ := os.ReadFile(log)
			logs = append(logs, err.Error()+": "+string(b))
			continue
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			<-exited
		})
		return gw
	}
	t.Fatalf("versitygw did not start:\n%s", strings.Join(logs, "\n"))
	return gw
}

// freeAddr is 127.0.0.1:PORT with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitListening waits until addr accepts connections, the process exits or
// the timeout passes.
func waitListening(addr string, exited <-chan error, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return errors.Join(errors.New("versitygw exited"), err)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("versitygw not listening on " + addr + " after " + timeout.String())
}
