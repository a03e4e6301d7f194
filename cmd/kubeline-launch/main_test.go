package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"

	"github.com/kubeline/kubeline/compiler"
	"github.com/kubeline/kubeline/compiler/argo"
)

// maxSize is the most the in-pod binary may weigh (issue #25).
const maxSize = 30 << 20

var (
	buildOnce sync.Once
	buildDir  string
	bins      map[string]string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// binaries builds the in-pod binary and the full kubeline once per test
// binary: "launch" and "full".
func binaries(t *testing.T) map[string]string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kubeline-launch-test-")
		if err != nil {
			buildErr = err
			return
		}
		buildDir = dir
		bins = map[string]string{"launch": filepath.Join(dir, "launch", "kubeline"), "full": filepath.Join(dir, "full", "kubeline")}
		for name, pkg := range map[string]string{"launch": ".", "full": "../kubeline"} {
			// Static, as `make build` and the image build it: the init
			// container copies it into user images of any distribution.
			build := exec.Command("go", "build", "-o", bins[name], pkg)
			build.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := build.CombinedOutput(); err != nil {
				buildErr = errors.New("go build " + pkg + ": " + err.Error() + "\n" + string(out))
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bins
}

// TestInPodDependencies: the in-pod binary links none of what a step does
// not use — the compiler, engines, metadata store and its database drivers,
// the API server, Kubernetes and Argo client code, Prometheus.
func TestInPodDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := []string{
		"github.com/kubeline/kubeline/compiler", "github.com/kubeline/kubeline/runtime/engine",
		"github.com/kubeline/kubeline/runtime/store", "github.com/kubeline/kubeline/runtime/apiserver",
		"github.com/kubeline/kubeline/runtime/versioning", "github.com/kubeline/kubeline/runtime/admission",
		"k8s.io/", "sigs.k8s.io/", "github.com/argoproj/", "github.com/prometheus/",
		"modernc.org/sqlite", "github.com/jackc/pgx", "github.com/lib/pq",
	}
	var bad []string
	for _, pkg := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.HasPrefix(pkg, f) {
				bad = append(bad, pkg)
			}
		}
	}
	if len(bad) > 0 {
		t.Errorf("the in-pod binary links %d packages it must not:\n%s", len(bad), strings.Join(bad, "\n"))
	}
}

// TestInPodBinarySize: at most 30 MB.
func TestInPodBinarySize(t *testing.T) {
	fi, err := os.Stat(binaries(t)["launch"])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("in-pod binary: %.1f MB", float64(fi.Size())/(1<<20))
	if fi.Size() > maxSize {
		t.Errorf("in-pod binary is %d bytes, more than %d", fi.Size(), maxSize)
	}
}

// TestContractDirs: the pod directories the launcher defaults to are the
// ones the compiler writes into templates.
func TestContractDirs(t *testing.T) {
	if got := argo.Launcher; got != "/kubeline/bin/kubeline" {
		t.Errorf("compiled steps run %s; Install writes DIR/kubeline", got)
	}
	for env, dir := range map[string]string{"KUBELINE_INPUTS_DIR": argo.InputsDir, "KUBELINE_OUTPUTS_DIR": argo.OutputsDir} {
		src, err := os.ReadFile("../internal/launchcmd/launch.go")
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`envOr\("`+env+`", \w+\)`).Match(src) || !strings.Contains(string(src), `"`+dir+`"`) {
			t.Errorf("launchcmd does not default %s to %s", env, dir)
		}
	}
}

var inputRef = regexp.MustCompile(`\{\{inputs\.parameters\.([-\w]+)\}\}`)

