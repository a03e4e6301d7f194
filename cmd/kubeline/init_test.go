package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubeline/kubeline/components"
	"github.com/kubeline/kubeline/templates"
)

// TestInit: `kubeline init NAME --template T` writes the template and the
// components library into a new directory; a directory with files in it
// is refused and left as it was; an unknown template is a usage error
// naming the templates.
func TestInit(t *testing.T) {
	env := []string{"KUBELINE_HOME=" + t.TempDir()}
	cwd := t.TempDir()
	r := kubelineIn(t, cwd, env, "init", "proj", "--template", "deployment")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "project proj from template deployment")
	var got []string
	require.NoError(t, filepath.WalkDir(filepath.Join(cwd, "proj"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(filepath.Join(cwd, "proj"), p)
			got = append(got, rel)
		}
		return err
	}))
	want := []string{"README.md", "data/rows.csv", "deployment.yaml", "pipeline.py", "pipeline.yaml", "predictor.py", "transformer.py",
		"components/compare-deployed.yaml", "components/components.py", "components/gate-on-metric.yaml", "components/log-metrics.yaml",
		"components/publish-model.yaml", "components/version-output.yaml"}
	sort.Strings(got)
	sort.Strings(want)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("files of the project (-want +got):\n%s", d)
	}
	readme, err := os.ReadFile(filepath.Join(cwd, "proj", "README.md"))
	require.NoError(t, err)
	orig, err := templates.FS.ReadFile("deployment/README.md")
	require.NoError(t, err)
	assert.Equal(t, string(orig), string(readme))

	r = kubelineIn(t, cwd, env, "init", "proj", "--template", "training")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "proj exists and is not empty")
	entries, _ := os.ReadDir(filepath.Join(cwd, "proj"))
	assert.Len(t, entries, 8, "the refused init changed the project")

	r = kubelineIn(t, cwd, env, "init", "other", "--template", "trainng")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, `--template "trainng": want training, hpo, deployment or python-components`)
	_, err = os.Stat(filepath.Join(cwd, "other"))
	assert.True(t, os.IsNotExist(err), "a refused init made the directory")

	r = kubelineIn(t, cwd, env, "init", "default")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "from template training")
}

// sdkPython is Debian's python3 with ../shared/kfp-sdk importable (what
// TestKFPSDK uses), or a skip-free failure saying what is missing.
func sdkPython(t *testing.T) (python string, env []string) {
	t.Helper()
	python = "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("the kfp SDK checks need Debian's %s: %v", python, err)
	}
	sdk := absPath(t, "../../../shared/kfp-sdk")
	if _, err := os.Stat(filepath.Join(sdk, "kfp")); err != nil {
		t.Fatalf("the kfp SDK checks need ../shared/kfp-sdk: %v", err)
	}
	return python, append(os.Environ(), "PYTHONPATH="+sdk, "PYTHONDONTWRITEBYTECODE=1", "HOME="+t.TempDir())
}

// TestComponentsFromSDK: components/*.yaml are what components.py writes
// with the real kfp SDK (so they are the SDK's own component specs), and
// each compiles with kubeline's compiler. -update rewrites them.
func TestComponentsFromSDK(t *testing.T) {
	python, env := sdkPython(t)
	out := t.TempDir()
	cmd := exec.Command(python, "../../components/components.py", out)
	cmd.Env = env
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", b)
	written, err := filepath.Glob(filepath.Join(out, "*.yaml"))
	require.NoError(t, err)
	embedded, err := components.FS.ReadDir(".")
	require.NoError(t, err)
	var names []string
	for _, e := range embedded {
		if strings.HasSuffix(e.Name(), ".yaml") {
			names = append(names, e.Name())
		}
	}
	require.Len(t, written, len(names), "components.py writes %v, components/ holds %v", written, names)
	for _, f := range written {
		name := filepath.Base(f)
		got, err := os.ReadFile(f)
		require.NoError(t, err)
		checked := filepath.Join("../../components", name)
		if *update {
			require.NoError(t, os.WriteFile(checked, got, 0o644))
		}
		want, err := os.ReadFile(checked)
		require.NoError(t, err, "components.py writes %s, which components/ lacks", name)
		if d := cmp.Diff(string(want), string(got)); d != "" {
			t.Errorf("components/%s is not what components.py writes (-checked in +SDK):\n%s", name, d)
		}
		code, _, errs := cli(t, "compile", checked, "-o", filepath.Join(t.TempDir(), "wf.yaml"))
		assert.Equal(t, 0, code, "kubeline compile components/%s: %s", name, errs)
	}
}

// TestTemplatesFromSDK: each template's pipeline YAML is what its Python
// source writes with the real kfp SDK in a project `kubeline init` made —
// the source loads kubeline's components with
// kfp.components.load_component_from_file — and compiles with kubeline's
// compiler. -update rewrites them. (The templates' READMEs run as written
// in make test: examples/newcomer.sh.)
func TestTemplatesFromSDK(t *testing.T) {
	python, env := sdkPython(t)
	sources := map[string]string{"training": "pipeline", "hpo": "trial", "deployment": "pipeline", "python-components": "pipeline"}
	require.Len(t, sources, len(templates.Names))
	for _, tmpl := range templates.Names {
		t.Run(tmpl, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "p")
			require.NoError(t, os.MkdirAll(filepath.Dir(dir), 0o755))
			_, err := initProject(dir, tmpl)
			require.NoError(t, err)
			src := sources[tmpl]
			require.NoError(t, os.Remove(filepath.Join(dir, src+".yaml")))
			cmd := exec.Command(python, src+".py")
			cmd.Dir, cmd.Env = dir, env
			b, err := cmd.CombinedOutput()
			require.NoError(t, err, "python3 %s.py: %s", src, b)
			got, err := os.ReadFile(filepath.Join(dir, src+".yaml"))
			require.NoError(t, err, "%s.py wrote no %s.yaml", src, src)
			checked := filepath.Join("../../templates", tmpl, src+".yaml")
			if *update {
				require.NoError(t, os.WriteFile(checked, got, 0o644))
			}
			want, err := os.ReadFile(checked)
			require.NoError(t, err)
			if d := cmp.Diff(string(want), string(got)); d != "" {
				t.Errorf("templates/%s/%s.yaml is not what %s.py writes (-checked in +SDK):\n%s", tmpl, src, src, d)
			}
			code, _, errs := cli(t, "compile", checked, "-o", filepath.Join(t.TempDir(), "wf.yaml"))
			assert.Equal(t, 0, code, "kubeline compile %s: %s", checked, errs)
			if tmpl == "hpo" {
				code, _, errs := cli(t, "compile", filepath.Join(dir, "experiment.yaml"), "-o", filepath.Join(t.TempDir(), "wf.yaml"))
				assert.Equal(t, 0, code, "kubeline compile experiment.yaml: %s", errs)
			}
		})
	}
}
