package s3test

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeline/kubeline/internal/tool"
)

// Install is how versitygw is installed (`make tools` runs it).
const Install = "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// Binary is the versitygw binary `make tools` installs (or
// $KUBELINE_VERSITYGW); a missing one fails the test.
func Binary(t testing.TB) string {
	return tool.Find(t, "versitygw", "KUBELINE_VERSITYGW", Install)
}

// Gateway is a running (or stopped) versitygw.
type Gateway struct {
	Endpoint       string // HOST:PORT (127.0.0.1 unless StartOn)
	Access, Secret string // the root account
	Region         string
	// Root is the posix backend's directory: buckets are its directories.
	Root string

	t      testing.TB
	bin    string
	iam    string
	cmd    *exec.Cmd
	exited chan error
}

// Start starts versitygw on a free port of 127.0.0.1; it stops when the
// test ends.
func Start(t testing.TB) *Gateway {
	t.Helper()
	return StartOn(t, "127.0.0.1")
}

// StartOn starts versitygw on a free port of host, an address of this
// machine: the e2e node's pods reach this machine on its bridge address
// (KUBELINE_E2E_HOST_IP), not on 127.0.0.1.
func StartOn(t testing.TB, host string) *Gateway {
	t.Helper()
	g := &Gateway{Access: "kubeline-root", Secret: "kubeline-root-secret", Region: "us-east-1",
		Root: t.TempDir(), iam: t.TempDir(), t: t, bin: Binary(t)}
	var logs []string
	for attempt := 0; attempt < 3; attempt++ { // another process may take the port first
		g.Endpoint = freeAddr(t, host)
		err := g.start()
		if err == nil {
			t.Cleanup(g.Stop)
			return g
		}
		logs = append(logs, err.Error())
	}
	t.Fatalf("versitygw did not start:\n%s", strings.Join(logs, "\n"))
	return nil
}

func (g *Gateway) start() error {
	log := filepath.Join(g.t.TempDir(), "versitygw.log")
	out, err := os.Create(log)
	if err != nil {
		return err
	}
	// --iam-dir: with its internal IAM service versitygw answers an unknown
	// access key as S3 does (403 InvalidAccessKeyId); in single-account mode
	// it answers 404 XAdminUserNotFound.
	g.cmd = exec.Command(g.bin, "--access", g.Access, "--secret", g.Secret, "--region", g.Region,
		"--port", g.Endpoint, "--iam-dir", g.iam, "--quiet", "posix", g.Root)
	g.cmd.Stdout, g.cmd.Stderr = out, out
	if err := g.cmd.Start(); err != nil {
		out.Close()
		return err
	}
	g.exited = make(chan error, 1)
	go func() { g.exited <- g.cmd.Wait(); out.Close() }()
	if err := waitListening(g.Endpoint, g.exited, 20*time.Second); err != nil {
		g.cmd.Process.Kill()
		<-g.exited
		g.cmd = nil
		b, _ := os.ReadFile(log)
		return errors.Join(err, errors.New(string(b)))
	}
	return nil
}

// Stop kills the server (as a crash would); Restart brings it back.
func (g *Gateway) Stop() {
	if g.cmd == nil {
		return
	}
	g.cmd.Process.Kill()
	<-g.exited
	g.cmd = nil
}

// Restart starts the stopped server again on the same address and data.
func (g *Gateway) Restart() {
	g.t.Helper()
	if g.cmd != nil {
		return
	}
	if err := g.start(); err != nil {
		g.t.Fatalf("restart versitygw on %s: %v", g.Endpoint, err)
	}
}

// FreeAddr is 127.0.0.1:PORT with a port free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return freeAddr(t, "127.0.0.1")
}

func freeAddr(t testing.TB, host string) string {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
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
