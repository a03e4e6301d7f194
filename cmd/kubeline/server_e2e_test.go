//go:build e2e

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubeline/kubeline/e2e/cluster"
	"github.com/kubeline/kubeline/runtime/apiserver"
)

// startOnArgo starts `kubeline server --engine argo` on namespace n of the
// e2e cluster, its artifacts in n's S3 bucket (the one Argo's artifact
// repository names), and returns a client of its API.
func startOnArgo(t *testing.T, n *cluster.Namespace) *apiClient {
	t.Helper()
	return startOnArgoWith(t, n, accessFlags{}, "", io.Discard)
}

// startOnArgoWith is startOnArgo with access flags acc (--multi-user) and
// the Pipelines UI build ui served too (--ui; "" for none); what the
// server prints goes to log.
func startOnArgoWith(t *testing.T, n *cluster.Namespace, acc accessFlags, ui string, log io.Writer) *apiClient {
	t.Helper()
	t.Setenv("KUBELINE_HOME", t.TempDir())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	// The e2e cluster reaches no PyPI: KFP Python components run with the
	// builtin executor (--python-executor builtin).
	ctx = withCluster(ctx, clusterFlags{engine: engineFlags{engine: "argo", kubeconfig: n.Kubeconfig, namespace: n.Name, python: "builtin"}},
		slog.New(slog.DiscardHandler))
	if ui != "" {
		ctx = withUI(ctx, ui)
	}
	s3 := n.S3Config
	s3.Bucket = n.Bucket
	served := make(chan error, 1)
	go func() {
		served <- serveWith(ctx, l, "", storeFlags{url: "minio://" + n.Bucket, s3: s3}, acc, log)
	}()
	t.Cleanup(func() { cancel(); <-served })
	c := &apiClient{server: "http://" + l.Addr().String(), http: http.DefaultClient}
	for i := 0; c.call("GET", "/apis/v2beta1/healthz", nil, nil) != nil; i++ {
		if i > 500 {
			t.Fatal("the server did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return c
}

// createFileRun creates a run of the pipeline in file (a KFP IR document and
// its platform spec) through the KFP API.
func createFileRun(t *testing.T, c *apiClient, file string, params map[string]any) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var spec map[string]any
	docs := strings.Split(string(b), "\n---\n")
	if err := yaml.Unmarshal([]byte(docs[0]), &spec); err != nil {
		t.Fatal(err)
	}
	if len(docs) > 1 {
		var platform map[string]any
		yaml.Unmarshal([]byte(docs[1]), &platform)
		spec = map[string]any{"pipeline_spec": spec, "platform_spec": platform}
	}
	var run map[string]any
	body := map[string]any{"display_name": file, "pipeline_spec": spec}
	if params != nil {
		body["runtime_config"] = map[string]any{"parameters": params}
	}
	if err := c.call("POST", "/apis/v2beta1/runs", body, &run); err != nil {
		t.Fatal(err)
	}
	return run["run_id"].(string)
}

// waitRunState waits (up to 4 minutes: real pods) for a run to reach want.
func waitRunState(t *testing.T, c *apiClient, id, want string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(4 * time.Minute)
	for time.Now().Before(deadline) {
		var r map[string]any
		if err := c.call("GET", "/apis/v2beta1/runs/"+id, nil, &r); err != nil {
			t.Fatal(err)
		}
		switch r["state"] {
		case want:
			return r
		case "SUCCEEDED", "FAILED", "CANCELED":
			t.Fatalf("run %s ended %s, want %s: %v", id, r["state"], want, r["error"])
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("run %s not %s in time", id, want)
	return nil
}

// TestServerOnArgo: `kubeline server --engine argo` against the e2e
// cluster's real node. A run goes PENDING -> RUNNING -> SUCCEEDED through
// admission, its pod's containers really ran, and the KFP API lists it; a
// run whose step sleeps is stopped through the KFP API and ends CANCELED,
// its Workflow stopped on Argo and its step's container killed.
func TestServerOnArgo(t *testing.T) {
	n := cluster.New(t, "server", "mlpipeline")
	c := startOnArgo(t, n)
	ok := createFileRun(t, c, "../../../shared/kfp-corpus/ir/valid/hello_world.yaml", nil)
	waitRunState(t, c, ok, "SUCCEEDED")
	var run struct {
		StateHistory []struct{ State string } `json:"state_history"`
	}
	c.call("GET", "/apis/v2beta1/runs/"+ok, nil, &run)
	var states []string
	for _, h := range run.StateHistory {
		states = append(states, h.State)
	}
	if !slices.Contains(states, "PENDING") || !slices.Contains(states, "RUNNING") || states[len(states)-1] != "SUCCEEDED" {
		t.Fatalf("state history %v", states)
	}
	if ran := mainExits(t, n, apiserver.WorkflowName(ok)); !slices.Equal(ran, []int32{0}) {
		t.Fatalf("the run's pods' main containers exited %v, want one step exiting 0\n%s", ran, n.Pods(apiserver.WorkflowName(ok)))
	}
	var list struct {
		Runs []struct {
			ID string `json:"run_id"`
		} `json:"runs"`
	}
	c.call("GET", "/apis/v2beta1/runs", nil, &list)
	if !slices.ContainsFunc(list.Runs, func(r struct {
		ID string `json:"run_id"`
	}) bool {
		return r.ID == ok
	}) {
		t.Fatalf("the KFP list lacks run %s", ok)
	}

	held := createFileRun(t, c, "testdata/hold.yaml", nil)
	waitRunState(t, c, held, "RUNNING")
	wfName := apiserver.WorkflowName(held)
	waitPodRunning(t, n, wfName)
	if err := c.call("POST", "/apis/v2beta1/runs/"+held+":terminate", nil, nil); err != nil {
		t.Fatal(err)
	}
	waitRunState(t, c, held, "CANCELED")
	wf, err := versioned.NewForConfigOrDie(n.Config).ArgoprojV1alpha1().Workflows(n.Name).Get(context.Background(), wfName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if wf.Spec.Shutdown != wfv1.ShutdownStrategyStop || wf.Status.Phase != wfv1.WorkflowFailed {
		t.Fatalf("on Argo: shutdown %q, phase %s (%s)", wf.Spec.Shutdown, wf.Status.Phase, wf.Status.Message)
	}
	// The sleeping step was killed, not left running: its pod ended, or
	// (the kubelet updates the phase on a later sync, which under load
	// came more than a minute after) every container in it has.
	deadline := time.Now().Add(60 * time.Second)
	for {
		pods, _ := n.Kube.CoreV1().Pods(n.Name).List(context.Background(), metav1.ListOptions{LabelSelector: "workflows.argoproj.io/workflow=" + wfName})
		running := 0
		for _, p := range pods.Items {
			if (p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodPending) && !allTerminated(p) {
				running++
			}
		}
		if running == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stopped run's pod still runs a minute later\n%s", n.Pods(wfName))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// allTerminated says whether every container of pod p (init containers
// too) has a terminated state.
func allTerminated(p corev1.Pod) bool {
	statuses := append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
	if len(statuses) < len(p.Spec.InitContainers)+len(p.Spec.Containers) {
		return false
	}
	for _, c := range statuses {
		if c.State.Terminated == nil {
			return false
		}
	}
	return true
}

// mainExits is the exit code of every pod's main container of workflow wf.
func mainExits(t *testing.T, n *cluster.Namespace, wf string) []int32 {
	t.Helper()
	pods, err := n.Kube.CoreV1().Pods(n.Name).List(context.Background(), metav1.ListOptions{LabelSelector: "workflows.argoproj.io/workflow=" + wf})
	if err != nil {
		t.Fatal(err)
	}
	var codes []int32
	for _, p := range pods.Items {
		for _, s := range p.Status.ContainerStatuses {
			if s.Name == "main" && s.State.Terminated != nil {
				codes = append(codes, s.State.Terminated.ExitCode)
			}
		}
	}
	slices.Sort(codes)
	return codes
}

func waitPodRunning(t *testing.T, n *cluster.Namespace, wf string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		pods, _ := n.Kube.CoreV1().Pods(n.Name).List(context.Background(), metav1.ListOptions{LabelSelector: "workflows.argoproj.io/workflow=" + wf})
		for _, p := range pods.Items {
			for _, s := range p.Status.ContainerStatuses {
				if s.Name == "main" && s.State.Running != nil {
					return
				}
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("no step of %s runs\n%s", wf, n.Pods(wf))
}

// uploadRows makes a dataset version from content through the API.
func uploadRows(t *testing.T, c *apiClient, name, content string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("uploadfile", "rows.txt")
	io.WriteString(fw, content)
	mw.Close()
	res, err := http.Post(c.server+"/apis/kubeline/v1/datasets/"+name+"/versions:upload", mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("upload dataset %s: %d %s", name, res.StatusCode, raw)
	}
}

// TestServerOnArgoVersions: a training run created through the KFP API on
// `kubeline server --engine argo` runs in containers on the real node; the
// model its pod wrote (uploaded by Argo's executor to S3) becomes version
// m@v1 in the store, with the content the step computed and its lineage
// (dataset d@v1, lr); the run's task details (what the Pipelines UI
// shows) carry the steps' outputs.
func TestServerOnArgoVersions(t *testing.T) {
	n := cluster.New(t, "versions", "mlpipeline")
	c := startOnArgo(t, n)
	uploadRows(t, c, "d", "a\nb\nc\nd\n")
	id := createFileRun(t, c, "../../examples/train-model/pipeline.yaml", map[string]any{"data": "dataset://d@v1", "lr": 0.1})
	run := waitRunState(t, c, id, "SUCCEEDED")
	if ran := mainExits(t, n, apiserver.WorkflowName(id)); !slices.Equal(ran, []int32{0, 0, 0}) {
		t.Fatalf("main containers exited %v, want importer, train and evaluate exiting 0\n%s", ran, n.Pods(apiserver.WorkflowName(id)))
	}

	var v map[string]any
	if err := c.call("GET", "/apis/kubeline/v1/models/m/versions/latest", nil, &v); err != nil {
		t.Fatal(err)
	}
	if v["version"] != 1.0 || v["run_id"] != id {
		t.Fatalf("m@latest: %v", v)
	}
	// The version's content, read from S3: what the train step computed
	// (4 rows, lr 0.1).
	s3 := n.Store(t, n.Bucket)
	objs, err := s3.List(context.Background(), "kubeline/versions/models/m/")
	if err != nil {
		t.Fatal(err)
	}
	var content []string
	for _, o := range objs {
		if strings.HasSuffix(o.Key, "/"+o.SHA256) {
			rc, _, err := s3.Get(context.Background(), o.Key)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			content = append(content, string(b))
		}
	}
	if want := fmt.Sprintf("weights %.6f\nrows %d\n", 4*0.1, 4); !slices.Equal(content, []string{want}) {
		t.Fatalf("model m in S3: %q, want [%q]", content, want)
	}
	var lin map[string]any
	if err := c.call("GET", "/apis/kubeline/v1/models/m/versions/v1/lineage", nil, &lin); err != nil {
		t.Fatal(err)
	}
	raw := fmt.Sprint(lin)
	if !strings.Contains(raw, "dataset:d@v1") || !strings.Contains(raw, "lr:0.1") {
		t.Fatalf("lineage of m@v1 lacks d@v1 or lr=0.1: %s", raw)
	}
	// The task details the UI shows (KFP's shape: outputs by artifact id,
	// their values in ML Metadata): train's model and evaluate's metrics;
	// the metrics' value is what the evaluate pod wrote to S3.
	var details struct {
		Tasks []struct {
			Name    string         `json:"display_name"`
			Outputs map[string]any `json:"outputs"`
		} `json:"task_details"`
	}
	b, _ := json.Marshal(run["run_details"])
	json.Unmarshal(b, &details)
	outs := map[string][]string{}
	for _, task := range details.Tasks {
		for name := range task.Outputs {
			outs[task.Name] = append(outs[task.Name], name)
		}
		slices.Sort(outs[task.Name])
	}
	if !slices.Contains(outs["train"], "model") || !slices.Contains(outs["evaluate"], "metrics") {
		t.Fatalf("task details lack train's model or evaluate's metrics: %v", outs)
	}
	var metrics map[string]any
	if err := c.call("GET", "/apis/kubeline/v1/runs/"+id+"/metrics", nil, &metrics); err != nil {
		t.Fatal(err)
	}
	acc := 1 / (1 + (0.4-1)*(0.4-1))
	if got := fmt.Sprint(metrics); !strings.Contains(got, fmt.Sprintf("%.6f", acc)) && !strings.Contains(got, fmt.Sprint(acc)) {
		t.Fatalf("the run's metrics lack evaluate's accuracy %.6f: %s", acc, got)
	}
}

// TestIDEOnArgo (issue 21 on the real node): `kubeline server --engine
// argo` starts an IDE as an Argo workflow whose notebook step is a pod on
// the real node. The server reports the IDE Running only once it asked
// the pod's address and the pod's process answered; the URL it reports is
// the Service it put in front of the pod; the pod's address answers this
// test with what the process serves; a stop ends the workflow and kills
// the pod's process.
func TestIDEOnArgo(t *testing.T) {
	n := cluster.New(t, "ide", "mlpipeline")
	c := startOnArgo(t, n)
	ctx := context.Background()
	body := map[string]any{"name": "lab", "image": "python:3.12-slim", "command": []string{"sh", "-c",
		"mkdir -p /tmp/site && echo served by the IDE pod on port $(PORT) > /tmp/site/index.html && cd /tmp/site && exec python3 -m http.server $(PORT)"}}
	if err := c.call("POST", "/ides", body, nil); err != nil {
		t.Fatal(err)
	}
	var ide map[string]any
	for deadline := time.Now().Add(4 * time.Minute); ide["status"] != "Running"; time.Sleep(500 * time.Millisecond) {
		ide = nil
		if err := c.call("GET", "/ides/lab", nil, &ide); err != nil {
			t.Fatal(err)
		}
		if ide["status"] == "Error" || time.Now().After(deadline) {
			t.Fatalf("the IDE never ran: %v", ide)
		}
	}
	if want := "http://ide-lab." + n.Name + ".svc:8888/"; ide["url"] != want {
		t.Fatalf("url %v, want %s", ide["url"], want)
	}
	pods, err := n.Kube.CoreV1().Pods(n.Name).List(ctx, metav1.ListOptions{LabelSelector: "kubeline.io/ide=lab"})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("the IDE's pods: %v %v", pods, err)
	}
	pod := pods.Items[0]
	if pod.Spec.NodeName != "e2e-node" || pod.Status.PodIP == "" {
		t.Fatalf("the IDE's pod %s runs on node %q at %q, want the real node e2e-node", pod.Name, pod.Spec.NodeName, pod.Status.PodIP)
	}
	res, err := http.Get("http://" + net.JoinHostPort(pod.Status.PodIP, "8888") + "/")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if want := "served by the IDE pod on port 8888\n"; res.StatusCode != 200 || string(got) != want {
		t.Fatalf("the pod's address answered %d %q, want %q", res.StatusCode, got, want)
	}
	if _, err := n.Kube.CoreV1().Services(n.Name).Get(ctx, "ide-lab", metav1.GetOptions{}); err != nil {
		t.Fatalf("the IDE's Service: %v", err)
	}
	if err := c.call("POST", "/ides/lab:stop", nil, nil); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Minute); ide["status"] != "Stopped"; time.Sleep(500 * time.Millisecond) {
		ide = nil
		if err := c.call("GET", "/ides/lab", nil, &ide); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the IDE never stopped: %v", ide)
		}
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(500 * time.Millisecond) {
		p, err := n.Kube.CoreV1().Pods(n.Name).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil || (p.Status.Phase != corev1.PodRunning && p.Status.Phase != corev1.PodPending) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stopped IDE's pod still runs a minute later: %s", p.Status.Phase)
		}
	}
}
