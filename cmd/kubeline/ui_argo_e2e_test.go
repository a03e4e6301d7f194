//go:build e2e

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeline/kubeline/e2e/cluster"
	"github.com/kubeline/kubeline/runtime/apiserver"
	"github.com/kubeline/kubeline/runtime/artifact"
)

// startOnArgoUI starts `kubeline server --engine argo --ui` on namespace n
// and the Pipelines UI's own Node server for it, configured as a KFP
// deployment configures it: the Kubernetes API (in-cluster there, the
// cluster's kubeconfig here) in the namespace the runs' pods are in, and
// the bucket Argo's artifact repository names (artifacts, archived logs).
// It returns kubeline's client and the Node server's address.
func startOnArgoUI(t *testing.T, n *cluster.Namespace, acc accessFlags, log io.Writer) (*apiClient, string) {
	t.Helper()
	c := startOnArgoWith(t, n, acc, uiBuild, log)
	ui := startUINode(t, strings.TrimPrefix(c.server, "http://"), n.S3, n.Bucket,
		"KUBECONFIG="+n.Kubeconfig, "FRONTEND_SERVER_NAMESPACE="+n.Name)
	return c, ui
}

// createPipelineRun starts a run of the pipeline's latest version through
// the KFP API.
func createPipelineRun(t *testing.T, c *apiClient, pipelineID, experimentID, name string, params map[string]any) string {
	t.Helper()
	var r map[string]any
	if err := c.call("POST", "/apis/v2beta1/runs", map[string]any{"display_name": name, "experiment_id": experimentID,
		"pipeline_version_reference": map[string]any{"pipeline_id": pipelineID},
		"runtime_config":             map[string]any{"parameters": params}}, &r); err != nil {
		t.Fatal(err)
	}
	return r["run_id"].(string)
}

// uploadPipelineAs uploads the pipeline file path as c's caller.
func uploadPipelineAs(t *testing.T, c *apiClient, path, name string) string {
	t.Helper()
	body, contentType := pipelineForm(t, path)
	raw, err := c.send(c.http, "POST", "/apis/v2beta1/pipelines/upload?name="+name, contentType, body)
	if err != nil {
		t.Fatalf("upload %s: %v", path, err)
	}
	var p map[string]any
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	return p["pipeline_id"].(string)
}

// taskPods are the pods of a run's tasks by display name, from its task
// details (what the UI asks logs by).
func taskPods(t *testing.T, c *apiClient, id string) map[string]string {
	t.Helper()
	var run struct {
		Details struct {
			Tasks []struct {
				Name string `json:"display_name"`
				Pod  string `json:"pod_name"`
			} `json:"task_details"`
		} `json:"run_details"`
	}
	if err := c.call("GET", "/apis/v2beta1/runs/"+id, nil, &run); err != nil {
		t.Fatal(err)
	}
	pods := map[string]string{}
	for _, task := range run.Details.Tasks {
		if task.Pod != "" {
			pods[task.Name] = task.Pod
		}
	}
	return pods
}

// readObject is an object of n's bucket ("" and the error when missing).
func readObject(t *testing.T, n *cluster.Namespace, key string) (string, error) {
	t.Helper()
	rc, _, err := n.Store(t, n.Bucket).Get(context.Background(), key)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return string(b), err
}

// podLog is what the main container of a pod printed, asked of the
// Kubernetes API.
func podLog(t *testing.T, n *cluster.Namespace, pod string) string {
	t.Helper()
	b, err := n.Kube.CoreV1().Pods(n.Name).GetLogs(pod, &corev1.PodLogOptions{Container: "main"}).DoRaw(context.Background())
	if err != nil {
		t.Fatalf("log of pod %s: %v", pod, err)
	}
	return string(b)
}

