package serving

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kubeline/kubeline/runtime/launcher"
)

// Process is a command kubeline runs.
type Process struct {
	Command []string
	Env     []string // KEY=VALUE, added to the server's environment (to nothing in a sandbox)
}

// Revision is one model version served: its model directory, predictor and
// optional transformer.
type Revision struct {
	Model       string // NAME@vN, for status
	ModelDir    string
	Predictor   Process
	Transformer *Process
}

// Spec is a local deployment: a stable revision and an optional canary
// receiving CanaryPercent of the requests.
type Spec struct {
	Name          string
	Stable        Revision
	Canary        *Revision
	CanaryPercent int
	// WorkDir holds the processes' logs (and is their working directory).
	WorkDir string
}

// Status is a deployment as the API shows it.
type Status struct {
	Name          string    `json:"name"`
	State         string    `json:"state"` // Ready or Stopped
	Model         string    `json:"model"`
	Canary        string    `json:"canary,omitempty"`
	CanaryPercent int       `json:"canary_traffic_percent,omitempty"`
	Transformer   bool      `json:"transformer"`
	URL           string    `json:"url"`
	StartedAt     time.Time `json:"started_at"`
	Requests      int64     `json:"requests"`
	// Cluster ... are a remote deployment's (remote.go).
	Cluster          string `json:"cluster,omitempty"`
	Namespace        string `json:"namespace,omitempty"`
	InferenceService string `json:"inference_service,omitempty"`
	Imported         bool   `json:"imported,omitempty"`
	RemoteURL        string `json:"remote_url,omitempty"`
}

type backend struct {
	proc   *exec.Cmd
	cancel context.CancelFunc
	done   chan struct{} // closed when the process has exited
	err    error         // how it exited (after done)
	addr   string
	proxy  *httputil.ReverseProxy
}

type revision struct {
	rev         Revision
	predictor   *backend
	transformer *backend
}

type deployment struct {
	spec     Spec
	stable   *revision
	canary   *revision
	started  time.Time
	requests atomic.Int64
	traffic  traffic // per second, the last TrafficWindow (traffic.go)
	// remote is set for a deployment served on a cluster (remote.go).
	remote *Remote
}

// Manager runs local deployments and serves their inference endpoint.
type Manager struct {
	mu        sync.Mutex
	deps      map[string]*deployment
	transport *http.Transport
	// StartTimeout bounds how long a process has to listen (30s if zero).
	StartTimeout time.Duration
	// Sandbox, when set, isolates every deployment's processes
	// (sandbox.go): a multi-user server's.
	Sandbox Sandbox
	// recorder records sampled predictions (record.go); nil records none.
	recorder atomic.Pointer[Recorder]
}

// NewManager returns a manager with no deployments.
func NewManager() *Manager {
	return &Manager{deps: map[string]*deployment{}, transport: &http.Transport{
		MaxIdleConns: 256, MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}}
}

// ErrNotFound is a deployment that does not exist.
var ErrNotFound = errors.New("deployment not found")

// Start starts a deployment's processes and returns when every one listens.
// A deployment of the same name is replaced.
func (m *Manager) Start(ctx context.Context, s Spec) (Status, error) {
	if err := os.MkdirAll(s.WorkDir, 0o755); err != nil {
		return Status{}, err
	}
	d := &deployment{spec: s, started: time.Now()}
	var err error
	if d.stable, err = m.startRevision(ctx, s, s.Stable, "stable"); err != nil {
		return Status{}, err
	}
	if s.Canary != nil {
		if d.canary, err = m.startRevision(ctx, s, *s.Canary, "canary"); err != nil {
			d.stable.stop()
			return Status{}, err
		}
	}
	m.mu.Lock()
	old := m.deps[s.Name]
	m.deps[s.Name] = d
	m.mu.Unlock()
	if old != nil {
		old.stop()
	}
	return d.status(), nil
}

func (m *Manager) startRevision(ctx context.Context, s Spec, r Revision, which string) (*revision, error) {
	rev := &revision{rev: r}
	env := []string{"MODEL_NAME=" + s.Name, "MODEL_DIR=" + r.ModelDir}
	var err error
	if rev.predictor, err = m.startProcess(ctx, s, r.Predictor, which+"-predictor", env, r.ModelDir); err != nil {
		return nil, err
	}
	if r.Transformer != nil {
		tenv := append(env, "PREDICTOR_HOST="+rev.predictor.addr)
		if rev.transformer, err = m.startProcess(ctx, s, *r.Transformer, which+"-transformer", tenv, r.ModelDir); err != nil {
			rev.predictor.stop()
			return nil, err
		}
	}
	return rev, nil
}

