package launcher

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

//go:embed pyexec/zygote.py
var zygoteSource string

// errNoZygote says a zygote could not be started; the step then runs its
// own interpreter.
var errNoZygote = errors.New("no python zygote")

// Zygotes start the Python steps of a run by forking a Python process that
// has already started and imported the KFP executor (pyexec/zygote.py), one
// per interpreter, working directory and start-up environment (PYTHON*,
// HOME, LANG, LC_*), instead of starting an interpreter per step: a
// lightweight component then starts in milliseconds. A step keeps its own
// environment, working directory, output streams, exit code and process
// group; it dies with its zygote, and the zygote with this process.
//
// The embedded engine makes one per run (PythonEnv.Zygotes); a step in a
// pod runs its own interpreter. Steps that must be isolated from each
// other (a sandbox per step) must not share a zygote. Safe for concurrent
// use; Close stops the zygotes.
type Zygotes struct {
	mu     sync.Mutex
	dir    string // their sockets
	m      map[string]*zygote
	closed bool
}

type zygote struct {
	ready chan struct{} // closed once started (or failed: err)
	err   error
	cmd   *exec.Cmd
	stdin io.Closer // closing it stops the zygote
	sock  string
}

// NewZygotes returns an empty set; zygotes start with the first step that
// needs one.
func NewZygotes() *Zygotes { return &Zygotes{m: map[string]*zygote{}} }

// zygoteEnv reports whether an environment variable takes part in the
// interpreter's start, so that steps differing in it need different
// zygotes.
func zygoteEnv(kv string) bool {
	k, _, _ := strings.Cut(kv, "=")
	return strings.HasPrefix(k, "PYTHON") || k == "HOME" || k == "LANG" || strings.HasPrefix(k, "LC_")
}

func zygoteKey(python, module, dir string, env []string) string {
	var start []string
	for _, kv := range envMap(env) {
		if zygoteEnv(kv) {
			start = append(start, kv)
		}
	}
	sort.Strings(start)
	return strings.Join(append([]string{python, module, dir}, start...), "\x00")
}

// envMap dedups env as exec does (the last value of a key wins).
func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		m[k] = kv
	}
	return m
}

// get returns the started zygote for the key, starting it if needed.
func (zs *Zygotes) get(python, module, dir string, env []string) (*zygote, error) {
	key := zygoteKey(python, module, dir, env)
	zs.mu.Lock()
	if zs.closed {
		zs.mu.Unlock()
		return nil, fmt.Errorf("%w: closed", errNoZygote)
	}
	z, ok := zs.m[key]
	if !ok {
		z = &zygote{ready: make(chan struct{})}
		zs.m[key] = z
		if zs.dir == "" {
			// Socket paths must be short (108 bytes): not under the run's
			// directory.
			if d, err := os.MkdirTemp("", "kubeline-zygote-"); err == nil {
				zs.dir = d
			}
		}
		z.sock = filepath.Join(zs.dir, fmt.Sprintf("%d.sock", len(zs.m)))
	}
	zs.mu.Unlock()
	if !ok {
		z.err = z.start(python, module, dir, env)
		close(z.ready)
	}
	<-z.ready
	return z, z.err
}

func (z *zygote) start(python, module, dir string, env []string) error {
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: z.sock, Net: "unix"})
	if err != nil {
		return fmt.Errorf("%w: %v", errNoZygote, err)
	}
	l.SetUnlinkOnClose(false) // the zygote keeps listening
	defer l.Close()
	lf, err := l.File()
	if err != nil {
		return fmt.Errorf("%w: %v", errNoZygote, err)
	}
	defer lf.Close()
	cmd := exec.Command(python, "-c", zygoteSource, module)
	cmd.Dir, cmd.Env, cmd.ExtraFiles = dir, env, []*os.File{lf}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("%w: %v", errNoZygote, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("%w: %v", errNoZygote, err)
	}
	errs := &tailBuffer{max: 4 << 10}
	cmd.Stderr = errs
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w: %v", errNoZygote, err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "ready\n" {
		stdin.Close()
		_ = cmd.Wait()
		return fmt.Errorf("%w: %s could not import %s: %s", errNoZygote, python, module, lastLine(errs.String()))
	}
	z.cmd, z.stdin = cmd, stdin
	return nil
}

