package local

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/uuid"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/launcher"
	"github.com/kubeline/kubeline/runtime/sandbox"
)

// Options configure the engine.
type Options struct {
	// Home holds per-run working directories (Home/runs/WORKFLOW/...) and
	// the step cache (Home/cache).
	Home string
	// Store keeps artifacts; Dir{Home/artifacts} when nil.
	Store artifact.Store
	// Logs receives every step's output, each line prefixed with the step's
	// display name; io.Discard when nil.
	Logs io.Writer
	// OnNodes receives copies of the nodes that changed, in the order they
	// first changed, coalesced: at most every 50ms while the run goes on,
	// and once more with the last changes before Run returns. Its cost is
	// per change, whatever the size of the workflow.
	OnNodes func([]wfv1.NodeStatus)
	// OnUpdate receives snapshots of the workflow as its status changes:
	// coalesced like OnNodes, and less often when the status is very
	// large; the last one is the final status. Snapshots share their nodes'
	// content with each other: subscribers must not change them.
	OnUpdate func(*wfv1.Workflow)
	// StopGrace is how long a stopped step gets between SIGTERM and SIGKILL.
	StopGrace time.Duration
	// Env is the base environment of every step; os.Environ() when nil.
	Env []string
	// PythonExecutor says how KFP lightweight Python components run:
	// launcher.PythonAuto (the default: a reused venv when one exists or can
	// be made, else the builtin executor), PythonBuiltin, PythonVenv, or
	// PythonCommand (their own pip-installing command).
	PythonExecutor string
	// NoCache turns KFP step caching off: every step runs.
	NoCache bool
	// ArchiveLogs stores each finished step's log in Store at
	// artifact.LogKey, as Argo's archiveLogs does.
	ArchiveLogs bool
	// MaxProcesses caps the steps running at once on this machine, whatever
	// the workflow's parallelism; 64 when zero.
	MaxProcesses int
	// Sandbox, when set, runs every step's processes isolated
	// (sandbox.go): a multi-user server's engine. Python components then
	// use the builtin executor, and Env defaults to SandboxEnv.
	Sandbox Sandbox
	// Confined makes the engine read no host path for a step outside
	// ImportRoot ("": none) and no artifact of another run (a multi-user
	// server's engine).
	Confined bool
	// ImportRoot, when set, is the host directory importers may read
	// (confined or not); a confined engine reads none when it is empty.
	ImportRoot string
	// Protected are host files the engine never opens for a step — the
	// metadata store's (SQLite drops its locks when any descriptor of its
	// file closes) — nor a directory holding them.
	Protected []string
	// Secrets gives the values of Kubernetes Secrets a step's env names
	// (secretKeyRef: secret name, key), as a cluster's Secrets would; nil,
	// or a key it does not have: the variable is left out (the embedded
	// engine has no Secrets of its own).
	Secrets func(name, key string) (string, bool)
}

// SandboxEnv is the base environment of sandboxed steps: nothing of the
// server's.
var SandboxEnv = []string{"PATH=" + sandbox.Path, "HOME=/tmp", "TMPDIR=/tmp", "LANG=C.UTF-8"}

// Engine runs workflows on this machine.
type Engine struct {
	opts  Options
	procs chan struct{} // MaxProcesses slots
}

// New returns an engine.
func New(opts Options) *Engine {
	if opts.Store == nil {
		opts.Store = artifact.Dir{Root: filepath.Join(opts.Home, "artifacts")}
	}
	if opts.Logs == nil {
		opts.Logs = io.Discard
	}
	if opts.StopGrace == 0 {
		opts.StopGrace = 10 * time.Second
	}
	if opts.Env == nil {
		opts.Env = os.Environ()
		if opts.Sandbox != nil {
			opts.Env = SandboxEnv
		}
	}
	if opts.PythonExecutor == "" {
		opts.PythonExecutor = launcher.PythonAuto
	}
	if opts.MaxProcesses == 0 {
		opts.MaxProcesses = 64
	}
	return &Engine{opts: opts, procs: make(chan struct{}, opts.MaxProcesses)}
}

// run is one workflow execution.
type run struct {
	e       *Engine
	mu      sync.Mutex // guards wf.Status
	wf      *wfv1.Workflow
	globals map[string]string
	dir     string
	pods    chan struct{} // workflow parallelism; nil when unlimited
	logMu   sync.Mutex
	feed    *feed
	zygotes *launcher.Zygotes // the run's Python steps start from these
}

