package main

import (
	"bytes"
	"encoding/json"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"os"
	"path/filepath"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/lineage"
)

// cli runs one kubeline command in-process and returns its exit code and
// output.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, nil, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestVersionsAndLineage runs the train-model example on the embedded
// engine: two runs with different inputs make model m v1 and v2, a third
// identical run makes no v3, a failed run makes none; m@v2's lineage names
// the dataset version and the parameters that produced it, and d@v1's usage
// lists every run.
func TestVersionsAndLineage(t *testing.T) {
	home := t.TempDir()
	t.Setenv("KUBELINE_HOME", home)
	data := filepath.Join(t.TempDir(), "rows.txt")
	if err := os.WriteFile(data, []byte("a\nb\nc\nd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const pipeline = "../../examples/train-model/pipeline.yaml"
	steps := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"datasets", "create", "d", "--from", data}, 0, "dataset d@v1 created"},
		{[]string{"datasets", "create", "d", "--from", data}, 0, "same content as v1, no new version"},
		{[]string{"run", pipeline, "--param", "lr=0.1"}, 0, "new version model m@v1"},
		{[]string{"run", pipeline, "--param", "lr=0.2"}, 0, "new version model m@v2"},
		{[]string{"run", pipeline, "--param", "lr=0.2"}, 0, "model m: same content as v2, no new version"},
		{[]string{"run", pipeline, "--param", "fail=true"}, 1, "used dataset d@v1"},
		{[]string{"run", pipeline, "--param", "data=dataset://d@v7"}, 1, "resolve versions: parameter data: dataset d@v7: not found"},
	}
	for _, s := range steps {
		code, out, errOut := cli(t, s.args...)
		if code != s.code || !strings.Contains(out+errOut, s.want) {
			t.Fatalf("kubeline %v: exit %d, want %d and %q\n%s%s", s.args, code, s.code, s.want, out, errOut)
		}
	}
	_, out, _ := cli(t, "models", "versions", "m")
	if strings.Count(out, "\nv") != 2 || !strings.Contains(out, "v2 ") || strings.Contains(out, "v3") {
		t.Fatalf("model versions:\n%s", out)
	}
	// Upstream of m@v2: the dataset version and lr=0.2, in the two runs that made its content.
	code, out, errOut := cli(t, "lineage", "model", "m@v2", "-o", "json")
	if code != 0 {
		t.Fatalf("lineage: %s", errOut)
	}
	var g lineage.Graph
	if err := json.Unmarshal([]byte(out), &g); err != nil {
		t.Fatal(err)
	}
	if ds := g.Of(lineage.KindDataset); len(ds) != 1 || ds[0].ID != "dataset:d@v1" {
		t.Fatalf("datasets upstream of m@v2: %+v", ds)
	}
	trains := 0
	for _, task := range g.Of(lineage.KindTask) {
		if task.Label == "train" {
			trains++
			if task.Params["lr"] != "0.2" {
				t.Fatalf("m@v2 came from lr=%s", task.Params["lr"])
			}
		}
	}
	if trains != 2 || len(g.Runs()) != 2 {
		t.Fatalf("m@v2 upstream: %d train tasks, %d runs", trains, len(g.Runs()))
	}
	// Usage of d@v1: all four runs used it.
	_, out, _ = cli(t, "datasets", "usage", "d@v1")
	if strings.Count(out, "importer  used") != 4 || !strings.Contains(out, "FAILED") {
		t.Fatalf("usage of d@v1:\n%s", out)
	}
	code, out, _ = cli(t, "lineage", "dataset", "d@v1", "-o", "svg")
	if code != 0 || !strings.HasPrefix(out, "<svg") || !strings.Contains(out, "model m@v1") || !strings.Contains(out, "model m@v2") {
		t.Fatalf("downstream SVG of d@v1 (exit %d):\n%.300s", code, out)
	}
	if code, _, errOut := cli(t, "lineage", "model", "m@v9"); code != 1 || !strings.Contains(errOut, "not found") {
		t.Fatalf("unknown version: exit %d %s", code, errOut)
	}
}

// TestArgoRepository: the ConfigMap points Argo at the bucket with the keys
// compiled workflows and the embedded engine use.
func TestArgoRepository(t *testing.T) {
	code, out, errOut := cli(t, "argo-repository", "--artifacts", "minio://models", "--s3-endpoint", "http://minio.kubeflow:9000", "--namespace", "team-a")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict([]byte(out), &cm); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var repo wfv1.ArtifactRepository
	if err := yaml.UnmarshalStrict([]byte(cm.Data["kubeline"]), &repo); err != nil {
		t.Fatal(err)
	}
	if cm.Namespace != "team-a" || cm.Annotations["workflows.argoproj.io/default-artifact-repository"] != "kubeline" ||
		repo.S3 == nil || repo.S3.Bucket != "models" || repo.S3.Endpoint != "minio.kubeflow:9000" || repo.S3.KeyFormat != artifact.KeyFormat ||
		repo.S3.AccessKeySecret.Name != artifact.DefaultCredentialsSecret || repo.S3.Insecure == nil || !*repo.S3.Insecure ||
		!repo.IsArchiveLogs() {
		t.Fatalf("config map:\n%s", out)
	}
	if code, _, _ := cli(t, "argo-repository", "--artifacts", "/tmp/x"); code != 2 {
		t.Fatalf("a directory store exited %d", code)
	}
}

