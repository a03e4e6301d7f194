package launcher

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Python executors for KFP lightweight Python components.
const (
	// PythonCommand runs the component's own command (pip-installs kfp).
	PythonCommand = "command"
	// PythonBuiltin runs kubeline's own executor, shipped in the binary.
	PythonBuiltin = "builtin"
	// PythonVenv runs the component in a virtual environment per (python,
	// kfp version, packages), created once and reused.
	PythonVenv = "venv"
	// PythonAuto uses a venv when one exists or can be made, else builtin.
	PythonAuto = "auto"
)

//go:embed all:pyexec/kfp
var pyexecFS embed.FS

// lightweight is a recognised KFP lightweight Python component.
type lightweight struct {
	source   string     // the component's Python source
	rest     []string   // the args after the source: --executor_input {{$}} --function_to_execute NAME
	pipArgs  [][]string // each pip install of the bootstrap, its arguments
	function string
}

// pipInstallRE finds the pip installs of the bootstrap script.
var pipInstallRE = regexp.MustCompile(`pip install ((?:'[^']*'\s*|--?[\w-]+\s*)+)`)
var quotedRE = regexp.MustCompile(`'([^']*)'|(--?[\w-]+)`)

// parseLightweight recognises the command shape the kfp SDK writes for
// lightweight components: sh -c "<pip bootstrap> && "$0" "$@"" sh -ec
// "<write ephemeral_component.py; python3 -m kfp.dsl.executor_main ...>"
// SOURCE --executor_input {{$}} --function_to_execute NAME. The
// containerized form (python3 -m kfp.dsl.executor_main without a source)
// is not recognised: its code lives in its image.
func parseLightweight(cmd []string) *lightweight {
	for i, a := range cmd {
		if !strings.Contains(a, "kfp.dsl.executor_main") || !strings.Contains(a, "ephemeral_component.py") || i+1 >= len(cmd) {
			continue
		}
		lw := &lightweight{source: cmd[i+1], rest: append([]string{}, cmd[i+2:]...)}
		for j := 0; j+1 < len(lw.rest); j++ {
			if lw.rest[j] == "--function_to_execute" {
				lw.function = lw.rest[j+1]
			}
		}
		for _, b := range cmd[:i] {
			for _, m := range pipInstallRE.FindAllStringSubmatch(b, -1) {
				var args []string
				for _, q := range quotedRE.FindAllStringSubmatch(m[1], -1) {
					arg := q[1] + q[2]
					if arg == "--quiet" || arg == "--no-warn-script-location" {
						continue
					}
					args = append(args, arg)
				}
				lw.pipArgs = append(lw.pipArgs, args)
			}
		}
		if lw.function == "" {
			return nil
		}
		return lw
	}
	return nil
}

// PythonEnv configures how lightweight Python components run.
type PythonEnv struct {
	// Executor is PythonCommand (the default), PythonBuiltin, PythonVenv or
	// PythonAuto.
	Executor string
	// Home holds venvs (Home/venvs) and the builtin executor (Home/pyexec).
	Home string
	// Zygotes, when set, start the components by forking a ready
	// interpreter (zygote.go) rather than starting one per step.
	Zygotes *Zygotes
}

// runPython runs a lightweight component with the configured executor. ok
// is false when the command should run as written.
func (s *step) runPython(ctx context.Context, lw *lightweight) (bool, error) {
	pe := s.opts.Python
	if pe.Executor == "" || pe.Executor == PythonCommand {
		return false, nil
	}
	log := s.opts.Stderr
	if log == nil {
		log = io.Discard
	}
	python := "python3"
	if s.opts.Sandbox == nil { // asked of the host's python3; a sandbox's is found on its own PATH
		if py, err := resolvePython(ctx, s.opts.Env); err == nil {
			python = py.path
		}
	}
	why := ""
	if (pe.Executor == PythonVenv || pe.Executor == PythonAuto) && s.opts.Sandbox == nil { // venvs are made on the host
		venv, err := s.venv(ctx, lw, log)
		switch {
		case err == nil:
			python = filepath.Join(venv, "bin", "python")
			fmt.Fprintf(log, "kubeline: %s runs in the venv %s\n", s.opts.Task, venv)
			return true, s.execPython(ctx, lw, python, false, nil)
		case pe.Executor == PythonVenv:
			return true, err
		default:
			why = fmt.Sprintf(" (no venv: %v)", err)
		}
	}
	dir, err := builtinDir(pe.Home)
	if err != nil {
		return true, err
	}
	fmt.Fprintf(log, "kubeline: %s runs with kubeline's builtin KFP executor%s\n", s.opts.Task, why)
	return true, s.execPython(ctx, lw, python, true, []string{"PYTHONPATH=" + joinPath(dir, envValue(s.opts.Env, "PYTHONPATH"))}, dir)
}

