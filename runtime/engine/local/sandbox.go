package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/runtime/engine"
	"github.com/kubeline/kubeline/runtime/launcher"
	"github.com/kubeline/kubeline/runtime/sandbox"
)

// Sandbox isolates the processes of steps (runtime/sandbox.Bwrap): the
// steps of one run share an unprivileged uid of their own, and each writes
// only its own directories and the run's shared ones.
type Sandbox interface {
	// Step returns the sandbox of one step of run.
	Step(run string, private, shared []string) (sandbox.Box, error)
	// Done releases what run's steps held.
	Done(run string)
}

// box is the step's sandbox, made on first use; nil when the engine has
// none.
func (p *pod) box() (launcher.Sandbox, error) {
	sb := p.r.e.opts.Sandbox
	if sb == nil {
		return nil, nil
	}
	if p.sandbox != nil {
		return p.sandbox, nil
	}
	private := []string{filepath.Join(p.dir, "in"), filepath.Join(p.dir, "out"), filepath.Join(p.dir, "root"), filepath.Join(p.dir, "resolved")}
	for _, d := range private {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create step directory: %w", err)
		}
	}
	b, err := sb.Step(p.r.wf.Name, private, []string{p.r.workDir(), filepath.Join(p.r.dir, "workspace")})
	if err != nil {
		return nil, err
	}
	p.sandbox = b
	return b, nil
}

// checkHostPath refuses host paths a step may not read through the
// engine: the metadata store's files always (SQLite loses its locks when any
// other descriptor of its file closes), anything outside the import root
// when one is set, and on a confined engine every path when none is.
func (e *Engine) checkHostPath(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, launcher.ErrRefused)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		real = abs // a missing path fails when read
	}
	for _, prot := range e.opts.Protected {
		if within(prot, real) || within(real, prot) || sameFile(real, prot) {
			return fmt.Errorf("%s is the metadata store's or holds it: steps never read it: %w", path, launcher.ErrRefused)
		}
	}
	if !e.opts.Confined && e.opts.ImportRoot == "" {
		return nil
	}
	if e.opts.ImportRoot == "" {
		return fmt.Errorf("%s: a multi-user server reads no host path for a step (an operator can allow a directory with --import-root): %w", path, launcher.ErrRefused)
	}
	root, err := filepath.EvalSymlinks(e.opts.ImportRoot)
	if err != nil || !within(root, real) {
		return fmt.Errorf("%s is outside the import root %s: %w", path, e.opts.ImportRoot, launcher.ErrRefused)
	}
	return nil
}

// within reports whether path is dir or under it.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../") && !filepath.IsAbs(rel)
}

func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// checkKey refuses, on a confined engine, artifact-store keys the run does
// not own: another run's artifacts, a version its URIs were not resolved to.
func (p *pod) checkKey(key string) error {
	if !p.r.e.opts.Confined {
		return nil
	}
	name := p.r.wf.Name
	if strings.HasPrefix(key, "kubeline/"+name+"/") || strings.HasPrefix(key, name+"/") {
		return nil
	}
	var readable []string
	_ = json.Unmarshal([]byte(p.r.wf.Annotations[engine.AnnotationReadableKeys]), &readable)
	p.r.mu.Lock()
	for _, n := range p.r.wf.Status.Nodes { // outputs of its steps, cached ones too
		if n.Outputs != nil {
			for _, a := range n.Outputs.Artifacts {
				if a.S3 != nil && a.S3.Key != "" {
					readable = append(readable, a.S3.Key)
				}
			}
		}
	}
	p.r.mu.Unlock()
	for _, k := range readable {
		if key == k || strings.HasPrefix(key, k+"/") {
			return nil
		}
	}
	return fmt.Errorf("%s is not an artifact of this run: %w", key, launcher.ErrRefused)
}

// resolveURI makes an artifact URI readable here: a URI in the engine's
// artifact store (an object store's, or the local directory's file://) is
// downloaded into the pod's directory; any other file:// URI or path is
// the host file itself. What the run may not read is launcher.ErrRefused.
func (p *pod) resolveURI(ctx context.Context, uri string) (string, error) {
	st := p.r.e.opts.Store
	if key, ok := strings.CutPrefix(uri, strings.TrimSuffix(st.URI("x"), "x")); ok {
		if err := p.checkKey(key); err != nil {
			return "", err
		}
		dst := filepath.Join(p.dir, "resolved", fmt.Sprintf("%d", p.resolved.Add(1)))
		if err := st.Download(ctx, key, dst); err != nil {
			return "", err
		}
		return dst, nil
	}
	path, ok := strings.CutPrefix(uri, "file://")
	if !ok && !filepath.IsAbs(uri) {
		return "", fmt.Errorf("cannot read %s here: it is neither a local file nor in the engine's artifact store (%s): %w", uri, st.URI(""), launcher.ErrElsewhere)
	}
	if !ok {
		path = uri
	}
	if key, ok := p.artifactKey(path); ok && p.r.e.opts.Confined {
		// An artifact of one of the run's steps, by its local path: the
		// sandboxed step reads its copy in the artifact store.
		dst := filepath.Join(p.dir, "resolved", fmt.Sprintf("%d", p.resolved.Add(1)))
		if err := st.Download(ctx, key, dst); err != nil {
			return "", err
		}
		return dst, nil
	}
	if err := p.r.e.checkHostPath(path); err != nil {
		return "", err
	}
	return path, nil
}

// artifactKey maps the local path of an input or output artifact of one of
// the run's steps (RUN/NODE/in|out/NAME/...) to its key in the artifact
// store.
func (p *pod) artifactKey(path string) (string, bool) {
	rel, err := filepath.Rel(p.r.dir, filepath.Clean(path))
	parts := strings.SplitN(filepath.ToSlash(rel), "/", 4)
	if err != nil || len(parts) < 3 || parts[1] != "out" && parts[1] != "in" {
		return "", false
	}
	p.r.mu.Lock()
	defer p.r.mu.Unlock()
	n, ok := p.r.wf.Status.Nodes[parts[0]]
	if !ok {
		return "", false
	}
	var arts []wfv1.Artifact
	dir := podOutputs
	if parts[1] == "in" {
		dir = podInputs
		if n.Inputs != nil {
			arts = n.Inputs.Artifacts
		}
	} else if n.Outputs != nil {
		arts = n.Outputs.Artifacts
	}
	for _, a := range arts {
		if a.S3 != nil && a.S3.Key != "" && a.Path == dir+"/"+parts[2] {
			if len(parts) == 4 {
				return a.S3.Key + "/" + parts[3], true
			}
			return a.S3.Key, true
		}
	}
	return "", false
}

// runCommand runs a plain container command like a pod's (stoppable), in
// the step's sandbox when the engine has one: sealed when it ends, before
// the engine reads its outputs.
func (p *pod) runCommand(cmd *exec.Cmd, readOnly ...string) error {
	launcher.Terminate(cmd, p.r.e.opts.StopGrace)
	box, err := p.box()
	if err != nil {
		return err
	}
	if box == nil {
		return launcher.RunProcess(cmd, p.track())
	}
	if err := box.Wrap(cmd, readOnly...); err != nil {
		return err
	}
	err = launcher.RunProcess(cmd, p.track())
	var xe *exec.ExitError
	if serr := box.Seal(); serr != nil && !errors.As(err, &xe) {
		return serr
	}
	return err
}
