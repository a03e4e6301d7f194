package sandbox

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// newBwrap needs bubblewrap and root, as CI has (.ci/run installs
// bubblewrap); without them the test fails and says so.
func newBwrap(t *testing.T) *Bwrap {
	t.Helper()
	b, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// run runs a shell script in a step sandbox and returns its output.
func run(t *testing.T, s *Step, dir, script string, env ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir, cmd.Env = dir, env
	if err := s.Wrap(cmd); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// TestStepIsolation: a sandboxed command runs as the run's uid with no
// capabilities, writes its own directory only, and sees neither the
// server's files (a sibling directory, the server's $HOME), nor
// /etc/shadow, nor the server's environment or processes.
func TestStepIsolation(t *testing.T) {
	b := newBwrap(t)
	t.Setenv("KUBELINE_TEST_SECRET", "s3cr3t")
	root := t.TempDir()
	os.Chmod(root, 0o700)
	step, server := filepath.Join(root, "runs", "r1", "step"), filepath.Join(root, "server")
	for _, d := range []string{step, server} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(server, "kubeline.db"), []byte("db"), 0o644); err != nil {
		t.Fatal(err)
	}
	box, err := b.Step("r1", []string{step}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := box.(*Step)
	defer b.Done("r1")
	out, err := run(t, s, step, `
id -u; id -g; id -G
grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs)' /proc/self/status
echo written > own && cat own
cat /etc/shadow >/dev/null 2>&1 && echo READ-SHADOW
cat "$0/kubeline.db" >/dev/null 2>&1 && echo READ-DB
ls "$0" >/dev/null 2>&1 && echo SEES-SERVER
touch "$0/pwned" 2>/dev/null && echo WROTE-SERVER
touch /usr/pwned 2>/dev/null && echo WROTE-USR
cat /proc/1/environ >/dev/null 2>&1 && echo READ-INIT-ENV
env | grep -q s3cr3t && echo SERVER-ENV
ps -e -o pid= | wc -l
`, "PATH="+Path, "ONLY=this")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	uid := s.UID()
	want := []string{itoa(uid), itoa(uid), itoa(uid), "CapPrm:\t0000000000000000", "CapEff:\t0000000000000000",
		"CapBnd:\t0000000000000000", "NoNewPrivs:\t1", "written"}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	for _, bad := range []string{"READ-SHADOW", "READ-DB", "SEES-SERVER", "WROTE-SERVER", "WROTE-USR", "READ-INIT-ENV", "SERVER-ENV"} {
		if strings.Contains(out, bad) {
			t.Errorf("%s:\n%s", bad, out)
		}
	}
	if n := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:]); n != "3" && n != "4" {
		t.Errorf("the sandbox sees %s processes (want its own: init, sh, ps, wc):\n%s", n, out)
	}
	if _, err := os.Stat(filepath.Join(server, "pwned")); err == nil {
		t.Error("the step wrote into the server's directory")
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(step, "own"), &st); err != nil || st.Uid != uid {
		t.Errorf("the step's file: uid %d %v, want %d", st.Uid, err, uid)
	}
}

func itoa(u uint32) string { return strconv.FormatUint(uint64(u), 10) }

