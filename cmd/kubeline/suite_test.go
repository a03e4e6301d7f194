package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// suiteStep is one command line of the CLI suite and the exit code it
// must have; unordered: its lines are compared as a set (a lineage
// graph's siblings are ordered by the generated names of their runs).
type suiteStep struct {
	args      []string
	code      int
	unordered bool
}

// cliSuite is the suite TestSameSuite runs against the local store and
// against a multi-user server: every resource command a Data Scientist or
// ML Engineer uses, on datasets made from a file and a directory, models
// made by runs of examples/train-model, lineage, usage, publishing, the
// catalog, projects, compare, clusters, code from a directory, a declared
// featureset, the image catalog, and mistakes. ROWS, TREE, PIPELINE and
// FEATURESET are filled in.
var cliSuite = []suiteStep{
	{[]string{"datasets", "create", "d", "--from", "ROWS"}, 0, false},
	{[]string{"datasets", "create", "d", "--from", "ROWS"}, 0, false},
	{[]string{"datasets", "create", "tree", "--from", "TREE"}, 0, false},
	{[]string{"datasets", "list"}, 0, false},
	{[]string{"datasets", "list", "-o", "json"}, 0, false},
	{[]string{"datasets", "versions", "tree", "-o", "yaml"}, 0, false},
	{[]string{"run", "PIPELINE", "--param", "lr=0.1"}, 0, false},
	{[]string{"run", "PIPELINE", "--param", "lr=0.2"}, 0, false},
	{[]string{"run", "PIPELINE", "--param", "lr=0.2"}, 0, false},
	{[]string{"run", "PIPELINE", "--param", "fail=true"}, 1, false},
	{[]string{"models", "list"}, 0, false},
	{[]string{"models", "versions", "m"}, 0, false},
	{[]string{"datasets", "usage", "d@v1"}, 0, false},
	{[]string{"models", "usage", "m@latest"}, 0, false},
	{[]string{"lineage", "model", "m@v1"}, 0, false},
	{[]string{"lineage", "model", "m@v2"}, 0, true},
	{[]string{"lineage", "dataset", "d@v1"}, 0, true},
	{[]string{"lineage", "model", "m@v1", "-o", "dot"}, 0, true},
	{[]string{"models", "publish", "m@v2"}, 0, false},
	{[]string{"catalog"}, 0, false},
	{[]string{"projects", "create", "mnist", "--metric", "accuracy"}, 0, false},
	{[]string{"projects", "list"}, 0, false},
	{[]string{"leaderboard", "mnist"}, 0, false},
	{[]string{"compare", "m@v1", "m@v2"}, 0, false},
	{[]string{"clusters", "list"}, 0, false},
	{[]string{"code", "create", "app", "--from", "TREE"}, 0, false},
	{[]string{"code", "create", "app", "--from", "TREE"}, 0, false},
	{[]string{"code", "list"}, 0, false},
	{[]string{"featuresets", "create", "-f", "FEATURESET"}, 0, false},
	{[]string{"featuresets", "list"}, 0, false},
	{[]string{"featuresets", "get", "customers"}, 0, false},
	{[]string{"featuresets", "create", "-f", "FEATURESET"}, 1, false},
	{[]string{"images", "list"}, 0, false},
	{[]string{"datasets", "versions", "nope"}, 1, false},
	{[]string{"lineage", "model", "m@v9"}, 1, false},
	{[]string{"models", "publish", "m@v7"}, 1, false},
	{[]string{"datasets", "create", "a/b", "--from", "ROWS"}, 1, false},
	{[]string{"datasets", "create", "e", "--from", "TREE/nothing-here"}, 1, false},
}