// compiledStep is the argument list of the hello-params example's
// make-greeting step as Argo would run it: the compiled template's args
// with its input parameters substituted.
func compiledStep(t *testing.T, name, times string) []string {
	t.Helper()
	data, err := os.ReadFile("../../examples/hello-params/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	wf, err := compiler.Compile("pipeline.yaml", data, compiler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var tmpl *wfv1.Template
	for i := range wf.Spec.Templates {
		if wf.Spec.Templates[i].Name == "make-greeting" {
			tmpl = &wf.Spec.Templates[i]
		}
	}
	if tmpl == nil || tmpl.Container == nil || len(tmpl.Container.Command) != 2 || tmpl.Container.Command[1] != "launch" {
		t.Fatal("no make-greeting container template running `kubeline launch`")
	}
	values := map[string]string{"kubeline-task": "make-greeting", "name": name, "times": times}
	args := []string{"launch"}
	for _, a := range tmpl.Container.Args {
		args = append(args, inputRef.ReplaceAllStringFunc(a, func(m string) string {
			return values[inputRef.FindStringSubmatch(m)[1]]
		}))
	}
	return args
}

// result is what one invocation did: exit code, output streams, and the
// files it left in its outputs directory.
type result struct {
	Code           int
	Stdout, Stderr string
	Outputs        map[string]string
}

func invoke(t *testing.T, bin string, args []string) result {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "KUBELINE_OUTPUTS_DIR="+out, "KUBELINE_INPUTS_DIR="+filepath.Join(dir, "in"),
		"KUBELINE_WORKFLOW=hello-xyz", "KUBELINE_POD=hello-xyz-1", "KUBELINE_ARTIFACT_ROOT=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	// protobuf's error texts put a space or a no-break space after "proto:"
	// depending on the binary's hash (its detrand: callers must not compare
	// them), so the two binaries may differ there only.
	nbsp := strings.NewReplacer("\u00a0", " ")
	r := result{Stdout: nbsp.Replace(stdout.String()), Stderr: nbsp.Replace(stderr.String()), Outputs: map[string]string{}}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	_ = filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(out, p)
			r.Outputs[rel] = string(b)
		}
		return nil
	})
	return r
}

// TestInPodContract: the in-pod binary and the full kubeline answer every
// invocation the same way — a compiled step (its greeting, its declared
// outputs), a failing user command (its exit code), bad command lines
// (exit 2 and the same message), a condition step, install.
func TestInPodContract(t *testing.T) {
	b := binaries(t)
	cases := map[string]struct {
		args     []string
		wantCode int
		want     string // in stdout+stderr
	}{
		"compiled step": {args: compiledStep(t, "kubeline", "2"), want: "[2/2] Hello, kubeline!"},
		"user command fails": {args: []string{"launch", "--task", "t", "--", "sh", "-c", "echo no >&2; exit 3"},
			wantCode: 3, want: "no"},
		"no command":    {args: []string{"launch", "--task", "t"}, wantCode: 2, want: "no command after --"},
		"bad component": {args: []string{"launch", "--task", "t", "--component", "{", "--", "true"}, wantCode: 2, want: "--component"},
		"unknown flag":  {args: []string{"launch", "--nope", "--", "true"}, wantCode: 2, want: "flag provided but not defined: -nope"},
		"condition":     {args: []string{"launch", "--task", "c", "--condition", "1 + 1 == 2"}, want: `condition "1 + 1 == 2" is true`},
		"install no dir": {args: []string{"install"}, wantCode: 2,
			want: "kubeline install: want DIR, got 0 argument(s)\nusage: kubeline install DIR [flags]\nRun 'kubeline install --help' for usage.\n"},
		"install two dirs": {args: []string{"install", "a", "b"}, wantCode: 2, want: `want DIR, got 2 argument(s) ["a" "b"]`},
		"install flag":     {args: []string{"install", "--force", "d"}, wantCode: 2, want: "unknown flag: --force"},
		"install help":     {args: []string{"install", "-h"}, want: "Usage:\n  kubeline install DIR [flags]"},
	}
	names := make([]string, 0, len(cases))
	for name := range cases {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		tc := cases[name]
		t.Run(name, func(t *testing.T) {
			small, full := invoke(t, b["launch"], tc.args), invoke(t, b["full"], tc.args)
			if diff := cmp.Diff(full, small); diff != "" {
				t.Errorf("in-pod binary differs from kubeline (-full +in-pod):\n%s", diff)
			}
			if small.Code != tc.wantCode || !strings.Contains(small.Stdout+small.Stderr, tc.want) {
				t.Errorf("exit %d, output %q: want exit %d and %q", small.Code, small.Stdout+small.Stderr, tc.wantCode, tc.want)
			}
		})
	}
	// The compiled step's declared outputs.
	r := invoke(t, b["launch"], compiledStep(t, "pods", "1"))
	if r.Outputs["greeting"] != "Hello, pods!" || r.Outputs["length"] != "12" {
		t.Errorf("outputs %v: want greeting %q and length 12", r.Outputs, "Hello, pods!")
	}
}

