package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
	"sigs.k8s.io/yaml"
)

const corpus = "../../../shared/kfp-corpus/ir/valid/"

func TestCompileCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "wf.yaml")
	var stdout, stderr bytes.Buffer
	code := run([]string{"compile", corpus + "critical/add_numbers.yaml", "-o", out, "--param", "a=7"}, nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var wf wfv1.Workflow
	if err := yaml.UnmarshalStrict(b, &wf); err != nil {
		t.Fatalf("output is not a Workflow: %v", err)
	}
	if wf.Kind != "Workflow" || wf.APIVersion != "argoproj.io/v1alpha1" {
		t.Fatalf("kind %q apiVersion %q", wf.Kind, wf.APIVersion)
	}
	found := false
	for _, p := range wf.Spec.Arguments.Parameters {
		found = found || (p.Name == "a" && p.Value.String() == "7")
	}
	if !found {
		t.Fatalf("--param a=7 not in arguments: %+v", wf.Spec.Arguments.Parameters)
	}
}

func TestCompileCommandErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("pipelineInfo: {name: x}\nroot:\n  dag:\n    tasks:\n      a: {componentRef: {name: nope}, wat: 1}\n"), 0o644)
	out := filepath.Join(dir, "out.yaml")
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no file", []string{"compile"}, 2, "usage"},
		{"missing file", []string{"compile", filepath.Join(dir, "none.yaml")}, 1, "no such file"},
		{"bad spec", []string{"compile", bad, "-o", out}, 1, `root.dag.tasks[a].wat: unknown field "wat"`},
		{"bad param", []string{"compile", corpus + "hello_world.yaml", "--param", "novalue"}, 2, "want NAME=VALUE"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, nil, &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d (stderr %s)", code, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.msg) {
				t.Fatalf("stderr %q does not mention %q", stderr.String(), tc.msg)
			}
			if stdout.Len() != 0 {
				t.Fatalf("wrote to stdout on failure: %q", stdout.String())
			}
		})
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("a failed compile left %s behind", out)
	}
}

// TestCompileOutputKeepsTheFile runs `kubeline compile -o OUT` as a user
// (root here) does: a device node (a copy of /dev/null made with mknod)
// is written in place and stays the device; an existing file keeps its
// mode; a link keeps pointing at its file, which gets the workflow; a new
// file is 0644; a failed compile leaves OUT as it was.
func TestCompileOutputKeepsTheFile(t *testing.T) {
	dir := t.TempDir()
	pipeline, err := filepath.Abs("../../examples/hello-params/pipeline.yaml")
	require.NoError(t, err)
	compileTo := func(out string, args ...string) result {
		return kubelineIn(t, dir, []string{"KUBELINE_HOME=" + t.TempDir()}, append([]string{"compile", pipeline, "-o", out}, args...)...)
	}
	want := kubelineIn(t, dir, nil, "compile", pipeline).stdout
	require.Contains(t, want, "kind: Workflow")

	null := filepath.Join(dir, "fakenull")
	dev := int(unix.Mkdev(1, 3))
	require.NoError(t, syscall.Mknod(null, syscall.S_IFCHR|0o666, dev), "mknod needs root")
	require.NoError(t, os.Chmod(null, 0o666))
	r := compileTo(null)
	require.Equal(t, 0, r.code, r.stderr)
	fi, err := os.Stat(null)
	require.NoError(t, err)
	assert.Equal(t, os.ModeDevice|os.ModeCharDevice|0o666, fi.Mode(), "the device became %v", fi.Mode())
	assert.Equal(t, uint64(dev), fi.Sys().(*syscall.Stat_t).Rdev)

	for _, mode := range []os.FileMode{0o644, 0o640, 0o600} {
		file := filepath.Join(dir, fmt.Sprintf("wf-%o.yaml", mode))
		require.NoError(t, os.WriteFile(file, []byte("old"), mode))
		require.NoError(t, os.Chmod(file, mode))
		require.NoError(t, os.Chown(file, 1234, 5678))
		r := compileTo(file)
		require.Equal(t, 0, r.code, r.stderr)
		fi, err := os.Stat(file)
		require.NoError(t, err)
		assert.Equal(t, mode, fi.Mode(), "%s", file)
		st := fi.Sys().(*syscall.Stat_t)
		assert.Equal(t, [2]uint32{1234, 5678}, [2]uint32{st.Uid, st.Gid}, "owner of %s", file)
		got, _ := os.ReadFile(file)
		assert.Equal(t, want, string(got))
	}

	target := filepath.Join(dir, "target.yaml")
	link := filepath.Join(dir, "link.yaml")
	require.NoError(t, os.WriteFile(target, []byte("old"), 0o644))
	require.NoError(t, os.Symlink("target.yaml", link))
	require.Equal(t, 0, compileTo(link).code)
	fi, err = os.Lstat(link)
	require.NoError(t, err)
	assert.Equal(t, os.ModeSymlink, fi.Mode().Type(), "the link was replaced")
	got, _ := os.ReadFile(target)
	assert.Equal(t, want, string(got))

	fresh := filepath.Join(dir, "new.yaml")
	require.Equal(t, 0, compileTo(fresh).code)
	fi, err = os.Stat(fresh)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode())

	// A failed compile leaves OUT alone.
	r = compileTo(target, "--param", "nope=1")
	assert.Equal(t, 1, r.code)
	got, _ = os.ReadFile(target)
	assert.Equal(t, want, string(got))
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		assert.False(t, strings.HasPrefix(e.Name(), ".kubeline-compile-"), "left %s behind", e.Name())
	}
}

// TestCompileReportsEveryError: the README's example — an unknown field
// and an undefined component in one file — comes out at once, each line
// with its place, exit 1 and nothing on stdout.
func TestCompileReportsEveryError(t *testing.T) {
	file, err := filepath.Abs("testdata/two-errors.yaml")
	require.NoError(t, err)
	r := kubelineIn(t, t.TempDir(), nil, "compile", file)
	assert.Equal(t, 1, r.code)
	assert.Empty(t, r.stdout)
	assert.Equal(t, "kubeline compile "+file+":\n"+
		`9:9: root.dag.tasks[train].colour: unknown field "colour" of PipelineTaskSpec`+"\n"+
		`11:9: root.dag.tasks[eval].componentRef.name: component "comp-nope" is not defined in components`+"\n", r.stderr)
}

// TestParamValuesChecked: a --param value that is not of its declared type
// is an error when compiling and before running (`--param repeat=abc` for
// an integer compiled and the step failed later), named with the type.
func TestParamValuesChecked(t *testing.T) {
	pipeline, err := filepath.Abs("../../examples/hello-params/pipeline.yaml")
	require.NoError(t, err)
	home := t.TempDir()
	for _, cmd := range []string{"compile", "run"} {
		r := kubelineIn(t, t.TempDir(), []string{"KUBELINE_HOME=" + home}, cmd, pipeline, "--param", "repeat=abc", "--param", "recipient=x")
		assert.Equal(t, 1, r.code, cmd)
		assert.Empty(t, r.stdout, cmd)
		assert.Contains(t, r.stderr, `--param[repeat]: "abc" is not an integer: the pipeline declares repeat NUMBER_INTEGER`, cmd)
		assert.NotContains(t, r.stderr, "recipient", cmd)
	}
	_, err = os.Stat(filepath.Join(home, "runs"))
	assert.True(t, os.IsNotExist(err), "a step ran")
	r := kubelineIn(t, t.TempDir(), []string{"KUBELINE_HOME=" + home}, "compile", pipeline, "--param", "repeat=2.0")
	assert.Equal(t, 0, r.code, r.stderr)
}