// Run executes wf to completion and returns it with its status. Cancelling
// ctx stops the run: running steps get SIGTERM, then SIGKILL after
// StopGrace, and the workflow ends Failed with message "stopped".
func (e *Engine) Run(ctx context.Context, wf *wfv1.Workflow) (*wfv1.Workflow, error) {
	wf = wf.DeepCopy()
	if wf.Name == "" {
		wf.Name = wf.GenerateName + randomSuffix()
		if wf.GenerateName == "" {
			wf.Name = "workflow-" + randomSuffix()
		}
	}
	if wf.Namespace == "" {
		wf.Namespace = "default"
	}
	if wf.UID == "" {
		wf.UID = types.UID(uuid.NewString())
	}
	var missing []string
	for _, p := range wf.Spec.Arguments.Parameters {
		if p.Value == nil && p.ValueFrom == nil {
			missing = append(missing, p.Name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("workflow arguments without a value: %s (set them, e.g. --param %s=...)", strings.Join(missing, ", "), missing[0])
	}
	wf.CreationTimestamp = metav1.Now()
	r := &run{e: e, wf: wf, dir: filepath.Join(e.opts.Home, "runs", wf.Name)}
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		return nil, fmt.Errorf("create run directory: %w", err)
	}
	if e.opts.Sandbox != nil {
		defer e.opts.Sandbox.Done(wf.Name)
	}
	if p := wf.Spec.Parallelism; p != nil && *p > 0 {
		r.pods = make(chan struct{}, *p)
	}
	r.globals = r.globalParams()
	wf.Status = wfv1.WorkflowStatus{Phase: wfv1.WorkflowRunning, StartedAt: metav1.Now(), Nodes: wfv1.Nodes{}}
	r.zygotes = launcher.NewZygotes()
	defer r.zygotes.Close()
	r.feed = newFeed(r)
	if r.feed.active() {
		go r.feed.run()
		defer r.feed.close() // the final status, once Run has set it
	}
	r.mu.Lock()
	r.feed.mark("")
	r.mu.Unlock()

	runCtx := ctx
	if d := wf.Spec.ActiveDeadlineSeconds; d != nil {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, time.Duration(*d)*time.Second)
		defer cancel()
	}
	root := r.executeTemplate(runCtx, call{
		nodeName: wf.Name, tmplName: wf.Spec.Entrypoint, args: wf.Spec.Arguments,
	})
	phase, msg := r.node(root).Phase, r.node(root).Message
	if ctx.Err() != nil {
		phase, msg = wfv1.NodeFailed, "stopped"
	} else if runCtx.Err() != nil {
		phase, msg = wfv1.NodeFailed, "Max duration limit exceeded"
	}
	r.onExit(ctx, phase)
	r.mu.Lock()
	wf.Status.Phase = wfv1.WorkflowPhase(phase)
	if phase == wfv1.NodeError {
		wf.Status.Phase = wfv1.WorkflowError
	}
	if phase != wfv1.NodeSucceeded {
		wf.Status.Message = msg
	}
	wf.Status.FinishedAt = metav1.Now()
	wf.Status.Outputs = r.nodeUnlocked(root).Outputs
	r.mu.Unlock()
	return wf, nil
}

// workDir is the working directory all the run's steps share, as
// kfp.local's subprocess runner shares the caller's: relative paths written
// by one step are seen by the next.
func (r *run) workDir() string {
	d := filepath.Join(r.dir, "work")
	_ = os.MkdirAll(d, 0o700)
	return d
}

// onExit runs spec.onExit with workflow.status and workflow.failures set.
func (r *run) onExit(ctx context.Context, phase wfv1.NodePhase) {
	if r.wf.Spec.OnExit == "" {
		return
	}
	r.globals["workflow.status"] = string(phase)
	r.globals["workflow.failures"] = r.failures()
	// The exit handler runs even when the run was stopped, like Argo's.
	r.executeTemplate(context.WithoutCancel(ctx), call{
		nodeName: r.wf.Name + ".onExit", tmplName: r.wf.Spec.OnExit, args: r.wf.Spec.Arguments,
	})
}

// failures is workflow.failures: the failed pod nodes as JSON.
func (r *run) failures() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	type failure struct {
		DisplayName  string `json:"displayName"`
		Message      string `json:"message"`
		TemplateName string `json:"templateName"`
		Phase        string `json:"phase"`
		PodName      string `json:"podName"`
		FinishedAt   string `json:"finishedAt"`
	}
	var out []failure
	for _, n := range r.wf.Status.Nodes {
		if n.Type == wfv1.NodeTypePod && (n.Phase == wfv1.NodeFailed || n.Phase == wfv1.NodeError) {
			out = append(out, failure{n.DisplayName, n.Message, n.TemplateName, string(n.Phase), podName(r.wf.Name, n.Name, n.TemplateName), n.FinishedAt.UTC().Format(time.RFC3339)})
		}
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func (r *run) globalParams() map[string]string {
	wf := r.wf
	g := map[string]string{
		"workflow.name":               wf.Name,
		"workflow.namespace":          wf.Namespace,
		"workflow.uid":                string(wf.UID),
		"workflow.serviceAccountName": wf.Spec.ServiceAccountName,
		"workflow.creationTimestamp":  wf.CreationTimestamp.UTC().Format(time.RFC3339),
		"workflow.mainEntrypoint":     wf.Spec.Entrypoint,
	}
	for _, p := range wf.Spec.Arguments.Parameters {
		if p.Value != nil {
			g["workflow.parameters."+p.Name] = p.Value.String()
		}
	}
	for k, v := range wf.Labels {
		g["workflow.labels."+k] = v
	}
	for k, v := range wf.Annotations {
		g["workflow.annotations."+k] = v
	}
	return g
}

// writeLogs writes complete lines to the logs.
func (r *run) writeLogs(b []byte) {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	_, _ = r.e.opts.Logs.Write(b)
}

// logf writes a line of the engine's own to the logs.
func (r *run) logf(format string, args ...any) {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	fmt.Fprintf(r.e.opts.Logs, format+"\n", args...)
}

const alnum = "abcdefghijklmnopqrstuvwxyz0123456789"

func randomSuffix() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}
