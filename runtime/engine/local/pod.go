package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/launcher"
)

// Directories of the launcher contract, mapped into each step's directory.
const (
	launcherBin = "/kubeline/bin/kubeline"
	podInputs   = "/kubeline/in"
	podOutputs  = "/kubeline/out"
)

// pod is one container step being run on the host.
type pod struct {
	r       *run
	id      string
	name    string // {{pod.name}}
	dir     string
	tmpl    *wfv1.Template
	display string
	paths   map[string]string // container path -> host path
	// resolved numbers the artifacts downloaded for URIs (resolveURI).
	resolved atomic.Int64
	// sandbox isolates the step's commands (box); nil until made.
	sandbox launcher.Sandbox
}

// executePod runs a container template as a host process.
func (r *run) executePod(ctx context.Context, id string, c call, tmpl *wfv1.Template) {
	if r.pods != nil {
		select {
		case r.pods <- struct{}{}:
			defer func() { <-r.pods }()
		case <-ctx.Done():
			r.finish(id, wfv1.NodeFailed, "stopped")
			return
		}
	}
	select {
	case r.e.procs <- struct{}{}:
		defer func() { <-r.e.procs }()
	case <-ctx.Done():
		r.finish(id, wfv1.NodeFailed, "stopped")
		return
	}
	p := &pod{r: r, id: id, name: podName(r.wf.Name, c.nodeName, c.tmplName), display: c.display(),
		dir: filepath.Join(r.dir, id), paths: map[string]string{}}
	t, err := p.prepare(tmpl)
	if err != nil {
		r.finish(id, wfv1.NodeError, err.Error())
		return
	}
	p.tmpl = t
	note := needsKubernetes(t)
	r.setNode(id, func(n *wfv1.NodeStatus) {
		n.Phase = wfv1.NodeRunning
		n.HostNodeName = "localhost"
	})
	start := time.Now()
	outputs, cached, err := p.run(ctx)
	p.recordResources(time.Since(start))
	p.archiveLog(ctx)
	switch {
	case ctx.Err() != nil:
		r.finish(id, wfv1.NodeFailed, "stopped")
	case err != nil:
		phase, msg := wfv1.NodeError, err.Error()
		var ee *launcher.ExitError
		if errors.As(err, &ee) {
			// Argo's message for a failed main container.
			phase, msg = wfv1.NodeFailed, fmt.Sprintf("main: Error (exit code %d)", ee.Code)
			if ee.Reason != "" {
				msg += ": " + ee.Reason
			}
		}
		r.setNode(id, func(n *wfv1.NodeStatus) { n.Outputs = outputs })
		r.finish(id, phase, joinNote(msg, note))
	default:
		r.setNode(id, func(n *wfv1.NodeStatus) {
			n.Outputs = outputs
			if cached != "" {
				n.MemoizationStatus = &wfv1.MemoizationStatus{Hit: true, Key: cached, CacheName: "kubeline"}
			}
		})
		r.finish(id, wfv1.NodeSucceeded, note)
	}
}

// prepare substitutes {{pod.name}}, makes the step's directories and
// downloads its input artifacts.
func (p *pod) prepare(tmpl *wfv1.Template) (*wfv1.Template, error) {
	b, _ := json.Marshal(tmpl)
	out := strings.ReplaceAll(string(b), "{{pod.name}}", p.name)
	t := &wfv1.Template{}
	if err := json.Unmarshal([]byte(out), t); err != nil {
		return nil, err
	}
	for _, d := range []string{"in", "out", "root"} {
		if err := os.MkdirAll(filepath.Join(p.dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("create step directory: %w", err)
		}
	}
	ctx := context.Background()
	for _, a := range t.Inputs.Artifacts {
		host := p.hostPath(a.Path)
		switch {
		case a.S3 != nil && a.S3.Key != "":
			if err := p.r.e.opts.Store.Download(ctx, a.S3.Key, host); err != nil {
				if a.Optional && errors.Is(err, artifact.ErrNotFound) {
					continue
				}
				return nil, fmt.Errorf("input artifact %s: %w", a.Name, err)
			}
		case a.Raw != nil:
			if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
				return nil, err
			}
			if err := os.WriteFile(host, []byte(a.Raw.Data), 0o644); err != nil {
				return nil, fmt.Errorf("input artifact %s: %w", a.Name, err)
			}
		case a.Optional:
		default:
			return nil, fmt.Errorf("input artifact %s: no location the embedded engine can read", a.Name)
		}
	}
	return t, nil
}

