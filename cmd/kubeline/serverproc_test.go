package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serverProc is a `kubeline server` child process on a loopback port.
type serverProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string
	root   string // http://ADDR
	base   string // root + /apis/v2beta1
	home   string
	stderr *syncBuffer
	exited chan struct{}
	err    error // the exit, once exited is closed
}

// startServerProc starts `kubeline server` with KUBELINE_HOME=home and the
// extra args, and waits until it answers healthz. The process is killed
// (with its process group) when the test ends, unless it has exited.
func startServerProc(t *testing.T, home string, args ...string) *serverProc {
	t.Helper()
	p := launchServerProc(t, home, args...)
	if err := p.waitHealthy(20 * time.Second); err != nil {
		t.Fatalf("server did not start: %v\n%s", err, p.stderr)
	}
	return p
}

// launchServerProc starts the process without waiting for it to serve.
func launchServerProc(t *testing.T, home string, args ...string) *serverProc {
	t.Helper()
	bin := kubelineBinary(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	p := &serverProc{t: t, addr: addr, root: "http://" + addr, base: "http://" + addr + "/apis/v2beta1", home: home,
		stderr: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"server", "--addr", addr}, args...)...)
	p.cmd.Env = append(os.Environ(), "KUBELINE_HOME="+home)
	p.cmd.Stdout, p.cmd.Stderr = p.stderr, p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.exited
		}
	})
	return p
}

func (p *serverProc) waitHealthy(d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("server exited: %v", p.err)
		default:
		}
		if res, err := http.Get(p.base + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no healthz answer within %v", d)
}

// healthy fails the test unless the server still answers healthz.
func (p *serverProc) healthy() {
	p.t.Helper()
	res, err := http.Get(p.base + "/healthz")
	if err != nil {
		p.t.Fatalf("healthz after the request: %v\n%s", err, p.stderr)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		p.t.Fatalf("healthz after the request: %d", res.StatusCode)
	}
}

// peakRSS is the server's peak resident set size (VmHWM) in bytes.
func (p *serverProc) peakRSS() int64 {
	p.t.Helper()
	return procStatusKB(p.t, p.cmd.Process.Pid, "VmHWM") << 10
}

// resetPeak starts a new peak (writing 5 to clear_refs resets VmHWM).
func (p *serverProc) resetPeak() {
	p.t.Helper()
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p.cmd.Process.Pid), []byte("5"), 0); err != nil {
		p.t.Fatalf("reset the peak RSS: %v", err)
	}
}

// underRSS fails the test when the peak RSS since the last resetPeak went
// over max bytes.
func (p *serverProc) underRSS(what string, max int64) {
	p.t.Helper()
	peak := p.peakRSS()
	p.t.Logf("%s: peak RSS %.1f MB", what, float64(peak)/(1<<20))
	if peak > max {
		p.t.Errorf("%s: peak RSS %d MB, want under %d MB", what, peak>>20, max>>20)
	}
}

func procStatusKB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// send makes a request and returns the status and (at most 1 MiB of) the
// body; a transport error fails the test.
func send(t *testing.T, method, url, contentType string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, string(b)
}
