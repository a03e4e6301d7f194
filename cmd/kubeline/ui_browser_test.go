package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/artifact/s3test"
)

// The real Pipelines UI (../shared/kfp-ui: its build and its own Node
// server) in Debian's headless Chromium against a kubeline server that
// keeps its artifacts and step logs in a real S3 server (versitygw), as a
// Kubeflow user would open it. Screenshots of every page go to
// test-output/ui/ at the repository's root.
const (
	uiBuild   = "../../../shared/kfp-ui/build"
	uiServer  = "../../../shared/kfp-ui/server.mjs"
	sdkDemo   = "../../runtime/apiserver/testdata/sdk_demo.yaml"
	sdkFail   = "../../runtime/apiserver/testdata/sdk_fail.yaml"
	shotsDir  = "../../test-output/ui"
	uiTimeout = 40 * time.Second
)

// uiEnv is the backend the browser talks to.
type uiEnv struct {
	api, ui string // http://127.0.0.1:PORT of kubeline and of the UI's Node server
	gw      *s3test.Gateway
}

func startUIBackend(t *testing.T) *uiEnv {
	t.Helper()
	for _, tool := range []string{"node", "/usr/bin/chromium"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the browser test needs %s (.ci/run installs nodejs and chromium): %v", tool, err)
		}
	}
	t.Setenv("KUBELINE_HOME", t.TempDir())
	gw := s3test.Start(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	arts := storeFlags{url: "minio://mlpipeline", s3: artifact.S3Config{Endpoint: gw.Endpoint, AccessKey: gw.Access, SecretKey: gw.Secret, Region: gw.Region}}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	// The server also serves the UI itself (kubeline server --ui).
	go func() { served <- serveWith(withUI(ctx, uiBuild), l, "", arts, accessFlags{}, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	env := &uiEnv{api: "http://" + l.Addr().String(), gw: gw}
	env.ui = startUINode(t, l.Addr().String(), gw, "mlpipeline")
	return env
}

// startUINode starts the Pipelines UI's own Node server for the kubeline
// API at apiAddr (HOST:PORT), reading artifacts and archived step logs
// from bucket of gw as a KFP deployment's UI reads its MinIO; env adds to
// its environment. It returns the UI's http://HOST:PORT.
func startUINode(t *testing.T, apiAddr string, gw *s3test.Gateway, bucket string, env ...string) string {
	t.Helper()
	_, apiPort, _ := net.SplitHostPort(apiAddr)
	host, s3Port, _ := net.SplitHostPort(gw.Endpoint)
	uiAddr := s3test.FreeAddr(t)
	_, uiPort, _ := net.SplitHostPort(uiAddr)
	node := exec.Command("node", uiServer, uiBuild, uiPort)
	node.Env = append(append(os.Environ(), "ML_PIPELINE_SERVICE_HOST=127.0.0.1", "ML_PIPELINE_SERVICE_PORT="+apiPort,
		"METADATA_ENVOY_SERVICE_SERVICE_HOST=127.0.0.1", "METADATA_ENVOY_SERVICE_SERVICE_PORT="+apiPort,
		"MINIO_HOST="+host, "MINIO_PORT="+s3Port, "MINIO_NAMESPACE=", "MINIO_ACCESS_KEY="+gw.Access,
		"MINIO_SECRET_KEY="+gw.Secret, "MINIO_SSL=false", "ARGO_ARCHIVE_LOGS=true", "ARGO_ARCHIVE_BUCKETNAME="+bucket,
		"ARGO_KEYFORMAT=kubeline/{{workflow.name}}/{{pod.name}}", "DISABLE_GKE_METADATA=true"), env...)
	var nodeLog bytes.Buffer
	node.Stdout, node.Stderr = &nodeLog, &nodeLog
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		node.Process.Kill()
		node.Wait()
		if t.Failed() {
			t.Logf("the UI's Node server said:\n%s", lastChars(nodeLog.String(), 4000))
		}
	})
	ui := "http://" + uiAddr
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(ui + "/apis/v2beta1/healthz")
		if err == nil && res.StatusCode == 200 {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the UI's Node server did not come up: %v\n%s", err, nodeLog.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	return ui
}

func lastChars(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// apiJSON calls the KFP API and decodes its answer.
func apiJSON(t *testing.T, method, u string, body any) map[string]any {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, u, r)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if res.StatusCode != 200 || json.Unmarshal(raw, &out) != nil {
		t.Fatalf("%s %s: %d %s", method, u, res.StatusCode, raw)
	}
	return out
}

func uploadPipeline(t *testing.T, api, path, name string) string {
	t.Helper()
	body, contentType := pipelineForm(t, path)
	res, err := http.Post(api+"/apis/v2beta1/pipelines/upload?name="+name, contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var p map[string]any
	if err := json.NewDecoder(res.Body).Decode(&p); err != nil || res.StatusCode != 200 {
		t.Fatalf("upload %s: %d %v", path, res.StatusCode, p)
	}
	return p["pipeline_id"].(string)
}

// pipelineForm is the multipart upload form of the pipeline file path, as
// the KFP client sends it (field uploadfile), and its content type.
func pipelineForm(t *testing.T, path string) (*bytes.Buffer, string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("uploadfile", filepath.Base(path))
	fw.Write(data)
	mw.Close()
	return &body, mw.FormDataContentType()
}

// runToEnd starts a run of the pipeline's latest version and waits for it.
func runToEnd(t *testing.T, api, pipelineID, experimentID, name string, params map[string]any) string {
	t.Helper()
	r := apiJSON(t, "POST", api+"/apis/v2beta1/runs", map[string]any{"display_name": name, "experiment_id": experimentID,
		"pipeline_version_reference": map[string]any{"pipeline_id": pipelineID},
		"runtime_config":             map[string]any{"parameters": params}})
	id := r["run_id"].(string)
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		run := apiJSON(t, "GET", api+"/apis/v2beta1/runs/"+id, nil)
		if s := run["state"]; s == "SUCCEEDED" || s == "FAILED" {
			return id
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("run %s did not end in 2 minutes", name)
	return ""
}

// browser is a headless Chromium with a fresh profile and no background
// networking (the machine has no network beyond loopback).
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath("/usr/bin/chromium"), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1400, 1000),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if _, err := chromedp.Run(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// page is one UI page under test.
type page struct {
	t    *testing.T
	ctx  context.Context
	ui   string
	name string
}

// open navigates to the UI's #route and waits until the page shows want.
func (p *page) open(name, route string, want ...string) {
	p.t.Helper()
	p.name = name
	if _, err := chromedp.Run(p.ctx, chromedp.Navigate(p.ui+"/#"+route)); err != nil {
		p.t.Fatalf("%s: navigate: %v", name, err)
	}
	p.waitText(want...)
}

// text is the page's visible text.
func (p *page) text() string {
	s, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	return s
}

// eval runs JS and decodes its value into out.
func (p *page) eval(js string, out any) {
	p.t.Helper()
	raw, err := chromedp.Run(p.ctx, chromedp.Evaluate[json.RawMessage](js))
	if err == nil {
		err = json.Unmarshal(raw, out)
	}
	if err != nil {
		p.t.Fatalf("%s: %s: %v", p.name, js, err)
	}
}

// waitText waits until the page's text holds every want.
func (p *page) waitText(want ...string) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf("text %q", want), func() bool {
		s := p.text()
		for _, w := range want {
			if !strings.Contains(s, w) {
				return false
			}
		}
		return true
	})
}

func (p *page) waitFor(what string, ok func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(uiTimeout)
	for !ok() {
		if time.Now().After(deadline) {
			p.shot()
			p.t.Fatalf("%s: waited %s for %s; the page shows:\n%s", p.name, uiTimeout, what, lastChars(p.text(), 3000))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// errorBanners are the texts of the UI's error banners on the page (the
// Banner component's error mode: background #fbe9e7).
func (p *page) errorBanners() []string {
	var out []string
	p.eval(`[...document.querySelectorAll('div')].filter(d => getComputedStyle(d).backgroundColor === 'rgb(251, 233, 231)').map(d => d.innerText)`, &out)
	return out
}

// check fails on an error banner and saves a screenshot.
func (p *page) check() {
	p.t.Helper()
	time.Sleep(500 * time.Millisecond) // late answers raise their banners too
	p.shot()
	if b := p.errorBanners(); len(b) > 0 {
		p.t.Errorf("%s: error banner: %q", p.name, b)
	}
}

func (p *page) shot() {
	png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Logf("%s: screenshot: %v", p.name, err)
		return
	}
	if err := os.MkdirAll(shotsDir, 0o755); err != nil {
		p.t.Logf("screenshots: %v", err)
		return
	}
	path := filepath.Join(shotsDir, strings.ReplaceAll(p.name, " ", "-")+".png")
	if err := os.WriteFile(path, png, 0o644); err == nil {
		abs, _ := filepath.Abs(path)
		p.t.Logf("screenshot %s", abs)
	}
}

func (p *page) click(sel string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		p.shot()
		p.t.Fatalf("%s: click %s: %v", p.name, sel, err)
	}
}

// clickNode clicks the graph node of a task (through the DOM: the task
// panel may cover it).
func (p *page) clickNode(label string) {
	p.t.Helper()
	var ok bool
	p.eval(fmt.Sprintf(`(() => { const b = document.querySelector('div[title=%q] button'); if (!b) return false; b.click(); return true })()`, label), &ok)
	if !ok {
		p.shot()
		p.t.Fatalf("%s: no graph node %q", p.name, label)
	}
}

// clickText clicks the last element whose own text is text (tabs, buttons).
func (p *page) clickText(text string) {
	p.t.Helper()
	var ok bool
	p.eval(fmt.Sprintf(`(() => { const els = [...document.querySelectorAll('button, span, div, a')].filter(e => e.innerText && e.innerText.trim() === %q);
		if (!els.length) return false; els[els.length-1].click(); return true })()`, text), &ok)
	if !ok {
		p.shot()
		p.t.Fatalf("%s: nothing to click named %q", p.name, text)
	}
}

// TestPipelinesUI opens the real Pipelines UI against kubeline and checks
// what a user sees: the run details of a succeeded run with an If/Else and
// a ParallelFor with every node's status and no error banner, a task's
// panel with its input/output parameters and an artifact preview (read
// from S3 by the UI's Node server), the Logs tab with the step's log, a
// failed run's details, compare of two runs, the Artifacts and Executions
// lists (all from ML Metadata), and the pipelines and experiments pages.
func TestPipelinesUI(t *testing.T) {
	env := startUIBackend(t)
	exp := apiJSON(t, "POST", env.api+"/apis/v2beta1/experiments", map[string]any{"display_name": "ui-experiment"})
	expID := exp["experiment_id"].(string)
	demo := uploadPipeline(t, env.api, sdkDemo, "ui-demo")
	fails := uploadPipeline(t, env.api, sdkFail, "ui-fails")
	okRun := runToEnd(t, env.api, demo, expID, "conditional run", map[string]any{"n": 4})
	otherRun := runToEnd(t, env.api, demo, expID, "second run", map[string]any{"n": 3})
	failRun := runToEnd(t, env.api, fails, expID, "failing run", nil)
	for id, want := range map[string]string{okRun: "SUCCEEDED", otherRun: "SUCCEEDED", failRun: "FAILED"} {
		if got := apiJSON(t, "GET", env.api+"/apis/v2beta1/runs/"+id, nil)["state"]; got != want {
			t.Fatalf("run %s ended %v, want %s", id, got, want)
		}
	}
	p := &page{t: t, ctx: browser(t), ui: env.ui}

	// Run details: the graph with every node's state, from ML Metadata.
	p.open("run-details", "/runs/details/"+okRun, "make-data", "train", "condition-branches-1", "for-loop-5")
	nodeStates := func() (active, unknown int) {
		p.eval(`document.querySelectorAll('[data-testid="execution-icon-active"]').length`, &active)
		p.eval(`document.querySelectorAll('[data-testid="execution-icon-default"]').length`, &unknown)
		return
	}
	p.waitFor("every node's state", func() bool { a, u := nodeStates(); return a >= 5 && u == 0 })
	p.check()

	// The Logs tab of a step that printed.
	p.clickNode("make-data")
	p.waitText("Input/Output", "Logs")
	p.clickText("Logs")
	p.waitText("making 4 rows")
	p.name = "run-details-logs"
	p.check()
	// The task panel: parameters and an artifact preview.
	p.clickNode("train")
	p.clickText("Input/Output")
	p.waitText("Input Artifacts", "Output Parameters", "model", "sum=6")
	p.name = "run-details-task"
	p.check()

	// The failed run: its failed step shows.
	p.open("failed-run", "/runs/details/"+failRun, "flip", "fail")
	p.waitFor("the failed step's state", func() bool {
		var n int
		p.eval(`document.querySelectorAll('.text-mui-red-600').length`, &n)
		return n > 0
	})
	p.check()

	// Compare two runs (v1 GET runs/{id}, then v2 runs and ML Metadata).
	p.open("compare", "/compare?runlist="+okRun+","+otherRun, "conditional run", "second run", "Parameters")
	p.check()

	// The Artifacts and Executions lists.
	p.open("artifacts", "/artifacts", "system.Dataset", "system.Model")
	p.check()
	p.open("executions", "/executions", "system.ContainerExecution")
	p.check()

	// Pipelines and experiments.
	p.open("pipelines", "/pipelines", "ui-demo", "ui-fails")
	p.check()
	p.open("experiments", "/experiments", "ui-experiment")
	p.check()
	p.open("experiment-details", "/experiments/details/"+expID, "conditional run", "failing run")
	p.check()

	// The same UI served by kubeline itself (server --ui): its own routes
	// answer the step's log and the artifact preview.
	p.ui = env.api
	p.open("kubeline-ui-run-details", "/runs/details/"+okRun, "make-data", "train")
	p.waitFor("every node's state", func() bool { a, u := nodeStates(); return a >= 5 && u == 0 })
	p.clickNode("make-data")
	p.waitText("Input/Output", "Logs")
	p.clickText("Logs")
	p.waitText("making 4 rows")
	p.check()
	p.clickNode("train")
	p.clickText("Input/Output")
	p.waitText("Input Artifacts", "Output Parameters", "sum=6")
	p.name = "kubeline-ui-task"
	p.check()
}