// hostPath maps a path inside the "container" to the step's directory:
// the launcher's /kubeline/in and /kubeline/out to in/ and out/, any other
// absolute path under root/. Commands see the mapped paths (see command).
func (p *pod) hostPath(path string) string {
	switch {
	case path == podInputs || strings.HasPrefix(path, podInputs+"/"):
		return filepath.Join(p.dir, "in", strings.TrimPrefix(path, podInputs))
	case path == podOutputs || strings.HasPrefix(path, podOutputs+"/"):
		return filepath.Join(p.dir, "out", strings.TrimPrefix(path, podOutputs))
	}
	host := filepath.Join(p.dir, "root", path)
	p.paths[path] = host
	return host
}

// env is the step's environment: the engine's, the template's env, and the
// variables the compiled podSpecPatch gives every pod.
func (p *pod) env(c *corev1.Container) []string {
	env := append([]string{}, p.r.e.opts.Env...)
	env = append(env,
		"KUBELINE_WORKFLOW="+p.r.wf.Name, "KUBELINE_WORKFLOW_UID="+string(p.r.wf.UID),
		"KUBELINE_POD="+p.name, "HOSTNAME="+p.name, "ARGO_NODE_ID="+p.id)
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			if f := e.ValueFrom.FieldRef; f != nil {
				if v, ok := p.field(f.FieldPath); ok {
					env = append(env, e.Name+"="+v)
				}
			}
			if s := e.ValueFrom.SecretKeyRef; s != nil && p.r.e.opts.Secrets != nil {
				if v, ok := p.r.e.opts.Secrets(s.Name, s.Key); ok {
					env = append(env, e.Name+"="+v)
				}
			}
			continue // config maps, and secrets unless Options.Secrets has them, exist on Kubernetes only
		}
		env = append(env, e.Name+"="+e.Value)
	}
	return env
}

var metaField = regexp.MustCompile(`^metadata\.(labels|annotations)\['([^']+)'\]$`)

// field resolves a downward-API field path for the step's "pod": its name,
// namespace, and the labels and annotations its template declares.
func (p *pod) field(path string) (string, bool) {
	switch path {
	case "metadata.name":
		return p.name, true
	case "metadata.namespace":
		return p.r.wf.Namespace, true
	case "spec.nodeName":
		return "localhost", true
	}
	m := metaField.FindStringSubmatch(path)
	if m == nil {
		return "", false
	}
	src := p.tmpl.Metadata.Labels
	if m[1] == "annotations" {
		src = p.tmpl.Metadata.Annotations
	}
	// The downward API gives an absent label or annotation as "".
	return src[m[2]], true
}

// run executes the step and collects its outputs. It returns the cache key
// when the outputs came from the step cache.
func (p *pod) run(ctx context.Context) (*wfv1.Outputs, string, error) {
	c := p.tmpl.Container
	if c == nil && p.tmpl.Script != nil {
		c = &p.tmpl.Script.Container
	}
	logFile, err := os.Create(filepath.Join(p.dir, "log"))
	if err != nil {
		return nil, "", err
	}
	defer logFile.Close()
	logs := io.MultiWriter(logFile, &prefixWriter{r: p.r, prefix: p.display})
	if note := needsKubernetes(p.tmpl); note != "" {
		fmt.Fprintln(logs, note+" (the embedded engine runs the step without it)")
	}
	if len(c.Command) >= 2 && c.Command[0] == launcherBin && c.Command[1] == "launch" {
		inv, err := launcher.ParseArgs(c.Args, logs)
		if err != nil {
			return nil, "", fmt.Errorf("kubeline launch: %w", err)
		}
		if p.r.e.opts.NoCache {
			inv.Cache = false
		}
		if key, outs, hit := p.cached(inv); hit {
			fmt.Fprintf(logs, "cached: outputs reused from an earlier run (key %s)\n", key[:12])
			return outs, key, nil
		}
		if err := p.launch(ctx, inv, c, logs); err != nil {
			return nil, "", err
		}
		outs, err := p.collect()
		if err == nil && inv.Cache {
			p.storeCache(inv, outs)
		}
		return outs, "", err
	}
	if err := p.exec(ctx, c, logs); err != nil {
		return nil, "", err
	}
	outs, err := p.collect()
	return outs, "", err
}

