package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	chpo "github.com/kubeline/kubeline/compiler/hpo"
	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/artifact/s3test"
	"github.com/kubeline/kubeline/runtime/hpo"
	"github.com/kubeline/kubeline/runtime/launcher"
)

type hpoResult struct {
	Workflow string     `json:"workflow"`
	Status   hpo.Status `json:"status"`
}

// runExperiment runs `kubeline hpo run -o json` on an Experiment whose trial
// pipeline is the example's pipeline.yaml, on the embedded engine (real
// processes), and returns the exit code, the status and the trial records.
func runExperiment(t *testing.T, experiment string) (int, hpoResult, []hpo.Record, string) {
	t.Helper()
	home, dir := t.TempDir(), t.TempDir()
	t.Setenv("KUBELINE_HOME", home)
	train, err := os.ReadFile("../../examples/hpo/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"pipeline.yaml": train, "experiment.yaml": []byte(experiment)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var stdout, stderr bytes.Buffer
	plot := filepath.Join(dir, "plot.svg")
	code := run([]string{"hpo", "run", "-o", "json", "--plot", plot, filepath.Join(dir, "experiment.yaml")}, nil, &stdout, &stderr)
	var res hpoResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("exit %d, -o json: %v\n%s\n%s", code, err, stdout.String(), stderr.String())
	}
	records, err := experimentRecords(home)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(plot); err != nil {
		t.Fatalf("no plot: %v", err)
	}
	return code, res, records, stderr.String()
}

func lastCondition(st hpo.Status) hpo.Condition { return st.Conditions[len(st.Conditions)-1] }