// execPython runs python -m kfp.dsl.executor_main on the component. The
// kfp SDK (a venv) derives an artifact's .path from its .uri, so it gets
// the local paths as URIs, as kfp.local gives them. The builtin executor
// (builtin) gets what KFP on a cluster gives: each artifact's URI where it
// is stored (a pod's S3 URI, which a later importer reads back), and its
// local path apart (pythonPaths).
func (s *step) execPython(ctx context.Context, lw *lightweight, python string, builtin bool, extraEnv []string, readOnly ...string) error {
	src := filepath.Join(s.opts.OutputsDir, ".kfp", "ephemeral_component.py")
	if err := os.WriteFile(src, []byte(lw.source), 0o644); err != nil {
		return fmt.Errorf("write component source: %w", err)
	}
	localURIs := s.localURIs
	s.localURIs, s.execInput = !builtin, ""
	defer func() { s.localURIs = localURIs }()
	if builtin {
		paths, err := s.pythonPaths()
		if err != nil {
			return err
		}
		extraEnv = append(extraEnv, pathsEnv+"="+paths)
	}
	rest, err := s.resolveArgs(lw.rest)
	if err != nil {
		return err
	}
	args := append([]string{"-m", "kfp.dsl.executor_main", "--component_module_path", src}, rest...)
	tail := &tailBuffer{max: 8 << 10}
	var stderr io.Writer = tail
	if s.opts.Stderr != nil {
		stderr = io.MultiWriter(s.opts.Stderr, tail)
	}
	env := append(append(append([]string{}, s.opts.Env...), "_KFP_RUNTIME=true"), extraEnv...)
	failed := func(code int) error {
		reason := ""
		if m := missingModuleRE.FindStringSubmatch(tail.String()); m != nil {
			reason = fmt.Sprintf("the component needs the Python package %q, which %s does not have", m[1], python)
		}
		return &ExitError{Code: code, Reason: reason}
	}
	// A zygote's steps share one host interpreter's start: a step that must
	// run isolated (a sandbox of its own) must never take this path.
	if zs := s.opts.Python.Zygotes; zs != nil && s.opts.Sandbox == nil {
		stdout := s.opts.Stdout
		if stdout == nil {
			stdout = io.Discard
		}
		code, err := zs.run(ctx, python, args[1], args[2:], s.opts.WorkDir, env, stdout, stderr, s.opts.Grace, s.opts.Track)
		switch {
		case err == nil && code == 0:
			return nil
		case err == nil:
			return failed(code)
		case !errors.Is(err, errNoZygote):
			return fmt.Errorf("run %s: %w", python, err)
		}
		// No zygote: the step runs its own interpreter.
	}
	cmd := exec.CommandContext(ctx, python, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr, cmd.Env = s.opts.WorkDir, s.opts.Stdout, stderr, env
	if err := s.runCommand(cmd, readOnly...); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return failed(exitCode(ee))
		}
		return fmt.Errorf("run %s: %w", python, err)
	}
	return nil
}

// pathsEnv names the file that gives the builtin executor each
// artifact's local path by its URI (pyexec's artifact_types.py reads it).
const pathsEnv = "KUBELINE_ARTIFACT_PATHS"

// pythonPaths writes the local path of every input and output artifact of
// the step by its URI, as JSON {URI: PATH}, and returns the file's path. An
// artifact given twice (two inputs of the same URI) has the same content
// at either path.
func (s *step) pythonPaths() (string, error) {
	paths := map[string]string{}
	for _, arts := range s.inArts {
		for _, a := range arts {
			paths[a.URI] = a.Path
		}
	}
	for _, a := range s.outArts {
		paths[a.URI] = a.Path
	}
	b, err := json.Marshal(paths)
	if err != nil {
		return "", fmt.Errorf("artifact paths: %w", err)
	}
	f := filepath.Join(s.opts.OutputsDir, ".kfp", "artifact_paths.json")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		return "", fmt.Errorf("write artifact paths: %w", err)
	}
	return f, nil
}

