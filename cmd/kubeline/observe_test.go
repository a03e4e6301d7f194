package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/kubeline/kubeline/runtime/admission"
)

// syncBuffer is a log written by the server while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// observedServer runs `kubeline server` in-process on a real loopback
// listener with JSON logs at debug level into logs, and the cluster's GPUs.
func observedServer(t *testing.T, gpus []admission.ClusterNode, logs io.Writer) string {
	t.Helper()
	t.Setenv("KUBELINE_HOME", t.TempDir())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := clusterFlags{logFormat: "json", logLevel: "debug"}
	logger, err := cl.logger(logs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(withCluster(context.Background(), cl, logger))
	served := make(chan error, 1)
	go func() { served <- serveWith(ctx, l, "", storeFlags{}, accessFlags{gpus: gpus}, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	u := "http://" + l.Addr().String()
	for i := 0; i < 500; i++ {
		if r, err := http.Get(u + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return u
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the server never became ready")
	return ""
}

// scrape reads /metrics and parses it as Prometheus text.
func scrape(t *testing.T, u string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(u + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %s, Content-Type %q", res.Status, res.Header.Get("Content-Type"))
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("/metrics is not Prometheus text: %v", err)
	}
	return fams
}

// series is the value of one series (a histogram's sample count) of a
// family, or -1 when it is missing; labels are name=value pairs.
func series(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.Metric {
		for _, kv := range labels {
			k, v, _ := strings.Cut(kv, "=")
			found := false
			for _, l := range m.Label {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// gauges are the run and queue series of a scrape, for one comparison.
func gauges(fams map[string]*dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for _, s := range []string{"Queued", "Starting", "Running", "Complete", "Stopping", "Stopped", "Error"} {
		out["runs "+s] = series(fams, "kubeline_runs", "status="+s)
	}
	out["queue default"] = series(fams, "kubeline_admission_queue_length", "pool=default")
	out["gpus default"] = series(fams, "kubeline_pool_gpus", "pool=default", "gpu_type=t4")
	out["in use default"] = series(fams, "kubeline_pool_gpus_in_use", "pool=default", "gpu_type=t4")
	out["store up"] = series(fams, "kubeline_store_up")
	return out
}

// gpuStepPipeline is a one-step KFP pipeline whose step needs gpus GPUs
// and runs script.
func gpuStepPipeline(gpus int, script string) map[string]any {
	var spec map[string]any
	_ = json.Unmarshal(fmt.Appendf(nil, `{
	"components": {"comp-train": {"executorLabel": "exec-train"}},
	"deploymentSpec": {"executors": {"exec-train": {"container": {"image": "alpine", "command": ["sh", "-c", %q],
		"resources": {"accelerator": {"resourceType": "nvidia.com/gpu", "resourceCount": "%d"}}}}}},
	"pipelineInfo": {"name": "train"},
	"root": {"dag": {"tasks": {"train": {"componentRef": {"name": "comp-train"}, "taskInfo": {"name": "train"}}}}},
	"schemaVersion": "2.1.0"}`, script, gpus), &spec)
	return spec
}

func postJSON(t *testing.T, u string, body any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	res, err := http.Post(u, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(raw, &out); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s %s", u, res.Status, raw)
	}
	return out
}

// waitRunStatus polls kubeline's view of a run until it has status want.
func waitRunStatus(t *testing.T, u, id, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		res, err := http.Get(u + "/apis/kubeline/v1/runs/" + id)
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		json.NewDecoder(res.Body).Decode(&v)
		res.Body.Close()
		if last, _ = v["status"].(string); last == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("run %s is %s, never %s", id, last, want)
}

// TestMetricsAfterRuns (issue 10, acceptance 3): a server with 2 t4 GPUs
// on a real listener. A 2-GPU run holds them until the test lets it end;
// a second 2-GPU run waits Queued. Scrapes of /metrics before, during and
// after show the run and queue series move: nothing; one Running, one
// Queued, pool queue 1 and 2 GPUs in use; then two Complete, the queue
// empty and no GPU in use — with both admission waits, both steps and both
// create-run requests observed. The JSON logs carry the run and task ids.
func TestMetricsAfterRuns(t *testing.T) {
	logs := &syncBuffer{}
	u := observedServer(t, []admission.ClusterNode{{Name: "n1", GPUType: "t4", GPUs: 2}}, logs)
	release := filepath.Join(t.TempDir(), "release")

	before := gauges(scrape(t, u))
	want := map[string]float64{"runs Queued": 0, "runs Starting": 0, "runs Running": 0, "runs Complete": 0,
		"runs Stopping": 0, "runs Stopped": 0, "runs Error": 0,
		"queue default": 0, "gpus default": 2, "in use default": 0, "store up": 1}
	if d := cmp.Diff(want, before); d != "" {
		t.Errorf("before any run (-want +got):\n%s", d)
	}

	first := postJSON(t, u+"/apis/v2beta1/runs", map[string]any{"display_name": "holds",
		"pipeline_spec": gpuStepPipeline(2, "while [ ! -f "+release+" ]; do sleep 0.05; done")})["run_id"].(string)
	waitRunStatus(t, u, first, "Running")
	second := postJSON(t, u+"/apis/v2beta1/runs", map[string]any{"display_name": "waits",
		"pipeline_spec": gpuStepPipeline(2, "true")})["run_id"].(string)
	waitRunStatus(t, u, second, "Queued")

	during := gauges(scrape(t, u))
	want["runs Running"], want["runs Queued"], want["queue default"], want["in use default"] = 1, 1, 1, 2
	if d := cmp.Diff(want, during); d != "" {
		t.Errorf("one run holding the GPUs, one queued (-want +got):\n%s", d)
	}

	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitRunStatus(t, u, first, "Complete")
	waitRunStatus(t, u, second, "Complete")

	fams := scrape(t, u)
	after := gauges(fams)
	want["runs Running"], want["runs Queued"], want["queue default"], want["in use default"] = 0, 0, 0, 0
	want["runs Complete"] = 2
	if d := cmp.Diff(want, after); d != "" {
		t.Errorf("both runs complete (-want +got):\n%s", d)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"kubeline_admission_wait_seconds", []string{"pool=default"}, 2},
		{"kubeline_step_duration_seconds", []string{"phase=Succeeded", "cached=false"}, 2},
		{"kubeline_run_duration_seconds", []string{"phase=Succeeded"}, 2},
		{"kubeline_http_request_duration_seconds", []string{"route=POST /apis/v2beta1/runs", "code=200"}, 2},
		{"kubeline_build_info", nil, 1},
	} {
		if got := series(fams, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// The queued run waited for the first to end: its wait is in a bucket
	// above the first's.
	if f := fams["kubeline_admission_wait_seconds"]; f != nil && len(f.Metric) == 1 {
		if sum := f.Metric[0].Histogram.GetSampleSum(); sum <= 0 {
			t.Errorf("admission waits sum to %v, want > 0", sum)
		}
	}

	// Logs: one JSON object a line, with run and task ids.
	var started, finished, admitted, requests int
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		switch e["msg"] {
		case "run started":
			started++
		case "task finished":
			if e["task"] == "train" && (e["run_id"] == first || e["run_id"] == second) && e["phase"] == "Succeeded" {
				finished++
			}
		case "run admitted":
			if e["pool"] == "default" && e["gpus"] == 2.0 {
				admitted++
			}
		case "request":
			if e["route"] == "POST /apis/v2beta1/runs" && e["status"] == 200.0 {
				requests++
			}
		}
	}
	if started != 2 || finished != 2 || admitted != 2 || requests != 2 {
		t.Errorf("logs: %d run started, %d task finished, %d run admitted, %d create-run requests; want 2 each:\n%s",
			started, finished, admitted, requests, logs)
	}
}

// TestClusterFlags: --log-format and --log-level are checked, the logger
// writes JSON at the level asked, and PostgreSQL passwords never reach a log.
func TestClusterFlags(t *testing.T) {
	for _, c := range []struct {
		format, level, err string
	}{
		{"json", "info", ""},
		{"text", "debug", ""},
		{"yaml", "info", `--log-format "yaml": want json or text`},
		{"json", "loud", `--log-level "loud": want debug, info, warn or error`},
	} {
		cl := clusterFlags{logFormat: c.format, logLevel: c.level}
		_, err := cl.logger(io.Discard)
		if got := fmt.Sprint(err); (c.err == "" && err != nil) || (c.err != "" && got != c.err) {
			t.Errorf("%s/%s: %v, want %q", c.format, c.level, err, c.err)
		}
	}
	var buf bytes.Buffer
	cl := clusterFlags{logFormat: "json", logLevel: "warn"}
	l, _ := cl.logger(&buf)
	l.Info("dropped")
	l.Warn("kept", slog.String("run_id", "r1"))
	if got := strings.Count(buf.String(), "\n"); got != 1 || !strings.Contains(buf.String(), `"run_id":"r1"`) {
		t.Errorf("warn-level JSON log: %q", buf.String())
	}
	for dsn, want := range map[string]string{
		"/var/lib/kubeline/kubeline.db":                       "/var/lib/kubeline/kubeline.db",
		"postgres://kubeline:s3cret@db:5432/kubeline":         "postgres://kubeline:xxxxx@db:5432/kubeline",
		"postgresql://db/kubeline?password=s3cret&user=k":     "postgresql://db/kubeline?password=xxxxx&user=k",
		"postgres://kubeline@db/kubeline?sslmode=verify-full": "postgres://kubeline@db/kubeline?sslmode=verify-full",
	} {
		if got := redactDSN(dsn); got != want {
			t.Errorf("redactDSN(%q) = %q, want %q", dsn, got, want)
		}
	}
}
