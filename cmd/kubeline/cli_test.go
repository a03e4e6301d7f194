package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// kubelineBinary builds the kubeline binary once per test run: the CLI
// tests run it as a user does.
func kubelineBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "kubeline-bin-"); binErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, "kubeline"), ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, binErr)
	return filepath.Join(binDir, "kubeline")
}

// result is what a run of the binary did.
type result struct {
	code           int
	stdout, stderr string
}

// kubelineIn runs the binary in dir with env added to the test's
// environment (KUBELINE_HOME should be among them).
func kubelineIn(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	return kubelineEnv(t, dir, append(os.Environ(), env...), args...)
}

// kubelineEnv runs the binary in dir with exactly the environment env.
func kubelineEnv(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(kubelineBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("kubeline %q: %v", args, err)
	}
	return result{cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()}
}

// commandPaths lists every command of the tree, as argument lists.
func commandPaths() [][]string {
	var out [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		out = append(out, path)
		for _, s := range c.Commands() {
			if s.Hidden || s.Name() == "help" {
				continue
			}
			walk(s, append(append([]string{}, path...), s.Name()))
		}
	}
	root := newRoot(streams{out: &bytes.Buffer{}, errOut: &bytes.Buffer{}})
	root.InitDefaultCompletionCmd()
	walk(root, nil)
	return out
}

// TestHelpGolden runs `kubeline ... --help` and `-h` for every command as a
// user does: exit 0, the usage (with the positional arguments) on stdout
// equal to testdata/help/, nothing on stderr, and nothing else done — no
// file in the working directory or in KUBELINE_HOME.
// (`install -h` used to copy the binary into ./-h/, `version -h` printed
// the version, `launch -h` ended with "flag: help requested".)
func TestHelpGolden(t *testing.T) {
	paths := commandPaths()
	if len(paths) < 40 {
		t.Fatalf("only %d commands found", len(paths))
	}
	for _, path := range paths {
		name := strings.Join(append([]string{"kubeline"}, path...), "_")
		t.Run(name, func(t *testing.T) {
			cwd, home := t.TempDir(), t.TempDir()
			// A clean environment: some defaults shown come from it.
			env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "KUBELINE_HOME=" + home}
			long := kubelineEnv(t, cwd, env, append(path, "--help")...)
			short := kubelineEnv(t, cwd, env, append(path, "-h")...)
			for _, r := range []result{long, short} {
				assert.Equal(t, 0, r.code, "exit code; stderr %s", r.stderr)
				assert.Empty(t, r.stderr)
				assert.NotContains(t, r.stdout, "flag: help requested")
			}
			assert.Equal(t, long.stdout, short.stdout, "-h and --help differ")
			for _, dir := range []string{cwd, home} {
				entries, err := os.ReadDir(dir)
				require.NoError(t, err)
				assert.Empty(t, entries, "help wrote into %s", dir)
			}
			golden := filepath.Join("testdata", "help", name+".txt")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
				require.NoError(t, os.WriteFile(golden, []byte(long.stdout), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test ./cmd/kubeline -run TestHelpGolden -update")
			if d := cmp.Diff(string(want), long.stdout); d != "" {
				t.Errorf("help differs from %s (-want +got):\n%s", golden, d)
			}
		})
	}
}

// TestHelpNamesArguments: the usage names the positional arguments of the
// commands that take them, and a group's help lists its subcommands' flags.
func TestHelpNamesArguments(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"deploy", "-h"}, []string{"kubeline deploy DEPLOYMENT.yaml [flags]"}},
		{[]string{"lineage", "-h"}, []string{"kubeline lineage model|dataset|code|featureset NAME@vN [flags]"}},
		{[]string{"compile", "-h"}, []string{"kubeline compile FILE [flags]", "--param NAME=VALUE"}},
		{[]string{"install", "-h"}, []string{"kubeline install DIR"}},
		{[]string{"hpo", "-h"}, []string{"kubeline hpo run EXPERIMENT.yaml [flags]", "--plot FILE", "--grace duration"}},
		{[]string{"launch", "-h"}, []string{"kubeline launch --task T", "-component", "-in NAME=VALUE"}},
		{[]string{"version", "-h"}, []string{"kubeline version [flags]"}},
		{[]string{"-h"}, []string{"Exit codes: 0 done; 1 the command failed", "completion"}},
	}
	for _, tc := range cases {
		r := kubelineIn(t, t.TempDir(), []string{"KUBELINE_HOME=" + t.TempDir()}, tc.args...)
		assert.Equal(t, 0, r.code, "%q", tc.args)
		for _, w := range tc.want {
			assert.Contains(t, r.stdout, w, "%q", tc.args)
		}
	}
	// version -h is help, not the version.
	r := kubelineIn(t, t.TempDir(), nil, "version", "-h")
	assert.NotEqual(t, "kubeline dev\n", r.stdout)
}