// TestInPodInstall: `install DIR` copies the binary to DIR/kubeline, which
// then runs steps.
func TestInPodInstall(t *testing.T) {
	bin := binaries(t)["launch"]
	dir := filepath.Join(t.TempDir(), "bin")
	if out, err := exec.Command(bin, "install", dir).CombinedOutput(); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	want, _ := os.ReadFile(bin)
	got, err := os.ReadFile(filepath.Join(dir, "kubeline"))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("DIR/kubeline is not the binary (%d bytes, want %d): %v", len(got), len(want), err)
	}
	r := invoke(t, filepath.Join(dir, "kubeline"), compiledStep(t, "copy", "1"))
	if r.Code != 0 || r.Outputs["greeting"] != "Hello, copy!" {
		t.Errorf("the installed copy: exit %d, outputs %v, stderr %s", r.Code, r.Outputs, r.Stderr)
	}
}

// TestOtherCommands: the in-pod binary refuses the full binary's other
// commands with a message saying so.
func TestOtherCommands(t *testing.T) {
	r := invoke(t, binaries(t)["launch"], []string{"compile", "p.yaml"})
	if r.Code != 2 || !strings.Contains(r.Stderr, `"compile" is not a command of the in-pod launcher`) {
		t.Errorf("exit %d, stderr %q", r.Code, r.Stderr)
	}
}

// BenchmarkLaunchStart is process start-up of `kubeline launch` as a pod
// runs it: one op execs the binary with a compiled step's flags (the
// hello-params make-greeting component and inputs) and a user command that
// only writes the two outputs the component declares (sh -c 'for f ...'
// with the output_file placeholders), and waits for it to exit. So it
// includes process start, runtime and package initialisation, parsing the
// component, making the output directories, resolving placeholders,
// running the user command and checking its outputs: an upper bound of
// "process start to user command". "direct" runs the same sh command alone
// (what the launcher adds is in-pod minus direct). Cases: the in-pod binary
// and the full kubeline.
func BenchmarkLaunchStart(b *testing.B) {
	t := &testing.T{}
	bins := binaries(t)
	write := []string{"sh", "-c", `for f; do echo 1 > "$f"; done`, "sh"}
	args := compiledStep(t, "bench", "1")
	for i, a := range args {
		if a == "--" {
			args = append(append(args[:i+1:i+1], write...),
				"{{$.outputs.parameters['greeting'].output_file}}", "{{$.outputs.parameters['length'].output_file}}")
			break
		}
	}
	dir := b.TempDir()
	env := append(os.Environ(), "KUBELINE_OUTPUTS_DIR="+filepath.Join(dir, "out"), "KUBELINE_INPUTS_DIR="+filepath.Join(dir, "in"),
		"KUBELINE_WORKFLOW=bench", "KUBELINE_ARTIFACT_ROOT=")
	for _, c := range []struct {
		name string
		argv []string
	}{
		{"in-pod", append([]string{bins["launch"]}, args...)},
		{"full", append([]string{bins["full"]}, args...)},
		{"direct", append(write, filepath.Join(dir, "g"), filepath.Join(dir, "l"))},
	} {
		b.Run(c.name, func(b *testing.B) {
			var cpu time.Duration
			for i := 0; i < b.N; i++ {
				cmd := exec.Command(c.argv[0], c.argv[1:]...)
				cmd.Env = env
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%v: %v\n%s", c.argv[:2], err, out)
				}
				cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			}
			// CPU time (user+sys of the process and its children): what
			// the start costs without the waiting a busy machine adds.
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}