// launch runs the launcher in-process, as `kubeline launch` would in a pod.
func (p *pod) launch(ctx context.Context, inv *launcher.Invocation, c *corev1.Container, logs io.Writer) error {
	box, err := p.box()
	if err != nil {
		return err
	}
	opts := launcher.Options{
		Task: inv.Task, Component: inv.Component, Inputs: inv.Inputs, Command: p.mapArgs(inv.Command),
		InputsDir: filepath.Join(p.dir, "in"), OutputsDir: filepath.Join(p.dir, "out"), WorkDir: p.r.workDir(),
		Env: p.env(c), Stdout: logs, Stderr: logs, Grace: p.r.e.opts.StopGrace,
		Pipeline: launcher.PipelineInfo{JobName: p.r.wf.Name, JobUID: string(p.r.wf.UID), Pod: p.name, TaskUID: p.id,
			CreateTime: p.r.globals["workflow.creationTimestamp"], Workspace: filepath.Join(p.r.dir, "workspace")},
		ArtifactRoot: strings.TrimSuffix(p.r.e.opts.Store.URI("x"), "/x"),
		Sandbox:      box,
		Objects:      p.r.e.opts.Store,
		Python:       launcher.PythonEnv{Executor: p.r.e.opts.PythonExecutor, Home: p.r.e.opts.Home, Zygotes: p.r.zygotes},
		LocalURIs:    true,
		Resolve:      func(uri string) (string, error) { return p.resolveURI(ctx, uri) },
		Track:        p.track(),
	}
	switch {
	case inv.Condition != "":
		_, err := launcher.EvalCondition(inv.Condition, opts)
		return err
	case inv.Importer != nil:
		return launcher.RunImporter(*inv.Importer, opts)
	case inv.HPOStep != "":
		return launcher.RunHPOStep(inv, opts)
	case inv.ResolveVersion != "":
		return launcher.RunResolveVersion(inv.ResolveVersion, opts)
	}
	opts.Trial = inv.Trial
	return launcher.Run(ctx, opts)
}