// TestExperimentReachesGoal runs the example: Bayesian optimisation over
// the training pipeline whose loss is (x-2)^2 + (y+1)^2 reaches loss ≤ 0.5.
func TestExperimentReachesGoal(t *testing.T) {
	src, err := os.ReadFile("../../examples/hpo/experiment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	code, res, records, stderr := runExperiment(t, string(src))
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	c := lastCondition(res.Status)
	if c.Type != hpo.ConditionSucceeded || c.Reason != hpo.ReasonGoalReached {
		t.Fatalf("ended %s %s: %s", c.Type, c.Reason, c.Message)
	}
	if res.Status.Trials >= 30 || res.Status.Trials != len(records) || res.Status.TrialsSucceeded != res.Status.Trials {
		t.Fatalf("status counts %+v for %d records", res.Status, len(records))
	}
	best := res.Status.CurrentOptimalTrial
	params := map[string]float64{}
	for _, p := range best.ParameterAssignments {
		params[p.Name], _ = strconv.ParseFloat(p.Value, 64)
	}
	want := math.Pow(params["x"]-2, 2) + math.Pow(params["y"]+1, 2)
	got, _ := strconv.ParseFloat(best.Observation.Metrics[0].Min, 64)
	if got > 0.5 || math.Abs(got-want) > 1e-5 {
		t.Fatalf("best trial %s reports loss %g; the function gives %g at %v", best.BestTrialName, got, want, params)
	}
	// Every trial's value is the known function of its own parameters.
	for _, r := range records {
		x, _ := strconv.ParseFloat(r.Params["x"], 64)
		y, _ := strconv.ParseFloat(r.Params["y"], 64)
		if f := math.Pow(x-2, 2) + math.Pow(y+1, 2); math.Abs(r.Value-f) > 1e-5 || len(r.Metrics["loss"]) != 5 {
			t.Fatalf("trial %s: value %g with %d reports, want %g with 5", r.Name, r.Value, len(r.Metrics["loss"]), f)
		}
	}
	if !strings.Contains(stderr, "TRIAL") || !strings.Contains(stderr, best.BestTrialName) {
		t.Fatalf("no live trial table on stderr:\n%s", stderr)
	}
}

// TestExperimentMedianStop: three good trials complete, then a clearly bad
// one (x=9) is stopped by medianstop while it trains.
func TestExperimentMedianStop(t *testing.T) {
	code, res, records, stderr := runExperiment(t, `apiVersion: kubeline.io/v1alpha1
kind: Experiment
metadata: {name: median}
spec:
  objective: {type: minimize, objectiveMetricName: loss}
  algorithm: {algorithmName: grid}
  earlyStopping:
    algorithmName: medianstop
    algorithmSettings: [{name: min_trials_required, value: "2"}, {name: start_step, value: "2"}]
  parallelTrialCount: 1
  maxTrialCount: 4
  parameters:
  - {name: x, parameterType: discrete, feasibleSpace: {list: ["2", "2.5", "2.2", "9"]}}
  trialTemplate:
    pipelineFile: pipeline.yaml
    trialParameters: [{name: x, reference: x}]
    parameters: {x: "${trialParameters.x}", epochs: "8", pause: "0.2"}
`)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if len(records) != 4 {
		t.Fatalf("%d trials", len(records))
	}
	for _, r := range records[:3] {
		if r.State != hpo.Succeeded || len(r.Metrics["loss"]) != 8 {
			t.Fatalf("trial %s (x=%s) %s with %d reports, want Succeeded with 8", r.Name, r.Params["x"], r.State, len(r.Metrics["loss"]))
		}
	}
	bad := records[3]
	if bad.Params["x"] != "9" || bad.State != hpo.EarlyStopped || len(bad.Metrics["loss"]) >= 8 || len(bad.Metrics["loss"]) < 2 {
		t.Fatalf("trial %s (x=%s) %s after %d reports, want EarlyStopped after 2..7", bad.Name, bad.Params["x"], bad.State, len(bad.Metrics["loss"]))
	}
	if res.Status.TrialsEarlyStopped != 1 || lastCondition(res.Status).Reason != hpo.ReasonMaxTrials {
		t.Fatalf("status %+v", res.Status)
	}
}

// TestExperimentMaxFailedTrials: every trial's training diverges; the
// experiment fails once the failures exceed maxFailedTrialCount.
func TestExperimentMaxFailedTrials(t *testing.T) {
	code, res, records, stderr := runExperiment(t, `apiVersion: kubeline.io/v1alpha1
kind: Experiment
metadata: {name: diverge}
spec:
  objective: {type: minimize, objectiveMetricName: loss}
  algorithm: {algorithmName: random, algorithmSettings: [{name: random_state, value: "1"}]}
  parallelTrialCount: 1
  maxTrialCount: 8
  maxFailedTrialCount: 2
  parameters:
  - {name: x, parameterType: double, feasibleSpace: {min: "0", max: "4"}}
  trialTemplate:
    pipelineFile: pipeline.yaml
    trialParameters: [{name: x, reference: x}]
    parameters: {x: "${trialParameters.x}", fail_above: "-100"}
`)
	if code != 1 {
		t.Fatalf("a failed experiment exited %d\n%s", code, stderr)
	}
	c := lastCondition(res.Status)
	if c.Type != hpo.ConditionFailed || c.Reason != hpo.ReasonFailed || !strings.Contains(c.Message, "maxFailedTrialCount 2") {
		t.Fatalf("ended %+v", c)
	}
	if len(records) != 3 || res.Status.TrialsFailed != 3 {
		t.Fatalf("%d trials, status %+v; want 3 failed", len(records), res.Status)
	}
	if !strings.Contains(stderr, "training diverged") || !strings.Contains(stderr, "ExperimentFailed") {
		t.Fatalf("stderr does not say why:\n%s", stderr)
	}
}

// TestExperimentTrialFromServer: the trial pipeline is a pipeline version
// uploaded to a real kubeline server (over HTTP), named by
// pipelineVersionReference; the experiment is reproducible from its seed.
func TestExperimentTrialFromServer(t *testing.T) {
	t.Setenv("KUBELINE_HOME", t.TempDir())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serve(ctx, l, "", storeFlags{}, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	api := "http://" + l.Addr().String()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("uploadfile", "pipeline.yaml")
	train, err := os.ReadFile("../../examples/hpo/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(train)
	mw.Close()
	resp, err := http.Post(api+"/apis/v2beta1/pipelines/upload?name=train", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		PipelineID string `json:"pipeline_id"`
	}
	json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	resp, err = http.Get(api + "/apis/v2beta1/pipelines/" + p.PipelineID + "/versions")
	if err != nil {
		t.Fatal(err)
	}
	var vs struct {
		Versions []struct {
			ID string `json:"pipeline_version_id"`
		} `json:"pipeline_versions"`
	}
	json.NewDecoder(resp.Body).Decode(&vs)
	resp.Body.Close()
	if p.PipelineID == "" || len(vs.Versions) != 1 {
		t.Fatalf("upload gave pipeline %q with versions %+v", p.PipelineID, vs)
	}
	src, err := os.ReadFile("../../examples/hpo/experiment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	exp := strings.Replace(string(src), "    pipelineFile: pipeline.yaml\n",
		"    pipelineVersionReference: {pipelineId: "+p.PipelineID+", pipelineVersionId: "+vs.Versions[0].ID+"}\n", 1)
	dir := t.TempDir()
	file := filepath.Join(dir, "experiment.yaml")
	if err := os.WriteFile(file, []byte(exp), 0o644); err != nil {
		t.Fatal(err)
	}
	runOnce := func(server string) (int, []string, string) {
		t.Setenv("KUBELINE_HOME", t.TempDir())
		var stdout, stderr bytes.Buffer
		code := run([]string{"hpo", "run", "--server", server, "--plot", filepath.Join(dir, "p.svg"), file}, nil, &stdout, &stderr)
		var params []string
		if records, err := experimentRecords(os.Getenv("KUBELINE_HOME")); err == nil {
			for _, r := range records {
				params = append(params, r.Name+" x="+r.Params["x"]+" y="+r.Params["y"])
			}
		}
		return code, params, stdout.String() + stderr.String()
	}
	code, first, out := runOnce(api)
	if code != 0 || !strings.Contains(out, "ExperimentGoalReached") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	code, second, out := runOnce(api)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if d := cmp.Diff(first, second); d != "" || len(first) < 4 {
		t.Fatalf("the same random_state gave different trials (-first +second):\n%s", d)
	}
	if code, _, out := runOnce(""); code != 1 || !strings.Contains(out, "needs a kubeline server (--server URL)") {
		t.Fatalf("without --server: exit %d\n%s", code, out)
	}
	if code, _, out := runOnce(api + "/nowhere"); code != 1 || !strings.Contains(out, "404") {
		t.Fatalf("a wrong server: exit %d\n%s", code, out)
	}
}

// TestSuggestContract: the compiled suggest step and the launcher that runs
// it name its outputs alike (compiler/ may not import runtime/).
func TestSuggestContract(t *testing.T) {
	got := []string{chpo.SuggestTrials, chpo.SuggestDone, chpo.TrialItem}
	want := []string{launcher.SuggestTrials, launcher.SuggestDone, launcher.TrialItem}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatal(d)
	}
}

// experimentRecords reads the trial records of the one experiment run under
// home.
func experimentRecords(home string) ([]hpo.Record, error) {
	objects := artifact.Dir{Root: filepath.Join(home, "artifacts")}
	matches, _ := filepath.Glob(filepath.Join(home, "artifacts", "kubeline", "hpo", "*"))
	if len(matches) != 1 {
		return nil, fmt.Errorf("want one experiment's records, found %v", matches)
	}
	return launcher.ReadRecords(context.Background(), objects, filepath.Base(matches[0]))
}

// TestExperimentOverS3: the example experiment with every artifact and
// experiment record in a real S3 server.
func TestExperimentOverS3(t *testing.T) {
	t.Setenv("KUBELINE_HOME", t.TempDir())
	gw := s3test.Start(t)
	plot := filepath.Join(t.TempDir(), "p.svg")
	code, out, errOut := cli(t, "hpo", "run", "-o", "json", "--plot", plot, "--artifacts", "minio://hpo",
		"--s3-endpoint", gw.Endpoint, "--s3-access-key", gw.Access, "--s3-secret-key", gw.Secret, "--s3-region", gw.Region,
		"../../examples/hpo/experiment.yaml")
	var res hpoResult
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if c := lastCondition(res.Status); c.Reason != hpo.ReasonGoalReached || res.Status.TrialsSucceeded < 4 {
		t.Fatalf("status %+v", res.Status)
	}
	s, err := artifact.NewS3(artifact.S3Config{Endpoint: gw.Endpoint, Bucket: "hpo", AccessKey: gw.Access, SecretKey: gw.Secret, Region: gw.Region})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := s.List(context.Background(), "kubeline/hpo/")
	if err != nil {
		t.Fatal(err)
	}
	trials := 0
	for _, o := range objs {
		if strings.Contains(o.Key, "/trials/") {
			trials++
		}
	}
	if trials != res.Status.Trials {
		t.Fatalf("%d trial records in S3 for %d trials", trials, res.Status.Trials)
	}
	if _, err := os.Stat(filepath.Join(os.Getenv("KUBELINE_HOME"), "artifacts")); err == nil {
		t.Fatal("the experiment wrote to the local artifact directory")
	}
}

// TestHPOPlotInRunDirectory runs `kubeline hpo run` as a user does, without
// --plot: the plot goes under the run's directory in KUBELINE_HOME and its
// path is printed; the working directory stays as it was (quadratic.svg was
// left in the repository).
func TestHPOPlotInRunDirectory(t *testing.T) {
	home, dir, cwd := t.TempDir(), t.TempDir(), t.TempDir()
	train, err := os.ReadFile("../../examples/hpo/pipeline.yaml")
	require.NoError(t, err)
	src, err := os.ReadFile("../../examples/hpo/experiment.yaml")
	require.NoError(t, err)
	experiment := strings.Replace(strings.Replace(string(src), "maxTrialCount: 30", "maxTrialCount: 2", 1), "parallelTrialCount: 3", "parallelTrialCount: 2", 1)
	experiment = strings.Replace(experiment, "maxFailedTrialCount: 3", "maxFailedTrialCount: 1", 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pipeline.yaml"), train, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "experiment.yaml"), []byte(experiment), 0o644))
	r := kubelineIn(t, cwd, []string{"KUBELINE_HOME=" + home}, "hpo", "run", filepath.Join(dir, "experiment.yaml"))
	require.Equal(t, 0, r.code, r.stderr)
	m := regexp.MustCompile(`(?m)^plot: (.*)$`).FindStringSubmatch(r.stdout)
	require.NotNil(t, m, r.stdout)
	assert.Regexp(t, `^`+regexp.QuoteMeta(home)+`/runs/quadratic-[a-z0-9]+/quadratic\.svg$`, m[1])
	b, err := os.ReadFile(m[1])
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(b, []byte("<svg")))
	entries, _ := os.ReadDir(cwd)
	assert.Empty(t, entries, "hpo run wrote into the working directory")
}