// deletePod deletes a pod and waits until it is gone.
func deletePod(t *testing.T, n *cluster.Namespace, pod string) {
	t.Helper()
	ctx := context.Background()
	zero := int64(0)
	if err := n.Kube.CoreV1().Pods(n.Name).Delete(ctx, pod, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(250 * time.Millisecond) {
		if _, err := n.Kube.CoreV1().Pods(n.Name).Get(ctx, pod, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pod %s is still there a minute after its deletion", pod)
		}
	}
}

// objectKey is the key of the one object of n's bucket under prefix whose
// key holds part.
func objectKey(t *testing.T, n *cluster.Namespace, prefix, part string) string {
	t.Helper()
	objs, err := n.Store(t, n.Bucket).List(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		if strings.Contains(o.Key, part) {
			keys = append(keys, o.Key)
		}
	}
	if len(keys) != 1 {
		t.Fatalf("objects under %s with %q: %v, want one", prefix, part, keys)
	}
	return keys[0]
}

// TestServerOnArgoPipelinesUI (issue 18, acceptance 2 through the real
// Pipelines UI): `kubeline server --engine argo --ui` on the e2e cluster,
// with the UI's own Node server beside it. Runs created through the KFP API
// run in pods on the real node: the KFP SDK pipeline with an If/Else, a
// ParallelFor, output parameters and an artifact, one whose step raises,
// train-model with a dataset version, and a step that prints and sleeps.
// The log routes of both the UI's Node server and kubeline (--ui) serve a
// running step's log from its pod (nothing is archived yet). In headless
// Chromium, on both UIs: the run details graph with every node's state and
// no error banner; the Logs tab with what the step printed in its pod,
// while the pod exists and, once it is deleted, from the log Argo's
// executor archived in S3 (archiveLogs); the task panel's output
// parameters and artifact previews (the bytes the pods wrote to S3); the
// failed run's failed step and what it raised; the Artifacts and
// Executions pages.
func TestServerOnArgoPipelinesUI(t *testing.T) {
	n := cluster.New(t, "ui", "mlpipeline")
	c, ui := startOnArgoUI(t, n, accessFlags{}, io.Discard)
	var exp map[string]any
	if err := c.call("POST", "/apis/v2beta1/experiments", map[string]any{"display_name": "argo-ui"}, &exp); err != nil {
		t.Fatal(err)
	}
	expID := exp["experiment_id"].(string)
	demo, fails := uploadPipeline(t, c.server, sdkDemo, "ui-demo"), uploadPipeline(t, c.server, sdkFail, "ui-fails")
	okRun := createPipelineRun(t, c, demo, expID, "conditional run", map[string]any{"n": 4})
	failRun := createPipelineRun(t, c, fails, expID, "failing run", nil)
	uploadRows(t, c, "d", "a\nb\nc\nd\n")
	trainRun := createFileRun(t, c, "../../examples/train-model/pipeline.yaml", map[string]any{"data": "dataset://d@v1", "lr": 0.1})
	held := createFileRun(t, c, "testdata/printhold.yaml", nil)
	p := &page{t: t, ctx: browser(t), ui: ui}

	// A running step: its log is read from its pod (nothing is archived
	// before the pod ends), by the Node server and by kubeline's route.
	waitRunState(t, c, held, "RUNNING")
	waitPodRunning(t, n, apiserver.WorkflowName(held))
	var holdPod string
	for deadline := time.Now().Add(time.Minute); holdPod == ""; time.Sleep(250 * time.Millisecond) {
		holdPod = taskPods(t, c, held)["print-hold"]
		if time.Now().After(deadline) {
			t.Fatalf("run %s's task details name no pod of print-hold", held)
		}
	}
	printed := "printed in the pod " + holdPod[:min(len(holdPod), 63)]
	for deadline := time.Now().Add(time.Minute); !strings.Contains(podLog(t, n, holdPod), printed); time.Sleep(250 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("pod %s did not print %q: %q", holdPod, printed, podLog(t, n, holdPod))
		}
	}
	if _, err := readObject(t, n, artifact.LogKey(apiserver.WorkflowName(held), holdPod)); !errors.Is(err, artifact.ErrNotFound) {
		t.Fatalf("a running step's log is archived already (%v): the test would not show the pod's", err)
	}
	for _, side := range []struct{ name, ui string }{{"node-ui", ui}, {"kubeline-ui", c.server}} {
		if code, body := get(t, side.ui+"/k8s/pod/logs?runid="+held+"&podname="+holdPod, ""); code != 200 || !strings.Contains(body, printed) {
			t.Errorf("%s: the running step's log: %d %q, want %q", side.name, code, body, printed)
		}
	}

	// The ended runs, each in pods on the real node.
	waitRunState(t, c, okRun, "SUCCEEDED")
	waitRunState(t, c, trainRun, "SUCCEEDED")
	waitRunState(t, c, failRun, "FAILED")
	if ran := mainExits(t, n, apiserver.WorkflowName(okRun)); len(ran) < 5 || slices.ContainsFunc(ran, func(c int32) bool { return c != 0 }) {
		t.Fatalf("the conditional run's main containers exited %v, want five or more steps exiting 0\n%s", ran, n.Pods(apiserver.WorkflowName(okRun)))
	}
	if ran := mainExits(t, n, apiserver.WorkflowName(failRun)); !slices.ContainsFunc(ran, func(c int32) bool { return c != 0 }) {
		t.Fatalf("the failing run's main containers exited %v, want one failing\n%s", ran, n.Pods(apiserver.WorkflowName(failRun)))
	}
	okWF := apiserver.WorkflowName(okRun)
	pods := taskPods(t, c, okRun)
	makeData := pods["make-data"]
	if makeData == "" {
		t.Fatalf("the conditional run's task details name no pod of make-data: %v", pods)
	}
	// What the pods wrote: make-data's log (archived by Argo's executor
	// under kubeline's keys) and train's model.
	if log := podLog(t, n, makeData); !strings.Contains(log, "making 4 rows") {
		t.Fatalf("make-data's pod printed %q, want making 4 rows", log)
	}
	if log, err := readObject(t, n, artifact.LogKey(okWF, makeData)); err != nil || !strings.Contains(log, "making 4 rows") {
		t.Fatalf("make-data's archived log %s: %q %v (is archiveLogs on in the artifact repository?)", artifact.LogKey(okWF, makeData), log, err)
	}
	if model, err := readObject(t, n, objectKey(t, n, "kubeline/"+okWF+"/"+pods["train"]+"/", "/model/data")); err != nil || model != "sum=6" {
		t.Fatalf("train's model in S3: %q %v, want sum=6", model, err)
	}

	runDetails := func(name string) {
		t.Helper()
		p.open(name, "/runs/details/"+okRun, "make-data", "train", "condition-branches-1", "for-loop-5")
		p.waitFor("every node's state", func() bool {
			var active, unknown int
			p.eval(`document.querySelectorAll('[data-testid="execution-icon-active"]').length`, &active)
			p.eval(`document.querySelectorAll('[data-testid="execution-icon-default"]').length`, &unknown)
			return active >= 5 && unknown == 0
		})
		p.check()
	}
	logs := func(name, node string, want ...string) {
		t.Helper()
		p.clickNode(node)
		p.waitText("Input/Output", "Logs")
		p.clickText("Logs")
		p.waitText(want...)
		p.name = name
		p.check()
	}
	task := func(name, node string, want ...string) {
		t.Helper()
		p.clickNode(node)
		p.waitText("Input/Output")
		p.clickText("Input/Output")
		p.waitText(want...)
		p.name = name
		p.check()
	}
	for _, side := range []struct{ name, ui string }{{"node-ui", ui}, {"kubeline-ui", c.server}} {
		p.ui = side.ui
		runDetails(side.name + "-run-details")
		logs(side.name+"-logs", "make-data", "making 4 rows")
		task(side.name+"-task", "train", "Input Artifacts", "Output Parameters", "model", "sum=6")
	}

	// The pod gone, its log comes from Argo's archive in S3: on the Node
	// server through the workflow's main-logs artifact, on kubeline's
	// route by its key.
	deletePod(t, n, makeData)
	for _, side := range []struct{ name, ui string }{{"node-ui", ui}, {"kubeline-ui", c.server}} {
		p.ui = side.ui
		runDetails(side.name + "-run-details-pod-gone")
		logs(side.name+"-logs-archived", "make-data", "making 4 rows")
	}
	p.ui = ui

	// train-model: the model the train pod wrote, its preview.
	p.open("node-ui-train-model", "/runs/details/"+trainRun, "importer", "train", "evaluate")
	p.check()
	task("node-ui-train-model-task", "train", "Output Artifacts", "model", fmt.Sprintf("weights %.6f", 4*0.1))

	// The failed run: its failed step, and what it raised in its pod.
	p.open("node-ui-failed-run", "/runs/details/"+failRun, "flip", "fail")
	p.waitFor("the failed step's state", func() bool {
		var red int
		p.eval(`document.querySelectorAll('.text-mui-red-600').length`, &red)
		return red > 0
	})
	p.check()
	logs("node-ui-failed-logs", "fail", "RuntimeError", "this step fails on purpose")

	p.open("node-ui-artifacts", "/artifacts", "system.Dataset", "system.Model")
	p.check()
	p.open("node-ui-executions", "/executions", "system.ContainerExecution")
	p.check()

	if err := c.call("POST", "/apis/v2beta1/runs/"+held+":terminate", nil, nil); err != nil {
		t.Fatal(err)
	}
}