// zygoteRequest is one step, as pyexec/zygote.py reads it.
type zygoteRequest struct {
	Argv []string          `json:"argv"`
	Env  map[string]string `json:"env"`
	Cwd  string            `json:"cwd"`
}

// run runs `python -m module args...` as a fork of a zygote, in dir with
// env and the given output streams, and returns its exit code (-1 when a
// signal ended it). Cancelling ctx sends SIGTERM to the step's process
// group, then SIGKILL after grace. An error wrapping errNoZygote means the
// step did not start: run it with its own interpreter.
func (zs *Zygotes) run(ctx context.Context, python, module string, args []string, dir string, env []string,
	stdout, stderr io.Writer, grace time.Duration, track Tracker) (int, error) {
	if grace == 0 {
		grace = 10 * time.Second
	}
	z, err := zs.get(python, module, dir, env)
	if err != nil {
		return 0, err
	}
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: z.sock, Net: "unix"})
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errNoZygote, err)
	}
	defer conn.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return 0, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		devnull.Close()
		return 0, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		devnull.Close()
		outR.Close()
		outW.Close()
		return 0, err
	}
	req := zygoteRequest{Argv: append([]string{module}, args...), Env: map[string]string{}, Cwd: dir}
	for k, kv := range envMap(env) {
		req.Env[k] = strings.TrimPrefix(kv, k+"=")
	}
	msg, _ := json.Marshal(req)
	msg = append(msg, '\n')
	n, _, err := conn.WriteMsgUnix(msg, syscall.UnixRights(int(devnull.Fd()), int(outW.Fd()), int(errW.Fd())), nil)
	if err == nil && n < len(msg) {
		_, err = conn.Write(msg[n:])
	}
	devnull.Close()
	outW.Close()
	errW.Close()
	var copies sync.WaitGroup
	for _, c := range []struct {
		w io.Writer
		r *os.File
	}{{stdout, outR}, {stderr, errR}} {
		copies.Add(1)
		go func() {
			defer copies.Done()
			_, _ = io.Copy(c.w, c.r)
		}()
	}
	defer func() {
		// The streams end when the step and whatever it started close
		// them; a leftover holding one is given grace, like exec.Cmd's
		// WaitDelay.
		done := make(chan struct{})
		go func() { copies.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(grace):
			outR.Close()
			errR.Close()
			<-done
		}
		outR.Close()
		errR.Close()
	}()
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errNoZygote, err)
	}
	dec := json.NewDecoder(conn)
	var started struct{ Pid int }
	if err := dec.Decode(&started); err != nil || started.Pid <= 0 {
		return 0, fmt.Errorf("%w: the step did not start (%v)", errNoZygote, err)
	}
	if track != nil {
		defer track(started.Pid)()
	}
	// What the step left running in its group goes with it (RunProcess).
	defer syscall.Kill(-started.Pid, syscall.SIGKILL)
	var mu sync.Mutex
	var kill *time.Timer
	stop := context.AfterFunc(ctx, func() {
		_ = syscall.Kill(-started.Pid, syscall.SIGTERM)
		mu.Lock()
		kill = time.AfterFunc(grace, func() { _ = syscall.Kill(-started.Pid, syscall.SIGKILL) })
		mu.Unlock()
	})
	defer func() {
		stop()
		mu.Lock()
		if kill != nil {
			kill.Stop()
		}
		mu.Unlock()
	}()
	var ended struct{ Exit *int }
	if err := dec.Decode(&ended); err != nil || ended.Exit == nil {
		return -1, nil // ended by a signal
	}
	return *ended.Exit, nil
}

// Close stops the zygotes; steps still running in them are killed.
func (zs *Zygotes) Close() {
	zs.mu.Lock()
	zs.closed = true
	all := zs.m
	zs.m = map[string]*zygote{}
	dir := zs.dir
	zs.mu.Unlock()
	for _, z := range all {
		<-z.ready
		if z.cmd == nil {
			continue
		}
		z.stdin.Close() // it exits; its running steps die with it
		_ = syscall.Kill(-z.cmd.Process.Pid, syscall.SIGKILL)
		_ = z.cmd.Wait()
	}
	if dir != "" {
		os.RemoveAll(dir)
	}
}
