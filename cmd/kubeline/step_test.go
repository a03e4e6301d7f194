package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubeline/kubeline/components"
	"github.com/kubeline/kubeline/templates"
)

// TestParseMetrics: `kubeline step metrics` takes a JSON object of finite
// numbers (numbers written as text too: KFP passes parameters as text) and
// names every bad entry at once.
func TestParseMetrics(t *testing.T) {
	cases := []struct {
		in   string
		want map[string]any
		err  string
	}{
		{`{"mse": 0.25, "r2": "0.9"}`, map[string]any{"mse": 0.25, "r2": 0.9}, ""},
		{`{"a": "x", "b": true, "c": 1}`, nil, `--metrics: "a": x is not a number; "b": true is not a number`},
		{`{"a": "NaN"}`, nil, `"a": NaN is not a number`},
		{`{}`, nil, "--metrics: no metrics"},
		{`[1]`, nil, "want a JSON object of numbers"},
	}
	for _, tc := range cases {
		got, err := parseMetrics(tc.in)
		if tc.err != "" {
			assert.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}

// TestStepDecisions: compare-deployed's and gate-on-metric's decisions in
// both directions, at the boundary and with nothing deployed.
func TestStepDecisions(t *testing.T) {
	better := []struct {
		value, baseline float64
		found           bool
		direction       string
		want            bool
	}{
		{0.5, 0.4, true, "maximize", true},
		{0.4, 0.5, true, "maximize", false},
		{0.4, 0.4, true, "maximize", true},
		{0.5, 0.4, true, "minimize", false},
		{0.4, 0.5, true, "minimize", true},
		{99, 0, false, "minimize", true},
	}
	for _, tc := range better {
		assert.Equal(t, tc.want, candidateBetter(tc.value, tc.baseline, tc.found, tc.direction), "%+v", tc)
	}
	gates := []struct {
		value, threshold float64
		direction        string
		want             bool
	}{
		{0.9, 0.8, "maximize", true},
		{0.7, 0.8, "maximize", false},
		{0.8, 0.8, "maximize", true},
		{0.05, 0.1, "minimize", true},
		{0.2, 0.1, "minimize", false},
	}
	for _, tc := range gates {
		assert.Equal(t, tc.want, gatePassed(tc.value, tc.threshold, tc.direction), "%+v", tc)
	}
}

// TestEveryComponentUsed: each component of components/ is used by at
// least one template's pipeline (which TestTemplatesRun and
// examples/newcomer.sh run).
func TestEveryComponentUsed(t *testing.T) {
	used := map[string]bool{}
	for _, tmpl := range templates.Names {
		yamls, err := filepath.Glob(filepath.Join("../../templates", tmpl, "*.yaml"))
		require.NoError(t, err)
		for _, f := range yamls {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			for _, m := range regexp.MustCompile(`(?m)^  comp-([a-z0-9-]+):$`).FindAllStringSubmatch(string(b), -1) {
				used[m[1]] = true
			}
		}
	}
	entries, err := components.FS.ReadDir(".")
	require.NoError(t, err)
	n := 0
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".yaml")
		if !ok {
			continue
		}
		n++
		assert.True(t, used[name], "component %s is used by no template", name)
	}
	assert.Equal(t, 5, n, "components")
}

// project is a project `kubeline init` made for a test, and how to run
// the kubeline binary in it (with a KUBELINE_HOME of its own).
type project struct {
	t   *testing.T
	dir string
	env []string
}

func initTemplate(t *testing.T, tmpl string) project {
	t.Helper()
	home := t.TempDir()
	env := []string{"KUBELINE_HOME=" + home, "KUBELINE_CONFIG=" + filepath.Join(home, "config"), "KUBELINE_SERVER=", "KUBELINE_TOKEN=", "KUBELINE_CONTEXT="}
	parent := t.TempDir()
	r := kubelineIn(t, parent, env, "init", "p", "--template", tmpl)
	require.Equal(t, 0, r.code, r.stderr)
	return project{t, filepath.Join(parent, "p"), env}
}

