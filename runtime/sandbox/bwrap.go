package sandbox

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unsafe"
)

// Defaults.
const (
	// FirstUID is the first uid (and gid) handed to runs: far above the
	// host's users, the system's dynamic users and the usual /etc/subuid
	// ranges, below 2^31 so every tool reads it.
	FirstUID = 1_900_000_000
	// UIDs is how many runs may hold a uid at once.
	UIDs = 65536
	// Path is the sandboxed commands' PATH.
	Path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// DefaultReadOnly is the host's system the sandboxed commands see,
// read-only (symlinks such as Debian's /bin -> usr/bin are kept as links).
var DefaultReadOnly = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt"}

// Options configure the sandbox.
type Options struct {
	// Bwrap and Setpriv are the programs; found on PATH when empty.
	Bwrap, Setpriv string
	// FirstUID and UIDs bound the uids (and gids) given to runs;
	// FirstUID and UIDs (the constants) when zero.
	FirstUID, UIDs uint32
	// ReadOnly are the host paths sandboxed commands see read-only;
	// DefaultReadOnly when nil. Missing ones are skipped.
	ReadOnly []string
}

// Bwrap hands runs their uids and wraps their commands in bubblewrap.
type Bwrap struct {
	bwrap, setpriv string
	first, count   uint32
	system         []string // bwrap arguments of the read-only host system
	extra          []string // its paths under directories the sandbox makes

	mu   sync.Mutex
	runs map[string]uint32
	used map[uint32]bool
	next uint32
}

// ErrUnavailable says the sandbox cannot run here, and what to do.
var ErrUnavailable = errors.New("the step sandbox is not available")

// New finds bubblewrap and setpriv and checks that a sandbox starts: a
// command run in it as an unprivileged uid. The error says what is
// missing and what to do instead.
func New(o Options) (*Bwrap, error) {
	b := &Bwrap{bwrap: o.Bwrap, setpriv: o.Setpriv, first: o.FirstUID, count: o.UIDs, runs: map[string]uint32{}, used: map[uint32]bool{}}
	if b.first == 0 {
		b.first = FirstUID
	}
	if b.count == 0 {
		b.count = UIDs
	}
	for _, p := range []*string{&b.bwrap, &b.setpriv} {
		name := map[*string]string{&b.bwrap: "bwrap", &b.setpriv: "setpriv"}[p]
		if *p == "" {
			*p = name
		}
		path, err := exec.LookPath(*p)
		if err != nil {
			pkg := map[string]string{"bwrap": "bubblewrap", "setpriv": "util-linux"}[name]
			return nil, fmt.Errorf("%w: %s not found (install the %s package, e.g. apt-get install %s), or run steps on Kubernetes with --engine argo", ErrUnavailable, name, pkg, pkg)
		}
		*p = path
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w: steps run as uids of their own, which needs a server running as root (uid %d here), or run steps on Kubernetes with --engine argo", ErrUnavailable, os.Geteuid())
	}
	ro := o.ReadOnly
	if ro == nil {
		ro = DefaultReadOnly
	}
	b.system = systemArgs(ro)
	for _, p := range ro {
		if filepath.Dir(filepath.Clean(p)) != "/" {
			b.extra = append(b.extra, p)
		}
	}
	if err := b.probe(); err != nil {
		return nil, err
	}
	return b, nil
}

// systemArgs binds the host's system read-only: a symlink stays a symlink
// (its target is bound by its own entry), a missing path is skipped.
func systemArgs(paths []string) []string {
	var args []string
	for _, p := range paths {
		fi, err := os.Lstat(p)
		switch {
		case err != nil:
		case fi.Mode()&fs.ModeSymlink != 0:
			if target, err := os.Readlink(p); err == nil {
				args = append(args, "--symlink", target, p)
			}
		default:
			args = append(args, "--ro-bind", p, p)
		}
	}
	return args
}

// probe runs true in a sandbox as the last uid of the range.
func (b *Bwrap) probe() error {
	dir, err := os.MkdirTemp("", "kubeline-sandbox-probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	s := &Step{b: b, uid: b.first + b.count - 1, private: []string{dir}}
	cmd := exec.Command("sh", "-c", `test "$(id -u)" = "$0" && ! test -r /proc/1/environ`, strconv.Itoa(int(s.uid)))
	cmd.Env = []string{"PATH=" + Path}
	if err := s.Wrap(cmd); err != nil {
		return err
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: a test sandbox failed (%v): %s", ErrUnavailable, err, strings.TrimSpace(string(out)))
	}
	return s.Seal()
}

// Box isolates the commands of one step: Wrap before each, Seal after.
type Box interface {
	Wrap(cmd *exec.Cmd, readOnly ...string) error
	Seal() error
}

// Step returns the sandbox of one step of run: its commands run as the
// run's uid (the first step of a run takes one), write only in private
// (this step's directories, checked by Seal) and shared (the run's
// directories every step writes, such as its working directory).
func (b *Bwrap) Step(run string, private, shared []string) (Box, error) {
	uid, err := b.uidOf(run)
	if err != nil {
		return nil, err
	}
	return &Step{b: b, uid: uid, private: private, shared: shared}, nil
}

// Done gives back the uid of run (its steps have ended).
func (b *Bwrap) Done(run string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if uid, ok := b.runs[run]; ok {
		delete(b.runs, run)
		delete(b.used, uid)
	}
}

func (b *Bwrap) uidOf(run string) (uint32, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if uid, ok := b.runs[run]; ok {
		return uid, nil
	}
	for i := uint32(0); i < b.count; i++ {
		uid := b.first + (b.next+i)%b.count
		if !b.used[uid] {
			b.next = (b.next + i + 1) % b.count
			b.used[uid], b.runs[run] = true, uid
			return uid, nil
		}
	}
	return 0, fmt.Errorf("%w: all %d sandbox uids are in use by running runs", ErrUnavailable, b.count)
}

// Step is the sandbox of one step.
type Step struct {
	b               *Bwrap
	uid             uint32
	private, shared []string

	mu     sync.Mutex
	ending []*ending // of the commands wrapped since the last Seal
}

// UID is the uid (and gid) the step's commands run as.
func (s *Step) UID() uint32 { return s.uid }

// Wrap rewrites cmd — built to run on the host, with its Dir and Env — to
// run in the step's sandbox; readOnly are more host paths (files or
// directories) the command reads, such as a script. The step's directories
// become the step's uid's; its environment is exactly cmd.Env (PATH is
// Path unless cmd.Env sets it).
func (s *Step) Wrap(cmd *exec.Cmd, readOnly ...string) error {
	for _, d := range s.private {
		if err := chownTree(d, int(s.uid)); err != nil {
			return fmt.Errorf("sandbox: hand %s to the step: %w", d, err)
		}
	}
	for _, d := range s.shared {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
		if err := os.Lchown(d, int(s.uid), int(s.uid)); err != nil {
			return fmt.Errorf("sandbox: hand %s to the step: %w", d, err)
		}
	}
	// bwrap keeps root's setuid, setgid and capability-dropping powers for
	// setpriv, and DAC override to chdir into the step's directory (its
	// uid's, 0700); setpriv's change to the step's uid clears them all.
	// bwrap's init (pid 1 of the namespace) stays root so that its
	// parent-death signal holds: the step's own one does not survive
	// setpriv (its exec drops the kept capabilities, which clears it).
	args := []string{s.b.bwrap, "--unshare-pid", "--unshare-ipc", "--die-with-parent",
		"--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP", "--cap-add", "CAP_DAC_OVERRIDE"}
	// The sandbox's /dev/tty is /dev/null opened read-only on a nodev
	// mount: it never reaches the server's controlling terminal.
	args = append(args, "--proc", "/proc", "--dev", "/dev", "--ro-bind", "/dev/null", "/dev/tty",
		"--perms", "1777", "--tmpfs", "/dev/shm", "--perms", "1777", "--tmpfs", "/tmp")
	binds := append(append([]string{}, s.private...), s.shared...)
	args = append(args, parents(append(append(append([]string{}, s.b.extra...), binds...), readOnly...))...)
	args = append(args, s.b.system...)
	for _, d := range binds {
		args = append(args, "--bind", d, d)
	}
	for _, p := range readOnly {
		args = append(args, "--ro-bind", p, p)
	}
	args = append(args, "--remount-ro", "/")
	if cmd.Dir != "" {
		args = append(args, "--chdir", cmd.Dir)
	}
	if len(cmd.Args) == 0 {
		return errors.New("sandbox: no command")
	}
	info, end, err := infoFD(cmd)
	if err != nil {
		return err
	}
	args = append(args, info...)
	s.mu.Lock()
	s.ending = append(s.ending, end)
	s.mu.Unlock()
	id := strconv.FormatUint(uint64(s.uid), 10)
	args = append(args, "--", s.b.setpriv, "--reuid", id, "--regid", id, "--clear-groups",
		"--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--")
	cmd.Args = append(args, cmd.Args...)
	cmd.Path, cmd.Err = s.b.bwrap, nil // the command is found on the sandbox's PATH
	if !hasVar(cmd.Env, "PATH") {
		cmd.Env = append(cmd.Env, "PATH="+Path)
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	// A process group of its own, so stopping it reaches all. Not a session
	// of its own: setsid puts every command in a new scheduler autogroup,
	// which on a busy machine tripled a step's start. The server's
	// controlling terminal stays out of reach instead: no terminal is handed
	// to the command (below) and its /dev/tty is /dev/null, so it holds no
	// descriptor of the terminal to inject input into (TIOCSTI).
	cmd.SysProcAttr.Setsid, cmd.SysProcAttr.Setpgid, cmd.SysProcAttr.Credential = false, true, nil
	noTerminal(cmd)
	return nil
}

// noTerminal keeps terminals out of a command's standard streams: a
// terminal stdin becomes /dev/null, a terminal stdout or stderr is copied
// through a pipe.
func noTerminal(cmd *exec.Cmd) {
	if f, ok := cmd.Stdin.(*os.File); ok && isTerminal(f) {
		cmd.Stdin = nil
	}
	if f, ok := cmd.Stdout.(*os.File); ok && isTerminal(f) {
		cmd.Stdout = struct{ io.Writer }{f}
	}
	if f, ok := cmd.Stderr.(*os.File); ok && isTerminal(f) {
		cmd.Stderr = struct{ io.Writer }{f}
	}
	for i, f := range cmd.ExtraFiles {
		if f != nil && isTerminal(f) {
			cmd.ExtraFiles[i] = nil
		}
	}
}

func isTerminal(f *os.File) bool {
	var t syscall.Termios
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TCGETS, uintptr(unsafe.Pointer(&t)))
	return errno == 0
}

// parents makes the directories leading to the bind targets, searchable by
// anyone (the host's may be root's 0700 home).
func parents(paths []string) []string {
	seen := map[string]bool{"/": true}
	var dirs []string
	for _, p := range paths {
		for d := filepath.Dir(filepath.Clean(p)); !seen[d]; d = filepath.Dir(d) {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	sort.Strings(dirs) // parents first
	var args []string
	for _, d := range dirs {
		if underSystem(d) {
			continue
		}
		args = append(args, "--perms", "0755", "--dir", d)
	}
	return args
}

// underSystem reports paths the sandbox already has: the tmpfs /tmp and
// /dev/shm and their parents.
func underSystem(d string) bool {
	return d == "/tmp" || d == "/dev" || d == "/dev/shm"
}

func hasVar(env []string, key string) bool {
	for _, e := range env {
		if strings.HasPrefix(e, key+"=") {
			return true
		}
	}
	return false
}

// chownTree gives a tree to uid (symlinks themselves, never their targets).
func chownTree(root string, uid int) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, uid)
	})
}

// Seal is called when a wrapped command has ended, before the engine reads
// what it wrote. It first makes sure that no process of the step runs any
// more: one the command left in the background (detached with setsid, a
// double fork, nohup) could otherwise plant a link or swap a file after
// the check below, or while the engine reads. Every wrapped command's pid
// namespace is killed and waited for through a pidfd of its init. Then it
// refuses symlinks and special files in the step's private directories,
// removing them, so the engine never follows one outside.
func (s *Step) Seal() error {
	s.mu.Lock()
	ending := s.ending
	s.ending = nil
	s.mu.Unlock()
	var errs []error
	for _, e := range ending {
		errs = append(errs, e.wait())
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var bad []string
	for _, root := range s.private {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if t := d.Type(); t&(fs.ModeSymlink|fs.ModeNamedPipe|fs.ModeSocket|fs.ModeDevice|fs.ModeCharDevice|fs.ModeIrregular) != 0 {
				bad = append(bad, p)
				if err := os.Remove(p); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("sandbox: check %s: %w", root, err)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("the step left %s in its outputs: a sandboxed step's outputs hold regular files and directories only (removed)", strings.Join(bad, ", "))
	}
	return nil
}
