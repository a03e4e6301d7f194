package serving

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/kubeline/kubeline/runtime/sandbox"
)

// Sandbox isolates deployment processes on a multi-user server
// (runtime/sandbox.Bwrap): the processes of one deployment share an
// unprivileged uid, see the host's system read-only, write only their
// working directory and read their model.
type Sandbox interface {
	Step(run string, private, shared []string) (sandbox.Box, error)
	Done(run string)
}

// sandboxEnv is the base environment of sandboxed processes: nothing of
// the server's.
var sandboxEnv = []string{"PATH=" + sandbox.Path, "HOME=/tmp", "TMPDIR=/tmp", "LANG=C.UTF-8"}

// baseEnv is what a deployment's processes start from: the server's
// environment, or nothing of it in a sandbox.
func (m *Manager) baseEnv() []string {
	if m.Sandbox != nil {
		return append([]string{}, sandboxEnv...)
	}
	return os.Environ()
}

// isolate wraps cmd, a process of deployment name, in its sandbox (when
// the manager has one): it writes workDir and reads modelDir. The caller
// seals the returned step (nil without a sandbox; returned with Wrap's
// error too) once cmd has ended or failed to start: that
// kills what the process left running, and until then the step holds the
// read end of bwrap's --info-fd pipe (dropped, the garbage collector
// closed it and bwrap died of SIGPIPE writing its pid: TestHostileUser's
// spy predictor under load).
func (m *Manager) isolate(cmd *exec.Cmd, name, workDir, modelDir string) (sandbox.Box, error) {
	if m.Sandbox == nil {
		return nil, nil
	}
	box, err := m.Sandbox.Step("deployment/"+name, nil, []string{workDir})
	if err != nil {
		return nil, err
	}
	if err := readable(modelDir); err != nil {
		return nil, err
	}
	return box, box.Wrap(cmd, append([]string{modelDir}, scriptsOf(cmd.Args)...)...)
}

// readable opens a model tree (fetched by the server, 0600) to the
// deployment's uid: readable by all, inside the server's 0700 home where
// only the sandbox's bind reaches it.
func readable(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		mode := os.FileMode(0o644)
		if d.IsDir() {
			mode = 0o755
		} else if fi, err := d.Info(); err == nil && fi.Mode()&0o100 != 0 {
			mode = 0o755
		}
		return os.Chmod(p, mode)
	})
}

// scriptsOf are the absolute paths of existing files a command line names
// (a predictor's script): the sandbox shows them read-only.
func scriptsOf(args []string) []string {
	var out []string
	for _, a := range args {
		if filepath.IsAbs(a) {
			if fi, err := os.Stat(a); err == nil && fi.Mode().IsRegular() {
				out = append(out, a)
			}
		}
	}
	return out
}