// startProcess runs p on a free port and waits until it listens.
func (m *Manager) startProcess(ctx context.Context, s Spec, p Process, role string, env []string, modelDir string) (*backend, error) {
	if len(p.Command) == 0 {
		return nil, fmt.Errorf("deployment %s: %s: no command", s.Name, role)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	logPath := filepath.Join(s.WorkDir, role+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(pctx, p.Command[0], p.Command[1:]...)
	cmd.Dir = s.WorkDir
	cmd.Env = append(append(append(m.baseEnv(), env...), "PORT="+addr[strings.LastIndex(addr, ":")+1:]), p.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	launcher.Terminate(cmd, 5*time.Second)
	box, err := m.isolate(cmd, s.Name, s.WorkDir, modelDir)
	// seal ends the sandbox step whichever way cmd ends, a failed start
	// too (the step's --info-fd pipe is closed then), as the local
	// engine's runCommand does.
	seal := func() error {
		if box == nil {
			return nil
		}
		return box.Seal()
	}
	if err != nil {
		_ = seal() // the start failed: that error is the one to report
		cancel()
		logf.Close()
		return nil, fmt.Errorf("deployment %s: %s: %w", s.Name, role, err)
	}
	if err := cmd.Start(); err != nil {
		_ = seal() // the start failed: that error is the one to report
		cancel()
		logf.Close()
		return nil, fmt.Errorf("deployment %s: start %s %q: %w", s.Name, role, p.Command[0], err)
	}
	b := &backend{proc: cmd, cancel: cancel, done: make(chan struct{}), addr: addr}
	go func() {
		b.err = cmd.Wait()
		if err := seal(); err != nil && b.err == nil {
			b.err = err
		}
		logf.Close()
		close(b.done)
	}()
	timeout := m.StartTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	if err := waitListening(ctx, addr, b, timeout); err != nil {
		b.stop()
		tail, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("deployment %s: %s did not start listening on $PORT: %w\n%s", s.Name, role, err, lastLines(string(tail), 15))
	}
	target, _ := url.Parse("http://" + addr)
	b.proxy = forwarder(target)
	b.proxy.Transport = m.transport
	b.proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		writeError(w, http.StatusBadGateway, fmt.Sprintf("deployment %s: %s: %v", s.Name, role, err))
	}
	return b, nil
}

func waitListening(ctx context.Context, addr string, b *backend, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-b.done:
			return fmt.Errorf("it exited: %v", b.err)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(30 * time.Millisecond)
	}
	return fmt.Errorf("not listening after %s", timeout)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (b *backend) stop() {
	if b == nil || b.proc == nil || b.proc.Process == nil {
		return
	}
	b.cancel() // SIGTERM to the process group, SIGKILL after the grace
	<-b.done
}

func (r *revision) stop() {
	if r != nil {
		r.transformer.stop()
		r.predictor.stop()
	}
}

func (d *deployment) stop() {
	d.stable.stop()
	d.canary.stop()
}

func (d *deployment) status() Status {
	st := Status{Name: d.spec.Name, State: "Ready", Model: d.spec.Stable.Model, Transformer: d.spec.Stable.Transformer != nil,
		URL: "/v1/models/" + d.spec.Name + ":predict", StartedAt: d.started, Requests: d.requests.Load()}
	if d.spec.Canary != nil {
		st.Canary, st.CanaryPercent = d.spec.Canary.Model, d.spec.CanaryPercent
	}
	if r := d.remote; r != nil {
		st.Cluster, st.Namespace, st.InferenceService, st.Imported, st.RemoteURL = r.Cluster, r.Namespace, r.InferenceService, r.Imported, r.URL
		if r.URL == "" {
			st.State = "NoURL"
		}
	}
	return st
}

// Stop stops a deployment's processes and forgets it.
func (m *Manager) Stop(name string) error {
	m.mu.Lock()
	d := m.deps[name]
	delete(m.deps, name)
	m.mu.Unlock()
	if d == nil {
		return fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	d.stop()
	if m.Sandbox != nil {
		m.Sandbox.Done("deployment/" + name)
	}
	return nil
}

// StopAll stops every deployment (server shutdown).
func (m *Manager) StopAll() {
	m.mu.Lock()
	deps := m.deps
	m.deps = map[string]*deployment{}
	m.mu.Unlock()
	for _, d := range deps {
		d.stop()
	}
}

// List returns the deployments by name.
func (m *Manager) List() []Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Status, 0, len(m.deps))
	for _, d := range m.deps {
		out = append(out, d.status())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Get returns one deployment's status.
func (m *Manager) Get(name string) (Status, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.deps[name]
	if d == nil {
		return Status{}, fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	return d.status(), nil
}

func (m *Manager) lookup(name string) *deployment {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.deps[name]
}

// route picks the revision a request goes to: every 100 requests,
// CanaryPercent go to the canary.
func (d *deployment) route() *revision {
	n := d.requests.Add(1)
	if d.canary != nil && int((n-1)%100) < d.spec.CanaryPercent {
		return d.canary
	}
	return d.stable
}

// writeError answers in KServe's error shape.
func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, "{\"error\":%s}\n", strconv.Quote(msg))
}