// TestClustersCommand registers clusters in the metadata store and refuses
// an unknown one for run --cluster (the runs landing on them are tested
// against the e2e cluster: TestRunsLandWhereSent).
func TestClustersCommand(t *testing.T) {
	t.Setenv("KUBELINE_HOME", t.TempDir())
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: ctx, context: {cluster: c, user: u, namespace: team-x}}]
current-context: ctx
`), 0o644)
	steps := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"clusters", "add", "a", "--kubeconfig", kc, "--namespace", "team-a"}, 0, "cluster a added"},
		{[]string{"clusters", "add", "b", "--kubeconfig", kc, "--context", "ctx"}, 0, "cluster b added"},
		{[]string{"clusters", "add", "a", "--kubeconfig", kc}, 1, "cluster a: already exists"},
		{[]string{"clusters", "add", "c", "--kubeconfig", kc, "--context", "nope"}, 1, `context "nope" does not exist`},
		{[]string{"clusters", "list"}, 0, "team-a"},
		{[]string{"run", "--cluster", "nope", "../../examples/hello-params/pipeline.yaml"}, 1, "--cluster: cluster nope: not found"},
		{[]string{"clusters", "remove", "a"}, 0, "cluster a removed"},
		{[]string{"clusters", "remove", "a"}, 1, "not found"},
	}
	for _, s := range steps {
		code, out, errOut := cli(t, s.args...)
		if code != s.code || !strings.Contains(out+errOut, s.want) {
			t.Fatalf("kubeline %v: exit %d, want %d and %q\n%s%s", s.args, code, s.code, s.want, out, errOut)
		}
	}
}

// TestRunVersionFlagChecked: `--version TASK.OUTPUT=model:NAME` naming a
// task or output the pipeline does not have is an error before anything
// runs (it used to be ignored: exit 0, no version), as an unknown --param
// is; every wrong mapping is named at once.
func TestRunVersionFlagChecked(t *testing.T) {
	home := t.TempDir()
	pipeline, err := filepath.Abs("../../examples/train-model/pipeline.yaml")
	require.NoError(t, err)
	r := kubelineIn(t, t.TempDir(), []string{"KUBELINE_HOME=" + home}, "run", pipeline,
		"--version", "trian.model=model:m", "--version", "train.modl=model:m", "--version", "train.model=model:m")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, `--version trian.model=model:m: the pipeline has no task "trian" (tasks: evaluate, importer, train)`)
	assert.Contains(t, r.stderr, `--version train.modl=model:m: task train has no output artifact "modl" (its output artifacts: model)`)
	assert.NotContains(t, r.stderr, "train.model=model:m:")
	assert.NotContains(t, r.stderr, "Succeeded", "steps ran")
	_, err = os.Stat(filepath.Join(home, "runs"))
	assert.True(t, os.IsNotExist(err), "the run started")

	r = kubelineIn(t, t.TempDir(), []string{"KUBELINE_HOME=" + home}, "run", pipeline, "--param", "nope=1")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "nope")
}

// TestLineageAsATree runs the train-model example as its README does and
// reads the lineage as a user: the text is a tree from the version through
// the task that made it (with its run's display name and id) to the
// dataset; the SVG's boxes carry each run's parameters, metrics and the
// version it made.
func TestLineageAsATree(t *testing.T) {
	home, cwd := t.TempDir(), t.TempDir()
	env := []string{"KUBELINE_HOME=" + home}
	rows := filepath.Join(cwd, "rows.txt")
	require.NoError(t, os.WriteFile(rows, []byte("a\nb\nc\nd\n"), 0o644))
	pipeline := absPath(t, "../../examples/train-model/pipeline.yaml")
	for _, args := range [][]string{{"datasets", "create", "d", "--from", rows}, {"run", pipeline, "--param", "lr=0.1"}, {"run", pipeline, "--param", "lr=0.2"}} {
		r := kubelineIn(t, cwd, env, args...)
		require.Equal(t, 0, r.code, "%q: %s", args, r.stderr)
	}
	r := kubelineIn(t, cwd, env, "lineage", "model", "m@v2")
	require.Equal(t, 0, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 4, r.stdout)
	assert.Equal(t, "model m@v2", lines[0])
	assert.Regexp(t, `^└─ made by task train \(fail=false lr=0\.2\) in run "pipeline\.yaml train-model" \([0-9a-f-]{36}\) Succeeded$`, lines[1])
	assert.Equal(t, "   ├─ input artifact imported from dataset d@v1", lines[2])
	assert.Regexp(t, `^   └─ input artifact from task importer \(uri=.*\) in run "pipeline\.yaml train-model" \([0-9a-f-]{36}\) Succeeded$`, lines[3])

	r = kubelineIn(t, cwd, env, "lineage", "dataset", "d@v1", "-o", "svg")
	require.Equal(t, 0, r.code, r.stderr)
	for _, text := range []string{">lr=0.1<", ">lr=0.2<", ">made m@v1<", ">made m@v2<", ">evaluate.accuracy="} {
		assert.Contains(t, r.stdout, text)
	}
}
