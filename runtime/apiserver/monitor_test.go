package apiserver_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubeline/kubeline/runtime/apiserver"
)

// shift is how far a distribution is moved: x2's mean.
type shift struct{ x2 float64 }

// rows draws n rows of the training distribution (x2 centred on s.x2):
// x1 ~ N(0, 1), x2 ~ N(s.x2, 1), color red .5, green .3, blue .2.
func rows(seed uint64, n int, s shift) []map[string]any {
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([]map[string]any, n)
	for i := range out {
		c := r.Float64()
		color := "red"
		if c > .5 {
			color = "green"
		}
		if c > .8 {
			color = "blue"
		}
		out[i] = map[string]any{"x1": r.NormFloat64(), "x2": s.x2 + r.NormFloat64(), "color": color}
	}
	return out
}

// csvOf is rows as the dataset's CSV file, with a label column.
func csvOf(rs []map[string]any) string {
	var b strings.Builder
	b.WriteString("x1,x2,color,label\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "%.6f,%.6f,%s,%d\n", r["x1"], r["x2"], r["color"], map[bool]int{true: 1}[r["x1"].(float64) > 0])
	}
	return b.String()
}

// predictAll sends one V1 request per row to the deployment through
// kubeline's endpoint, 8 at a time.
func predictAll(t *testing.T, k *kserver, dep string, rs []map[string]any) {
	t.Helper()
	var wg sync.WaitGroup
	next := make(chan map[string]any)
	errs := make(chan string, len(rs))
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range next {
				b, _ := json.Marshal(map[string]any{"instances": []any{r}})
				res, err := http.Post(k.root+"/v1/models/"+dep+":predict", "application/json", bytes.NewReader(b))
				if err != nil {
					errs <- err.Error()
					continue
				}
				if res.StatusCode != 200 {
					errs <- res.Status
				}
				res.Body.Close()
			}
		}()
	}
	for _, r := range rs {
		next <- r
	}
	close(next)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatalf("predict: %s", e)
	}
}