// exec runs a plain container command on the host.
func (p *pod) exec(ctx context.Context, c *corev1.Container, logs io.Writer) error {
	args := p.mapArgs(append(append([]string{}, c.Command...), c.Args...))
	var readOnly []string
	if p.tmpl.Script != nil {
		script := filepath.Join(p.dir, "script")
		if err := os.WriteFile(script, []byte(p.tmpl.Script.Source), 0o755); err != nil {
			return err
		}
		args, readOnly = append(args, script), []string{script}
	}
	if len(args) == 0 {
		return errors.New("the container has no command: images are not run on the embedded engine")
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = p.r.workDir()
	if c.WorkingDir != "" {
		cmd.Dir = p.hostPath(c.WorkingDir)
		_ = os.MkdirAll(cmd.Dir, 0o755)
	}
	cmd.Env, cmd.Stderr = p.env(c), logs
	var stdout strings.Builder
	cmd.Stdout = io.MultiWriter(logs, &stdout)
	err := p.runCommand(cmd, readOnly...)
	_ = os.WriteFile(filepath.Join(p.dir, "stdout"), []byte(stdout.String()), 0o644)
	var xe *exec.ExitError
	if errors.As(err, &xe) {
		return &launcher.ExitError{Code: xe.ExitCode()}
	}
	return err
}

// mapArgs rewrites container paths of the step's artifacts and outputs in a
// command line to their host paths.
func (p *pod) mapArgs(args []string) []string {
	for _, a := range p.tmpl.Outputs.Artifacts {
		p.hostPath(a.Path)
	}
	for _, prm := range p.tmpl.Outputs.Parameters {
		if prm.ValueFrom != nil && prm.ValueFrom.Path != "" {
			p.hostPath(prm.ValueFrom.Path)
		}
	}
	out := make([]string, len(args))
	for i, a := range args {
		for from, to := range p.paths {
			if from != "" && from != "/" {
				a = strings.ReplaceAll(a, from, to)
			}
		}
		out[i] = a
	}
	return out
}

// collect reads output parameters and uploads output artifacts.
func (p *pod) collect() (*wfv1.Outputs, error) {
	out := &wfv1.Outputs{}
	var errs []string
	for _, prm := range p.tmpl.Outputs.Parameters {
		vf := prm.ValueFrom
		if vf == nil {
			continue
		}
		var v *wfv1.AnyString
		if vf.Path != "" {
			if b, err := os.ReadFile(p.hostPath(vf.Path)); err == nil {
				// Argo's executor trims a single newline.
				v = wfv1.AnyStringPtr(strings.TrimSuffix(string(b), "\n"))
			}
		}
		if v == nil && vf.Default != nil {
			v = vf.Default
		}
		if v == nil {
			errs = append(errs, fmt.Sprintf("output parameter %s: %s was not written", prm.Name, vf.Path))
			continue
		}
		out.Parameters = append(out.Parameters, wfv1.Parameter{Name: prm.Name, Value: v})
	}
	if b, err := os.ReadFile(filepath.Join(p.dir, "stdout")); err == nil && p.tmpl.Script != nil {
		// Argo's executor trims a single newline off a script's stdout.
		res := strings.TrimSuffix(string(b), "\n")
		out.Result = &res
	}
	for _, a := range p.tmpl.Outputs.Artifacts {
		host := p.hostPath(a.Path)
		if _, err := os.Stat(host); err != nil {
			if !a.Optional {
				errs = append(errs, fmt.Sprintf("output artifact %s: %s does not exist", a.Name, a.Path))
			}
			continue
		}
		key := p.r.wf.Name + "/" + p.name + "/" + a.Name
		if a.S3 != nil && a.S3.Key != "" {
			key = a.S3.Key
		}
		if err := p.r.e.opts.Store.Upload(context.Background(), key, host); err != nil {
			errs = append(errs, fmt.Sprintf("output artifact %s: %v", a.Name, err))
			continue
		}
		art := wfv1.Artifact{Name: a.Name, Path: a.Path, ArtifactLocation: wfv1.ArtifactLocation{S3: &wfv1.S3Artifact{Key: key}}}
		if a.Archive != nil {
			art.Archive = a.Archive
		}
		out.Artifacts = append(out.Artifacts, art)
	}
	if len(errs) > 0 {
		return out, errors.New(strings.Join(errs, "; "))
	}
	if len(out.Parameters) == 0 && len(out.Artifacts) == 0 && out.Result == nil {
		return nil, nil
	}
	return out, nil
}

// recordResources records GPU requests on the node, as Argo's
// resourcesDuration does (count × seconds).
func (p *pod) recordResources(d time.Duration) {
	c := p.tmpl.Container
	if c == nil {
		return
	}
	rd := wfv1.ResourcesDuration{}
	for name, q := range c.Resources.Limits {
		if strings.HasSuffix(string(name), "/gpu") {
			secs := int64(d.Seconds() + 0.5)
			if secs == 0 {
				secs = 1
			}
			rd[name] = wfv1.NewResourceDuration(time.Duration(secs*q.Value()) * time.Second)
		}
	}
	if len(rd) > 0 {
		p.r.setNode(p.id, func(n *wfv1.NodeStatus) { n.ResourcesDuration = rd })
	}
}

// prefixWriter writes step output to the engine's logs, line by line,
// prefixed with the step's name: the complete lines of a write go to the
// logs in one write.
type prefixWriter struct {
	mu     sync.Mutex // stdout and stderr are copied concurrently
	r      *run
	prefix string
	buf    []byte
}

func (w *prefixWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, b...)
	end := bytes.LastIndexByte(w.buf, '\n')
	if end < 0 {
		return len(b), nil
	}
	var out []byte
	for rest := w.buf[:end+1]; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		out = append(append(append(out, w.prefix...), ": "...), rest[:i+1]...)
		rest = rest[i+1:]
	}
	w.buf = append(w.buf[:0], w.buf[end+1:]...)
	w.r.writeLogs(out)
	return len(b), nil
}