// TestUsageErrors: a wrong command line exits 2, says what is wrong, and
// suggests the command meant.
func TestUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"compil", "x.yaml"}, []string{`unknown command "compil"`, "Did you mean this?\n\tcompile"}},
		{[]string{"users", "lis"}, []string{`unknown command "lis" for "kubeline users"`, "Did you mean this?\n\tlist"}},
		{[]string{"compile"}, []string{"want FILE, got 0 argument(s)", "usage: kubeline compile FILE [flags]"}},
		{[]string{"install"}, []string{"want DIR"}},
		{[]string{"compile", "a.yaml", "--colour"}, []string{"unknown flag: --colour"}},
		{[]string{"pools", "list", "-o", "xml"}, []string{`want table, json or yaml, got "xml"`}},
		{[]string{"lineage", "mdl", "m@v1"}, []string{`unknown kind "mdl": want model, dataset, code or featureset`}},
		{[]string{"version", "extra"}, []string{"takes no arguments"}},
	}
	for _, tc := range cases {
		cwd := t.TempDir()
		r := kubelineIn(t, cwd, []string{"KUBELINE_HOME=" + t.TempDir()}, tc.args...)
		assert.Equal(t, exitUsage, r.code, "%q: stderr %s", tc.args, r.stderr)
		assert.Empty(t, r.stdout, "%q", tc.args)
		for _, w := range tc.want {
			assert.Contains(t, r.stderr, w, "%q", tc.args)
		}
		entries, _ := os.ReadDir(cwd)
		assert.Empty(t, entries, "%q wrote into the working directory", tc.args)
	}
}

// TestConnectionRefusedSaysWhatToDo: a client command with no server
// answering says which address it tried and how to start or name one.
func TestConnectionRefusedSaysWhatToDo(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	home := t.TempDir()
	for _, args := range [][]string{
		{"pools", "list", "--server", "http://" + addr},
		{"catalog"},
		{"predict", "m", "-d", "{}"},
	} {
		r := kubelineIn(t, t.TempDir(), []string{"KUBELINE_HOME=" + home, "KUBELINE_SERVER=http://" + addr}, args...)
		assert.Equal(t, exitFailure, r.code, "%q", args)
		assert.Contains(t, r.stderr, "connection refused", "%q", args)
		assert.Contains(t, r.stderr, "no kubeline server answers at http://"+addr, "%q", args)
		assert.Contains(t, r.stderr, "start one with `kubeline server`, or name yours with --server URL", "%q", args)
	}
}

// TestVersion: `kubeline version` and `--version` print the version.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := kubelineIn(t, t.TempDir(), nil, args...)
		assert.Equal(t, 0, r.code)
		assert.Equal(t, "kubeline dev\n", r.stdout, "%q", args)
	}
}

// complete runs the bash completion script `kubeline completion bash`
// generates, as bash does on TAB after line, and returns the candidates.
func complete(t *testing.T, env []string, line string) []string {
	t.Helper()
	bin := kubelineBinary(t)
	script := filepath.Join(t.TempDir(), "kubeline.bash")
	r := kubelineIn(t, t.TempDir(), env, "completion", "bash")
	require.Equal(t, 0, r.code, r.stderr)
	require.NoError(t, os.WriteFile(script, []byte(r.stdout), 0o644))
	words := strings.Fields(line)
	if strings.HasSuffix(line, " ") {
		words = append(words, "")
	}
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = fmt.Sprintf("%q", w)
	}
	// The script needs the bash-completion package, as its header says
	// (.ci/run installs it).
	const bashCompletion = "/usr/share/bash-completion/bash_completion"
	_, err := os.Stat(bashCompletion)
	require.NoError(t, err, "install the bash-completion package")
	prog := fmt.Sprintf(`source %q
source %q
compopt() { :; }  # works only inside a real TAB press
COMP_WORDS=(%s); COMP_CWORD=%d; COMP_LINE=%q; COMP_POINT=${#COMP_LINE}
__start_kubeline
printf '%%s\n' "${COMPREPLY[@]}"`, bashCompletion, script, strings.Join(quoted, " "), len(words)-1, line)
	cmd := exec.Command("bash", "-c", prog)
	cmd.Env = append(append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH")), env...)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	out, err := cmd.Output()
	require.NoError(t, err, "%s", errOut.String())
	require.Empty(t, errOut.String())
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			got = append(got, l)
		}
	}
	return got
}

