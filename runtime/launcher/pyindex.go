package launcher

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// How long auto mode trusts what it learned: whether the package index
// answered, and that making a venv failed.
const (
	indexCheckTTL  = 5 * time.Minute
	venvFailureTTL = 10 * time.Minute
)

// indexCheck is the last answer of packageIndex, shared by every step of
// this process: a run (or a server) decides once whether pip can reach its
// index instead of letting each step's pip time out.
var indexCheck struct {
	mu  sync.Mutex
	key string
	at  time.Time
	err error
}

// packageIndex says whether pip's index (PIP_INDEX_URL, else PyPI; through
// HTTPS_PROXY when set) accepts a TCP connection within 3 s. Steps asking
// at once wait for one check.
func packageIndex(ctx context.Context, env []string) error {
	target := envValue(env, "PIP_INDEX_URL")
	if target == "" {
		target = "https://pypi.org/simple/"
	}
	if p := firstNonEmpty(envValue(env, "HTTPS_PROXY"), envValue(env, "https_proxy")); p != "" {
		target = p
	}
	indexCheck.mu.Lock()
	defer indexCheck.mu.Unlock()
	if indexCheck.key == target && time.Since(indexCheck.at) < indexCheckTTL {
		return indexCheck.err
	}
	indexCheck.key, indexCheck.at, indexCheck.err = target, time.Now(), dialIndex(ctx, target)
	return indexCheck.err
}

func dialIndex(ctx context.Context, target string) error {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return fmt.Errorf("package index %q: not a URL", target)
	}
	host := u.Host
	if u.Port() == "" {
		port := "443"
		if u.Scheme == "http" {
			port = "80"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	d := net.Dialer{Timeout: 3 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return fmt.Errorf("package index %s unreachable: %w", target, err)
	}
	conn.Close()
	return nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// pythons caches, per PATH, the interpreter python3 resolves to and its
// version: asked once per process instead of once per step, and the steps
// start that interpreter itself, not a version manager's shim (pyenv's
// python3 is a script that costs about a second a start on a busy machine).
var pythons sync.Map

type python struct {
	path    string
	version []byte
}

func resolvePython(ctx context.Context, env []string) (python, error) {
	path := envValue(env, "PATH")
	if p, ok := pythons.Load(path); ok {
		return p.(python), nil
	}
	cmd := exec.CommandContext(ctx, "python3", "-c", "import sys; print(sys.executable); print(sys.version)")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		return python{}, fmt.Errorf("python3: %w", err)
	}
	exe, version, _ := strings.Cut(string(out), "\n")
	p := python{path: exe, version: []byte(version)}
	if exe == "" {
		p.path = "python3"
	}
	pythons.Store(path, p)
	return p, nil
}

// venvFailures remembers, per venv directory, when making it last failed,
// so auto mode does not run pip again for every step; a marker file beside
// the venv (DIR.failed) tells other processes sharing the home.
var venvFailures sync.Map

// recentFailure is an error when making the venv dir failed less than
// venvFailureTTL ago. It is asked before and again after taking the venv's
// lock: steps that waited for a failing pip must not run it again.
func recentFailure(dir string) error {
	at, ok := venvFailures.Load(dir)
	if !ok {
		if fi, err := os.Stat(dir + ".failed"); err == nil {
			at, ok = fi.ModTime(), true
		}
	}
	if ok {
		if ago := time.Since(at.(time.Time)); ago < venvFailureTTL {
			return fmt.Errorf("making venv %s failed %s ago: %w", dir, ago.Round(time.Second), errVenvFailed)
		}
	}
	return nil
}

var errVenvFailed = errors.New("venv unavailable")

// venvFailed records that making dir failed.
func venvFailed(dir string) {
	venvFailures.Store(dir, time.Now())
	_ = os.WriteFile(dir+".failed", nil, 0o644)
}