// TestRunsGetTheirOwnUIDs: steps of one run share a uid, two runs running
// at once have two, and a finished run's uid is given out again later.
func TestRunsGetTheirOwnUIDs(t *testing.T) {
	b := &Bwrap{first: 100, count: 2, runs: map[string]uint32{}, used: map[uint32]bool{}}
	step := func(run string) *Step {
		s, err := b.Step(run, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s.(*Step)
	}
	a1, a2, c := step("a"), step("a"), step("c")
	if a1.UID() != a2.UID() || a1.UID() == c.UID() {
		t.Fatalf("uids a %d %d, c %d", a1.UID(), a2.UID(), c.UID())
	}
	if _, err := b.Step("d", nil, nil); err == nil {
		t.Fatal("a third run got a uid from a range of two")
	}
	b.Done("a")
	if d := step("d"); d.UID() != a1.UID() {
		t.Fatalf("after a ended: %d, want %d", d.UID(), a1.UID())
	}
}

// TestSealRefusesLinks: a symlink (to a file the server could read) and a
// FIFO left in a step's directory fail the step and are removed; regular
// files and directories stay.
func TestSealRefusesLinks(t *testing.T) {
	b := newBwrap(t)
	step := filepath.Join(t.TempDir(), "step")
	os.MkdirAll(step, 0o700)
	box, _ := b.Step("r", []string{step}, nil)
	defer b.Done("r")
	s := box.(*Step)
	out, err := run(t, s, step, `mkdir -p out/model && echo w > out/model/data && ln -s /etc/shadow out/model/link && mkfifo out/pipe`, "PATH="+Path)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	err = s.Seal()
	if err == nil || !strings.Contains(err.Error(), "out/model/link") || !strings.Contains(err.Error(), "out/pipe") {
		t.Fatalf("seal: %v", err)
	}
	for _, p := range []string{"out/model/link", "out/pipe"} {
		if _, err := os.Lstat(filepath.Join(step, p)); err == nil {
			t.Errorf("%s is still there", p)
		}
	}
	if b, err := os.ReadFile(filepath.Join(step, "out/model/data")); err != nil || string(b) != "w\n" {
		t.Errorf("the regular file: %q %v", b, err)
	}
	if err := s.Seal(); err != nil {
		t.Errorf("a clean directory: %v", err)
	}
}

// BenchmarkCommand starts `true` directly and in a step's sandbox (Wrap,
// run, Seal): the difference is what the sandbox adds to each command.
func BenchmarkCommand(b *testing.B) {
	b.Run("host", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := exec.Command("true").Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sandboxed", func(b *testing.B) {
		sb, err := New(Options{})
		if err != nil {
			b.Fatal(err)
		}
		dir := b.TempDir()
		box, _ := sb.Step("bench", []string{dir}, nil)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			cmd := exec.Command("true")
			cmd.Dir, cmd.Env = dir, []string{"PATH=" + Path}
			if err := box.Wrap(cmd); err != nil {
				b.Fatal(err)
			}
			if err := cmd.Run(); err != nil {
				b.Fatal(err)
			}
			if err := box.Seal(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestNoTerminal: a terminal handed to a sandboxed command as its stdin or
// stderr does not reach it (stdin becomes /dev/null, stderr a pipe), and its
// /dev/tty is /dev/null, not the terminal device: it holds no descriptor of
// the server's terminal to inject input into.
func TestNoTerminal(t *testing.T) {
	b := newBwrap(t)
	dir := t.TempDir()
	box, _ := b.Step("r", []string{dir}, nil)
	defer b.Done("r")
	tty := openPTY(t)
	cmd := exec.Command("sh", "-c", `test -t 0 && echo STDIN-TTY; test -t 2 && echo STDERR-TTY; stat -c %t:%T /dev/tty; echo x >&2`)
	cmd.Dir, cmd.Env = dir, []string{"PATH=" + Path}
	var out bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, &out, tty
	if err := box.Wrap(cmd); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if got := strings.TrimSpace(out.String()); got != "1:3" {
		t.Errorf("got %q, want only /dev/tty's device numbers 1:3 (/dev/null's)", got)
	}
}

// openPTY opens a new pseudo-terminal and returns its terminal side.
func openPTY(t *testing.T) *os.File {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ptmx.Close() })
	var unlock, n int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, ptmx.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatal(e)
	}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, ptmx.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatal(e)
	}
	tty, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	if !isTerminal(tty) {
		t.Fatal("the pseudo-terminal is not a terminal")
	}
	return tty
}

// TestDiesWithParent: when the process that started a sandbox is killed
// (as a server killed with -9), the sandboxed command is killed too.
func TestDiesWithParent(t *testing.T) {
	b := newBwrap(t)
	dir := t.TempDir()
	box, _ := b.Step("r", []string{dir}, nil)
	defer b.Done("r")
	marker := "3600." + strconv.Itoa(os.Getpid()) // sleep's argument, to find it by
	cmd := exec.Command("sleep", marker)
	cmd.Dir, cmd.Env = dir, []string{"PATH=" + Path}
	if err := box.Wrap(cmd); err != nil {
		t.Fatal(err)
	}
	parent := exec.Command("sh", append([]string{"-c", `"$@" & wait`, "sh"}, cmd.Args...)...)
	parent.Env, parent.ExtraFiles = cmd.Env, cmd.ExtraFiles // bwrap's --info-fd
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	find := func() int {
		ps, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, p := range ps {
			if b, err := os.ReadFile(p); err == nil && string(b) == "sleep\x00"+marker+"\x00" {
				pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
				return pid
			}
		}
		return 0
	}
	deadline := time.Now().Add(10 * time.Second)
	pid := find()
	for ; pid == 0 && time.Now().Before(deadline); pid = find() {
		time.Sleep(20 * time.Millisecond)
	}
	if pid == 0 {
		t.Fatal("the sandboxed sleep did not start")
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) }) // if it outlived the parent
	parent.Process.Kill()
	parent.Wait()
	for deadline = time.Now().Add(5 * time.Second); find() != 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if find() != 0 {
		t.Fatalf("the sandboxed command (pid %d) outlived the process that started its sandbox by 5 s", pid)
	}
}