var missingModuleRE = regexp.MustCompile(`No module named '([^'.]+)`)

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// venv returns a virtual environment with the component's pip packages,
// making it on first use: python3 -m venv --without-pip, then the pip on
// PATH installs into it (pip --python). It is keyed by the python version and
// the pip arguments, and reused by later steps and runs.
func (s *step) venv(ctx context.Context, lw *lightweight, log io.Writer) (string, error) {
	py, err := resolvePython(ctx, s.opts.Env)
	if err != nil {
		return "", err
	}
	version := py.version
	h := sha256.New()
	h.Write(version)
	for _, a := range lw.pipArgs {
		fmt.Fprintf(h, "%q\n", a)
	}
	key := hex.EncodeToString(h.Sum(nil))[:16]
	dir := filepath.Join(s.opts.Python.Home, "venvs", key)
	if _, err := os.Stat(filepath.Join(dir, ".ready")); err == nil {
		return dir, nil
	}
	if err := recentFailure(dir); err != nil {
		return "", err
	}
	if s.opts.Python.Executor == PythonAuto {
		if err := packageIndex(ctx, s.opts.Env); err != nil {
			return "", err // offline: the builtin executor at once, no pip
		}
	}
	lock, err := lockDir(dir + ".lock")
	if err != nil {
		return "", err
	}
	defer lock()
	if _, err := os.Stat(filepath.Join(dir, ".ready")); err == nil {
		return dir, nil // made while we waited
	}
	if err := recentFailure(dir); err != nil {
		return "", err // failed while we waited
	}
	fail := func(err error) (string, error) {
		venvFailed(dir)
		os.RemoveAll(dir)
		return "", err
	}
	os.RemoveAll(dir)
	fmt.Fprintf(log, "kubeline: making venv %s for %s\n", dir, s.opts.Task)
	if out, err := exec.CommandContext(ctx, "python3", "-m", "venv", "--without-pip", dir).CombinedOutput(); err != nil {
		return fail(fmt.Errorf("python3 -m venv: %v: %s", err, strings.TrimSpace(string(out))))
	}
	for _, args := range lw.pipArgs {
		pip := exec.CommandContext(ctx, "pip", append([]string{"--python", filepath.Join(dir, "bin", "python"), "install",
			"--quiet", "--disable-pip-version-check", "--retries", "1", "--timeout", "15"}, args...)...)
		pip.Env = s.opts.Env
		if out, err := pip.CombinedOutput(); err != nil {
			return fail(fmt.Errorf("pip install %s: %v: %s", strings.Join(args, " "), err, lastLine(string(out))))
		}
	}
	if err := os.WriteFile(filepath.Join(dir, ".ready"), []byte(time.Now().UTC().Format(time.RFC3339)), 0o644); err != nil {
		return fail(err)
	}
	os.Remove(dir + ".failed")
	venvFailures.Delete(dir)
	return dir, nil
}

// lockDir takes an exclusive lock by creating a directory, waiting for
// another holder; it returns the unlock function.
func lockDir(path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	for i := 0; ; i++ {
		err := os.Mkdir(path, 0o755)
		if err == nil {
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		if fi, statErr := os.Stat(path); statErr == nil && time.Since(fi.ModTime()) > 30*time.Minute {
			os.Remove(path) // a holder that died
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// builtinDir writes the builtin executor (the kfp package shim) once under
// home/pyexec/<content hash> and returns that directory.
func builtinDir(home string) (string, error) {
	h := sha256.New()
	var files []string
	err := fs.WalkDir(pyexecFS, "pyexec", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(p, "__pycache__") || strings.HasSuffix(p, ".pyc") {
			return err
		}
		b, err := pyexecFS.ReadFile(p)
		if err != nil {
			return err
		}
		files = append(files, p)
		fmt.Fprintf(h, "%s\n", p)
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", err
	}
	if home == "" {
		home = os.TempDir()
	}
	dir := filepath.Join(home, "pyexec", hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(filepath.Join(dir, ".ready")); err == nil {
		os.Chmod(dir, 0o755) // one an older kubeline made 0700
		return dir, nil
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir)+string(os.PathSeparator), ".pyexec-")
	if err != nil {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return "", err
		}
		if tmp, err = os.MkdirTemp(filepath.Dir(dir), ".pyexec-"); err != nil {
			return "", err
		}
	}
	for _, p := range files {
		b, _ := pyexecFS.ReadFile(p)
		target := filepath.Join(tmp, strings.TrimPrefix(p, "pyexec/"))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(target, b, 0o644); err != nil {
			return "", err
		}
	}
	os.WriteFile(filepath.Join(tmp, ".ready"), nil, 0o644)
	os.Chmod(tmp, 0o755) // sandboxed steps (other uids) read it
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if _, statErr := os.Stat(filepath.Join(dir, ".ready")); statErr != nil {
			return "", err
		}
	}
	return dir, nil
}

func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v
		}
	}
	return ""
}

func joinPath(first, rest string) string {
	if rest == "" {
		return first
	}
	return first + string(os.PathListSeparator) + rest
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