// TestSameSuite is #24's acceptance 2: the same CLI suite runs against the
// local store (nothing configured) and against a multi-user server, as an
// ML Engineer whose token comes from the config file's context. The
// outputs must be identical but for owners and groups ("alice" and "team"
// on the server; none and "default" locally) and for what differs between
// any two executions (run ids, times, generated run names, the directories
// the artifacts are in, and the first line of `kubeline run`, which names
// where the run ran); they must also match testdata/suite.golden.
func TestSameSuite(t *testing.T) {
	work := t.TempDir()
	rows := filepath.Join(work, "rows.txt")
	require.NoError(t, os.WriteFile(rows, []byte("a\nb\nc\nd\n"), 0o644))
	tree := filepath.Join(work, "tree")
	require.NoError(t, os.MkdirAll(filepath.Join(tree, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(tree, "x.txt"), []byte("x\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(tree, "sub", "y.txt"), []byte("y\n"), 0o644))
	fill := strings.NewReplacer("ROWS", rows, "TREE", tree, "PIPELINE", absPath(t, "../../examples/train-model/pipeline.yaml"),
		"FEATURESET", absPath(t, "testdata/codefeatures/featureset.yaml"))

	clean := func(home string) []string {
		return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "KUBELINE_HOME=" + home, "KUBELINE_CONFIG=" + filepath.Join(home, "config")}
	}
	localHome := t.TempDir()
	local := runSuite(t, work, clean(localHome), fill, localHome, work, absPath(t, "testdata"))

	serverHome, clientHome := t.TempDir(), t.TempDir()
	srv := startServerBinary(t, serverHome, "--multi-user")
	admin := waitForToken(t, srv)
	op := append(clean(clientHome), "KUBELINE_SERVER="+srv.url, "KUBELINE_TOKEN="+admin)
	for _, args := range [][]string{{"groups", "create", "team"}, {"users", "create", "alice", "--roles", "ml", "--groups", "team"}} {
		r := kubelineEnv(t, work, op, args...)
		require.Equal(t, 0, r.code, "%q: %s", args, r.stderr)
	}
	r := kubelineEnv(t, work, op, "users", "create-token", "alice")
	require.Equal(t, 0, r.code, r.stderr)
	env := clean(clientHome)
	r = kubelineEnv(t, work, env, "config", "set-context", "team", "--server", srv.url, "--token", strings.TrimSpace(r.stdout), "--use")
	require.Equal(t, 0, r.code, r.stderr)
	r = kubelineEnv(t, work, env, "users", "whoami")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "alice", "the context's token is alice's")
	remote := runSuite(t, work, env, fill, serverHome, clientHome, work, absPath(t, "testdata"))

	l, s := strings.Join(local, ""), strings.Join(remote, "")
	if d := cmp.Diff(l, s); d != "" {
		t.Errorf("the suite's outputs differ between the local store and the server (-local +server):\n%s", d)
	}
	golden := filepath.Join("testdata", "suite.golden")
	if *update {
		require.NoError(t, os.WriteFile(golden, []byte(l), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	if d := cmp.Diff(string(want), l); d != "" {
		t.Errorf("the suite's output differs from %s (-want +got):\n%s", golden, d)
	}
}

// runSuite runs cliSuite as a user does, in env, and returns each step's
// command line, exit code and output, normalized (homes are the
// directories the artifacts are in).
func runSuite(t *testing.T, dir string, env []string, fill *strings.Replacer, homes ...string) []string {
	t.Helper()
	var out []string
	for _, step := range cliSuite {
		args := make([]string, len(step.args))
		for i, a := range step.args {
			args[i] = fill.Replace(a)
		}
		r := kubelineEnv(t, dir, env, args...)
		if r.code != step.code {
			t.Errorf("kubeline %q: exit %d, want %d\n%s%s", step.args, r.code, step.code, r.stdout, r.stderr)
		}
		stdout, stderr := r.stdout, ""
		switch {
		case step.args[0] == "run":
			stdout = runRecord(stdout)
		case r.code != 0:
			stderr = r.stderr
		}
		out = append(out, fmt.Sprintf("$ kubeline %s\nexit %d\n%s", strings.Join(step.args, " "), r.code,
			normalizeLines(normalizeSuite(stdout+stderr, homes), step.unordered)))
	}
	return out
}

// runRecord keeps the lines of `kubeline run`'s output that say what the
// run used and made and its metrics; the others name the run where it ran
// (a workflow here, a run on the server) and its outputs.
func runRecord(stdout string) string {
	var keep []string
	for _, l := range strings.SplitAfter(stdout, "\n") {
		if strings.HasPrefix(l, "used ") || strings.HasPrefix(l, "new version ") || strings.HasPrefix(l, "metrics ") || strings.Contains(l, ": same content as v") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "")
}

var (
	suiteUUID      = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	suiteTime      = regexp.MustCompile(`\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?`)
	suiteOwner     = regexp.MustCompile(`\b(alice|team|default|local)\b|((?:published_by|owner|group):[ \t]*|"(?:owner|group)": )("[^"]*"|[^\s,]*)`)
	suitePublisher = regexp.MustCompile(`\(by [^)]*\)`)
	suiteWorkflow  = regexp.MustCompile(`\b(train-model-[a-z0-9]{5}|run-ID|run-[0-9a-f]{8})\b`) // run-ID: a server run's workflow, run-<whole run id>, after suiteUUID
	suitePod       = regexp.MustCompile(`WORKFLOW-(\w+)-\d+`)
	suiteTask      = regexp.MustCompile(`WORKFLOW-\d+`)
	suiteDigestIn  = regexp.MustCompile(`(uri|URI)=[^)\s]*`)
	// An owner in a table column, or the "-" of an empty one.
	suiteCell = regexp.MustCompile(`([ \t])(OWNER|-)[ \t]`)
)

// normalizeSuite takes out of a suite's output what differs between any
// two executions, and owners and groups: named ones become OWNER, and
// table cells of owners (or "-", an empty cell) go.
func normalizeSuite(s string, homes []string) string {
	for _, h := range homes {
		s = strings.ReplaceAll(s, h, "DIR")
	}
	s = suiteUUID.ReplaceAllString(s, "ID")
	s = suiteTime.ReplaceAllString(s, "TIME")

	s = suiteDigestIn.ReplaceAllString(s, "uri=URI")
	s = suiteWorkflow.ReplaceAllString(s, "WORKFLOW")
	s = suitePod.ReplaceAllString(s, "WORKFLOW-${1}-POD")
	s = suiteTask.ReplaceAllString(s, "WORKFLOW-NODE")
	s = suitePublisher.ReplaceAllString(s, "(by OWNER)")
	s = suiteOwner.ReplaceAllString(s, "${2} OWNER")
	s = suiteCell.ReplaceAllString(s, "$1")
	return s
}

// normalizeLines squashes each line's columns (an empty owner column is no
// column) and, for an unordered output, sorts its lines.
func normalizeLines(s string, unordered bool) string {
	if unordered {
		s = strings.NewReplacer("│", "", "└", "├").Replace(s) // a tree's last child is drawn apart
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	if unordered {
		slices.Sort(lines)
	}
	return strings.Join(lines, "\n") + "\n"
}

// waitForToken reads the operator token a first multi-user start prints.
func waitForToken(t *testing.T, s server) string {
	t.Helper()
	re := regexp.MustCompile(`KUBELINE_TOKEN=(\S+)`)
	for i := 0; i < 100; i++ {
		if m := re.FindStringSubmatch(s.out.String()); m != nil {
			return m[1]
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no operator token in the server's output:\n%s", s.out.String())
	return ""
}