// waitFor polls the monitor's status until ok says so.
func waitFor(t *testing.T, k *kserver, name, what string, ok func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	var last resp
	for time.Now().Before(deadline) {
		last = do(t, "GET", k.kl()+"/monitors/"+name+"/status", "", nil)
		if last.code == 200 && ok(last.body) {
			return last.body
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("waiting for %s: %d %s", what, last.code, last.raw)
	return nil
}

func windows(st map[string]any) int { return int(st["windows"].(float64)) }

func uploadCSV(t *testing.T, k *kserver, name, content string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("uploadfile", "data.csv")
	fw.Write([]byte(content))
	mw.Close()
	req, _ := http.NewRequest("POST", k.kl()+"/datasets/"+name+"/versions:upload", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if r := send(t, req); r.code != 200 {
		t.Fatalf("upload %s: %d %s", name, r.code, r.raw)
	}
}

// lr makes examples/train-model's weights rows·lr equal 1 on 2,001 lines
// (a header and 2,000 rows): accuracy 1/(1+(w-1)²) ≈ 1. The retraining
// run's 0.0005 makes 1.0005 (accuracy 0.99999975): other content, so a
// new version (the same content would be m@v1 again).
const lr = "0.000499750124938"

// TestMonitoringDriftRetrainCanary is issue 22's acceptance 1, on real
// processes: m@v1 is trained by a pipeline run from dataset d@v1 and
// deployed locally (a Python predictor process); a monitor compares each
// window of 500 recorded requests with d@v1, the training dataset in
// m@v1's lineage. 2,000 requests from the training distribution raise
// nothing; 500 with x2 shifted by two standard deviations raise PSI and KS
// alerts on x2 only, in that window; the retraining action runs the
// train-model pipeline through the normal run path (it trains on d@v2,
// newer labelled data), m@v2 passes accuracy ≥ 0.9, is published and
// redeployed as a 20% canary; the next window (the remaining 1,500
// shifted requests), now compared with d@v2 from m@v2's lineage, clears
// the alerts.
func TestMonitoringDriftRetrainCanary(t *testing.T) {
	k := newKubeline(t, false, nil)
	uploadCSV(t, k, "d", csvOf(rows(1, 2000, shift{x2: 5})))
	spec, err := os.ReadFile("../../examples/train-model/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var train map[string]any
	if err := yamlToJSON(spec, &train); err != nil {
		t.Fatal(err)
	}
	p := do(t, "POST", k.kfp()+"/pipelines/create", "", map[string]any{"pipeline": map[string]any{"display_name": "train-model"},
		"pipeline_version": map[string]any{"display_name": "v1", "pipeline_spec": train}})
	if p.code != 200 {
		t.Fatalf("pipeline: %d %s", p.code, p.raw)
	}
	run := do(t, "POST", k.kfp()+"/runs", "", map[string]any{"display_name": "train m@v1",
		"pipeline_version_reference": map[string]any{"pipeline_id": p.body["pipeline_id"]},
		"runtime_config":             map[string]any{"parameters": map[string]any{"lr": lr}}})
	if run.code != 200 {
		t.Fatalf("run: %d %s", run.code, run.raw)
	}
	waitStatus(t, k, "", run.body["run_id"].(string), "Complete")
	if r := do(t, "POST", k.kl()+"/models/m/versions/v1:publish", "", nil); r.code != 200 {
		t.Fatalf("publish: %d %s", r.code, r.raw)
	}
	predictor, _ := filepath.Abs("testdata/monitor/predictor.py")
	if r := postYAML(t, k.kl()+"/deployments", "", fmt.Sprintf(`apiVersion: kubeline.io/v1alpha1
kind: Deployment
metadata: {name: m-serve}
spec: {model: m@v1, predictor: {command: [python3, %s]}}
`, predictor)); r.code != 200 {
		t.Fatalf("deploy: %d %s", r.code, r.raw)
	}
	if r := postYAML(t, k.kl()+"/monitors", "", `apiVersion: kubeline.io/v1alpha1
kind: Monitor
metadata: {name: m-watch}
spec:
  deployment: m-serve
  window: {requests: 500}
  baseline: {lineage: {}}
  features:
    - {name: x1, type: numeric}
    - {name: x2, type: numeric}
    - {name: color, type: categorical}
  drift:
    - {metric: psi, tolerance: 0.2}
    - {metric: ks, tolerance: 0.1}
  latency: {percentile: 99, goal: 2000, tolerance: 1000}
  errorRate: {goal: 0, tolerance: 0.05}
  action:
    retrain:
      pipeline: train-model
      parameters: {lr: "0.0005"}
      metric: {name: accuracy, min: 0.9}
      canaryPercent: 20
`); r.code != 200 {
		t.Fatalf("monitor: %d %s", r.code, r.raw)
	}

	// 1. 2,000 requests from the training distribution: four windows, no
	// alert.
	predictAll(t, k, "m-serve", rows(2, 2000, shift{x2: 5}))
	st := waitFor(t, k, "m-watch", "4 windows", func(s map[string]any) bool { return windows(s) == 4 })
	if a := st["active_alerts"].([]any); len(a) != 0 {
		t.Fatalf("alerts on the training distribution: %v", a)
	}
	last := st["last_window"].(map[string]any)
	if last["baseline"] != "dataset d@v1 (lineage of m@v1)" {
		t.Fatalf("baseline %v: %v", last["baseline"], last)
	}
	t.Logf("window 4: %v", last["measures"])
	if n, _ := strconv.Atoi(metric(t, k, apiserver.MetricPredictionsRecorded)); n < 2000 || metric(t, k, apiserver.MetricPredictionsDropped) != "0" {
		t.Fatalf("%s %d, %s %s: want at least 2000 recorded, none dropped", apiserver.MetricPredictionsRecorded, n,
			apiserver.MetricPredictionsDropped, metric(t, k, apiserver.MetricPredictionsDropped))
	}

	// 2. Newer labelled data arrives (d@v2, x2 moved); then 500 requests
	// with x2 moved: alerts on x2 only, raised in window 5.
	uploadCSV(t, k, "d", csvOf(rows(3, 2000, shift{x2: 7})))
	shifted := rows(4, 2000, shift{x2: 7})
	predictAll(t, k, "m-serve", shifted[:500])
	st = waitFor(t, k, "m-watch", "window 5", func(s map[string]any) bool { return windows(s) == 5 })
	alerts := do(t, "GET", k.kl()+"/monitors/m-watch/alerts", "", nil).body["alerts"].([]any)
	var raised []string
	for _, a := range alerts {
		a := a.(map[string]any)
		raised = append(raised, fmt.Sprintf("%v %v w%v", a["metric"], a["feature"], a["raised_window"]))
	}
	sort.Strings(raised)
	if got := strings.Join(raised, ", "); got != "ks x2 w5, psi x2 w5" {
		t.Fatalf("alerts raised: %s, want ks and psi on x2 in window 5", got)
	}
	t.Logf("window 5: %v", st["last_window"].(map[string]any)["measures"])

	// 3. The retraining run, m@v2, the canary.
	st = waitFor(t, k, "m-watch", "the action", func(s map[string]any) bool {
		a, _ := s["action"].(map[string]any)
		return a["state"] != nil && a["state"] != "running"
	})
	action := st["action"].(map[string]any)
	if action["state"] != "deployed" || action["model"] != "m@v2" {
		t.Fatalf("action %v", action)
	}
	rr := do(t, "GET", k.kfp()+"/runs/"+action["run_id"].(string), "", nil)
	if rr.body["state"] != "SUCCEEDED" || !strings.HasPrefix(rr.body["display_name"].(string), "retrain-m-watch-w5") {
		t.Fatalf("retraining run %v %v", rr.body["state"], rr.body["display_name"])
	}
	lin := do(t, "GET", k.kl()+"/models/m/versions/v2/lineage", "", nil)
	if !strings.Contains(lin.raw, "dataset:d@v2") {
		t.Fatalf("m@v2's lineage lacks d@v2: %s", lin.raw)
	}
	dep := do(t, "GET", k.kl()+"/deployments/m-serve", "", nil).body
	if dep["model"] != "m@v1" || dep["canary"] != "m@v2" || dep["canary_traffic_percent"] != 20.0 {
		t.Fatalf("deployment %v", dep)
	}

	// 4. The rest of the shifted traffic: window 6, against m@v2's
	// training data, clears both alerts.
	predictAll(t, k, "m-serve", shifted[500:])
	st = waitFor(t, k, "m-watch", "window 8", func(s map[string]any) bool { return windows(s) == 8 })
	alerts = do(t, "GET", k.kl()+"/monitors/m-watch/alerts", "", nil).body["alerts"].([]any)
	for _, a := range alerts {
		a := a.(map[string]any)
		if a["active"] != false || a["cleared_window"] != 6.0 {
			t.Errorf("alert %v %v: active %v, cleared in window %v; want cleared in window 6", a["metric"], a["feature"], a["active"], a["cleared_window"])
		}
	}
	last = st["last_window"].(map[string]any)
	if last["baseline"] != "dataset d@v2 (lineage of m@v2)" {
		t.Errorf("baseline after the redeploy: %v", last["baseline"])
	}
	models := last["models"].(map[string]any)
	if models["m@v2"] == nil || models["m@v1"] == nil {
		t.Errorf("window 8 answered by %v, want both revisions", models)
	}

	// The drilldown: model → feature → window, JSON and SVG.
	dd := do(t, "GET", k.kl()+"/monitors/m-watch/drilldown?feature=x2&window=5", "", nil)
	if dd.code != 200 || dd.body["level"] != "window" || !strings.Contains(dd.raw, `"labels"`) {
		t.Fatalf("window drilldown: %d %s", dd.code, dd.raw)
	}
	fl := do(t, "GET", k.kl()+"/monitors/m-watch/drilldown?feature=x2", "", nil)
	if ws := fl.body["windows"].([]any); len(ws) != 8 {
		t.Fatalf("feature drilldown: %d windows", len(ws))
	}
	res, err := http.Get(k.kl() + "/monitors/m-watch/drilldown?format=svg")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var svg bytes.Buffer
	svg.ReadFrom(res.Body)
	if res.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(svg.String(), "<svg") || !strings.Contains(svg.String(), "x2 psi") {
		t.Fatalf("model drilldown SVG: %s %.300s", res.Header.Get("Content-Type"), svg.String())
	}
}

// TestFeatureSetBaseline: a monitor's baseline is a featureset version
// (#20's kind, here JSON lines checked against its features): a window of
// traffic from its distribution raises nothing, one with x moved raises
// PSI on x.
func TestFeatureSetBaseline(t *testing.T) {
	k := newKubeline(t, false, nil)
	fs := map[string]any{"apiVersion": "kubeline.io/v1alpha1", "kind": "FeatureSet", "metadata": map[string]any{"name": "fs"},
		"spec": map[string]any{"features": []any{map[string]any{"name": "x", "type": "float"}}}}
	if r := do(t, "POST", k.kl()+"/featuresets", "", fs); r.code != 200 {
		t.Fatalf("featureset: %d %s", r.code, r.raw)
	}
	var lines strings.Builder
	r := rand.New(rand.NewPCG(5, 5))
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&lines, "{\"x\": %.5f}\n", r.NormFloat64())
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("uploadfile", "features.jsonl")
	fw.Write([]byte(lines.String()))
	mw.Close()
	req, _ := http.NewRequest("POST", k.kl()+"/featuresets/fs/versions:upload", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if up := send(t, req); up.code != 200 {
		t.Fatalf("featureset version: %d %s", up.code, up.raw)
	}
	if up := uploadVersionAs(t, k, "model", "m", "weights 1\n", ""); up.code != 200 {
		t.Fatalf("model: %d %s", up.code, up.raw)
	}
	do(t, "POST", k.kl()+"/models/m/versions/v1:publish", "", nil)
	predictor, _ := filepath.Abs("../../examples/serve-model/predictor.py")
	if d := postYAML(t, k.kl()+"/deployments", "", fmt.Sprintf("apiVersion: kubeline.io/v1alpha1\nkind: Deployment\nmetadata: {name: fs-serve}\nspec: {model: m@v1, predictor: {command: [python3, %s]}}\n", predictor)); d.code != 200 {
		t.Fatalf("deploy: %d %s", d.code, d.raw)
	}
	if m := postYAML(t, k.kl()+"/monitors", "", "apiVersion: kubeline.io/v1alpha1\nkind: Monitor\nmetadata: {name: fs-watch}\nspec:\n  deployment: fs-serve\n  window: {requests: 200}\n  baseline: {featureset: fs@v1}\n  features: [{name: x, type: numeric}]\n  drift: [{metric: psi, tolerance: 0.25}]\n"); m.code != 200 {
		t.Fatalf("monitor: %d %s", m.code, m.raw)
	}
	send200 := func(shift float64) {
		for i := 0; i < 200; i++ {
			res, err := http.Post(k.root+"/v1/models/fs-serve:predict", "application/json", strings.NewReader(fmt.Sprintf(`{"instances":[%.5f]}`, shift+r.NormFloat64())))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
		}
	}
	send200(0)
	st := waitFor(t, k, "fs-watch", "window 1", func(s map[string]any) bool { return windows(s) == 1 })
	if w := st["last_window"].(map[string]any); w["baseline"] != "featureset fs@v1" || len(st["active_alerts"].([]any)) != 0 {
		t.Fatalf("window 1: %v, alerts %v", w, st["active_alerts"])
	}
	send200(3)
	st = waitFor(t, k, "fs-watch", "window 2", func(s map[string]any) bool { return windows(s) == 2 })
	if a := st["active_alerts"].([]any); len(a) != 1 || a[0].(map[string]any)["feature"] != "x" {
		t.Fatalf("window 2 alerts: %v (%v)", a, st["last_window"])
	}
}