// ok runs kubeline in the project; it must succeed and print every want.
func (p project) ok(args []string, want ...string) string {
	p.t.Helper()
	r := kubelineIn(p.t, p.dir, p.env, args...)
	require.Equal(p.t, 0, r.code, "kubeline %q:\n%s%s", args, r.stdout, r.stderr)
	for _, w := range want {
		assert.Contains(p.t, r.stdout, w, "kubeline %q", args)
	}
	return r.stdout
}

// TestTemplatesRun runs the pipelines of the templates in the projects
// `kubeline init` makes, on the embedded engine, as their READMEs do, and
// checks what the components did: versions made (version-output), metrics
// recorded (log-metrics), and in the deployment template a model published
// only when it is better than the catalog's and passes the gate
// (compare-deployed, gate-on-metric, publish-model). examples/newcomer.sh
// runs every README as written (the hpo template's and the deployment
// template's server part too).
func TestTemplatesRun(t *testing.T) {
	t.Run("training", func(t *testing.T) {
		p := initTemplate(t, "training")
		p.ok([]string{"datasets", "create", "rows", "--from", "data/rows.csv"}, "dataset rows@v1 created")
		p.ok([]string{"run", "pipeline.yaml"}, "used dataset rows@v1", "new version dataset rows-clean@v1", "new version model linear@v1", "metrics log-metrics.mse=")
		p.ok([]string{"run", "pipeline.yaml", "--param", "lr=0.05"}, "dataset rows-clean: same content as v1", "new version model linear@v2")
		p.ok([]string{"compare", "linear@v1", "linear@v2"}, "mse")
	})
	t.Run("python-components", func(t *testing.T) {
		p := initTemplate(t, "python-components")
		out := p.ok([]string{"run", "pipeline.yaml"}, "new version model py-line@v1")
		assert.Regexp(t, `metrics log-metrics\.mse=\S+ log-metrics\.r2=0\.9\d* log-metrics\.train_loss=`, out)
	})
	t.Run("hpo", func(t *testing.T) {
		// The objective is the mse each trial's log-metrics step logs.
		p := initTemplate(t, "hpo")
		out := p.ok([]string{"hpo", "run", "experiment.yaml", "--plot", filepath.Join(t.TempDir(), "plot.svg")},
			"experiment line-fit Succeeded (ExperimentGoalReached)", "metrics unavailable 0")
		assert.Regexp(t, `best trial line-fit-\d+: epochs=\d+ lr=\S+; mse min 0\.00`, out)
	})
	t.Run("deployment", func(t *testing.T) {
		p := initTemplate(t, "deployment")
		p.ok([]string{"datasets", "create", "rows", "--from", "data/rows.csv"}, "dataset rows@v1 created")
		// Nothing in the catalog: the candidate goes ahead, passes the gate
		// and is published — publish-model makes linear@v1 within the run,
		// so the run's own record finds the same content.
		p.ok([]string{"run", "pipeline.yaml"}, "model linear: same content as v1, no new version", "metrics log-metrics.mse=0.016555")
		p.ok([]string{"catalog"}, "linear@v1")
		// Worse than linear@v1 (5 epochs: mse 0.038) though under the gate's
		// threshold (0.1): linear@v2 is made but not published.
		p.ok([]string{"run", "pipeline.yaml", "--param", "epochs=5"}, "new version model linear@v2", "metrics log-metrics.mse=0.038182")
		// Better than v1 but over the gate's threshold: not published.
		p.ok([]string{"run", "pipeline.yaml", "--param", "epochs=12", "--param", "max_mse=0.000001"}, "new version model linear@v3")
		// Better and under the threshold: published.
		p.ok([]string{"run", "pipeline.yaml", "--param", "epochs=15"}, "model linear: same content as v4, no new version")
		p.ok([]string{"models", "versions", "linear"}, "v1", "v2", "v3", "v4")
		catalog := p.ok([]string{"catalog", "-o", "json"})
		assert.Contains(t, catalog, "0.016555", "linear@v1's metric in the catalog (from the run that published it)")
		assert.Contains(t, catalog, "model://linear@v1")
		assert.NotContains(t, catalog, "model://linear@v2", "a worse model was published")
		assert.NotContains(t, catalog, "model://linear@v3", "a model over the gate's threshold was published")
		assert.Contains(t, catalog, "model://linear@v4")
	})
}