// TestCompletion runs the generated bash completion: commands complete
// (`kubeline ru` offers run; `kubeline compi` is compile), subcommands
// and flags too, and resource names come from a live server.
func TestCompletion(t *testing.T) {
	home := t.TempDir()
	t.Setenv("KUBELINE_HOME", home)
	t.Setenv("KUBELINE_TOKEN", "")
	env := []string{"KUBELINE_HOME=" + home, "KUBELINE_CONFIG="}
	assert.ElementsMatch(t, []string{"run", "runs"}, complete(t, env, "kubeline ru"))
	assert.ElementsMatch(t, []string{"compile"}, complete(t, env, "kubeline compi"))
	assert.ElementsMatch(t, []string{"run"}, complete(t, env, "kubeline hpo "))
	assert.ElementsMatch(t, []string{"dataset", "model", "code", "featureset"}, complete(t, env, "kubeline lineage "))
	assert.Contains(t, complete(t, env, "kubeline run x.yaml --par"), "--param")
	assert.ElementsMatch(t, []string{"training", "hpo", "deployment", "python-components"}, complete(t, env, "kubeline init p --template "))
	assert.ElementsMatch(t, []string{"compare", "gate", "metrics", "publish", "version"}, complete(t, env, "kubeline step "))

	// No server configured: names come from the local store, once it exists.
	assert.Empty(t, complete(t, env, "kubeline datasets versions "))
	_, err := os.Stat(filepath.Join(home, "kubeline.db"))
	assert.True(t, os.IsNotExist(err), "a TAB made the local store")
	rows := filepath.Join(t.TempDir(), "rows.txt")
	require.NoError(t, os.WriteFile(rows, []byte("a\n"), 0o644))
	for _, name := range []string{"local-a", "local-b"} {
		code, _, errs := kl("datasets", "create", name, "--from", rows)
		require.Equal(t, 0, code, errs)
	}
	assert.ElementsMatch(t, []string{"local-a", "local-b"}, complete(t, env, "kubeline datasets versions local"))
	assert.ElementsMatch(t, []string{"local-a@v1"}, complete(t, env, "kubeline lineage dataset local-a@"))

	t.Setenv("KUBELINE_HOME", t.TempDir()) // the server's store is not the local one
	u, _, _ := startServer(t, accessFlags{})
	env = append(env, "KUBELINE_SERVER="+u)
	for _, name := range []string{"mnist", "mnist-big", "cifar"} {
		code, _, errs := kl("projects", "create", name, "--metric", "accuracy", "--server", u)
		require.Equal(t, 0, code, errs)
	}
	assert.ElementsMatch(t, []string{"mnist", "mnist-big"}, complete(t, env, "kubeline projects get mn"))
	assert.ElementsMatch(t, []string{"cifar", "mnist", "mnist-big"}, complete(t, env, "kubeline leaderboard "))
	assert.ElementsMatch(t, []string{"default"}, complete(t, env, "kubeline pools get "))
	// Datasets and their versions from the live server, not the local
	// store; --server local on the line asks the local store.
	other := filepath.Join(t.TempDir(), "other.txt")
	require.NoError(t, os.WriteFile(other, []byte("b\n"), 0o644))
	for _, args := range [][]string{{"datasets", "create", "served", "--from", rows}, {"datasets", "create", "served", "--from", other},
		{"datasets", "create", "second", "--from", rows}} {
		code, _, errs := kl(append(args, "--server", u)...)
		require.Equal(t, 0, code, errs)
	}
	assert.ElementsMatch(t, []string{"second", "served"}, complete(t, env, "kubeline datasets versions s"))
	assert.ElementsMatch(t, []string{"served@", "second@"}, complete(t, env, "kubeline lineage dataset "))
	assert.ElementsMatch(t, []string{"served@v1", "served@v2"}, complete(t, env, "kubeline datasets usage served@"))
	assert.ElementsMatch(t, []string{"served@v2"}, complete(t, env, "kubeline datasets usage served@v2"))
	assert.ElementsMatch(t, []string{"local-a", "local-b"}, complete(t, env, "kubeline datasets versions --server local local-"))
	// --server on the line is the server asked.
	env[len(env)-1] = "KUBELINE_SERVER=http://127.0.0.1:1"
	assert.ElementsMatch(t, []string{"cifar"}, complete(t, env, "kubeline projects archive --server "+u+" c"))
}

// absPath is path made absolute: the binary runs in another directory.
func absPath(t *testing.T, path string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	require.NoError(t, err)
	return abs
}

// server is a `kubeline server` process a test started.
type server struct {
	url  string
	out  *lockedBuffer
	stop func()
}

// startServerBinary runs the kubeline binary's server on a free loopback
// port with KUBELINE_HOME=home until the test ends (or stop).
func startServerBinary(t *testing.T, home string, args ...string) server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(kubelineBinary(t), append([]string{"server", "--addr", addr, "--log-format", "text"}, args...)...)
	cmd.Env = append(os.Environ(), "KUBELINE_HOME="+home)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	t.Cleanup(stop)
	u := "http://" + addr
	for i := 0; ; i++ {
		if r, err := http.Get(u + "/apis/v2beta1/healthz"); err == nil {
			r.Body.Close()
			break
		}
		select {
		case <-done:
			t.Fatalf("kubeline server exited:\n%s", out.String())
		default:
		}
		if i > 600 {
			t.Fatalf("kubeline server does not answer:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return server{u, out, stop}
}