// get is a GET of u with a bearer token: its status and body.
func get(t *testing.T, u, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestServerOnArgoUIGroups: on a multi-user `kubeline server --engine argo
// --ui`, the Pipelines UI routes serve a group's member the step logs (from
// Argo's archive, and from the pod once the archive is gone) and artifact
// previews of the group's run that ran in pods; a member of another group
// gets 404 for each, the answer a run or object that does not exist gets.
func TestServerOnArgoUIGroups(t *testing.T) {
	n := cluster.New(t, "uigroups", "mlpipeline")
	log := &lockedBuffer{}
	c, _ := startOnArgoUI(t, n, accessFlags{multiUser: true}, log)
	m := regexp.MustCompile(`KUBELINE_TOKEN=(\S+)`).FindStringSubmatch(log.String())
	if m == nil {
		t.Fatalf("no bootstrap token in the server's log:\n%s", log)
	}
	op := []string{"--server", c.server, "--token", m[1]}
	tokens := map[string]string{}
	for _, u := range []struct{ user, group string }{{"ann", "ga"}, {"bob", "gb"}} {
		for _, args := range [][]string{{"groups", "create", u.group}, {"users", "create", u.user, "--roles", "ds,ml", "--groups", u.group}} {
			if code, out, errs := kl(append(args, op...)...); code != 0 {
				t.Fatalf("kubeline %v: %d %s%s", args, code, out, errs)
			}
		}
		code, tok, errs := kl(append([]string{"users", "create-token", u.user}, op...)...)
		if code != 0 {
			t.Fatalf("create-token %s: %s", u.user, errs)
		}
		tokens[u.user] = strings.TrimSpace(tok)
	}
	ann := &apiClient{server: c.server, token: tokens["ann"], http: http.DefaultClient}
	id := createPipelineRun(t, ann, uploadPipelineAs(t, ann, sdkDemo, "demo"), "", "ann's run", map[string]any{"n": 3})
	waitRunState(t, ann, id, "SUCCEEDED")
	wf := apiserver.WorkflowName(id)
	pods := taskPods(t, ann, id)
	makeData := pods["make-data"]
	if makeData == "" {
		t.Fatalf("ann's run's task details name no pod of make-data: %v", pods)
	}
	const missing = "00000000-0000-0000-0000-000000000000"
	logURL := func(run string) string {
		return c.server + "/k8s/pod/logs?runid=" + run + "&podname=" + makeData
	}
	hidden := func(what, u, missingU, real, fake string) {
		t.Helper()
		code, body := get(t, u, tokens["bob"])
		mcode, mbody := get(t, missingU, tokens["bob"])
		if code != 404 || mcode != 404 || strings.ReplaceAll(body, real, fake) != mbody {
			t.Errorf("bob (another group) %s: %d %q, want 404 as for a missing one: %d %q", what, code, body, mcode, mbody)
		}
	}
	// Archived by Argo's executor.
	if code, body := get(t, logURL(id), tokens["ann"]); code != 200 || !strings.Contains(body, "making 3 rows") {
		t.Errorf("ann reads her step's archived log: %d %q", code, body)
	}
	hidden("reads ann's archived step log", logURL(id), logURL(missing), id, missing)
	// The model's preview (the bytes train's pod wrote).
	key := objectKey(t, n, "kubeline/"+wf+"/"+pods["train"]+"/", "/model/data")
	fake := strings.ReplaceAll(key, wf, apiserver.WorkflowName(missing))
	preview := func(k string) string {
		return c.server + "/artifacts/get?source=minio&bucket=" + n.Bucket + "&key=" + url.QueryEscape(k) + "&peek=256"
	}
	if code, body := get(t, preview(key), tokens["ann"]); code != 200 || body != "sum=3" {
		t.Errorf("ann previews her model %s: %d %q, want sum=3", key, code, body)
	}
	hidden("previews ann's model", preview(key), preview(fake), key, fake)
	// The archive gone, the pod answers: ann gets it, bob does not.
	if err := n.Store(t, n.Bucket).Delete(context.Background(), artifact.LogKey(wf, makeData)); err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, logURL(id), tokens["ann"]); code != 200 || !strings.Contains(body, "making 3 rows") {
		t.Errorf("ann reads her step's log from its pod: %d %q", code, body)
	}
	hidden("reads ann's step log from its pod", logURL(id), logURL(missing), id, missing)
}
