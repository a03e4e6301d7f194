package serving

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The test binary doubles as the predictor and transformer processes (a
// real process each, started by the Manager): KUBELINE_SERVING_ROLE picks.
func TestMain(m *testing.M) {
	switch os.Getenv("KUBELINE_SERVING_ROLE") {
	case "predictor":
		predictorMain()
		return
	case "transformer":
		transformerMain()
		return
	}
	os.Exit(m.Run())
}

// predictorMain serves V1 and V2: each number x predicts weight*x, the
// weight read from $MODEL_DIR/model.txt.
func predictorMain() {
	b, err := os.ReadFile(filepath.Join(os.Getenv("MODEL_DIR"), "model.txt"))
	if err != nil {
		panic(err)
	}
	w, _ := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/models/{action}", func(rw http.ResponseWriter, r *http.Request) {
		var in struct{ Instances []float64 }
		json.NewDecoder(r.Body).Decode(&in)
		out := make([]float64, len(in.Instances))
		for i, x := range in.Instances {
			out[i] = w * x
		}
		json.NewEncoder(rw).Encode(map[string]any{"predictions": out})
	})
	mux.HandleFunc("POST /v2/models/{name}/infer", func(rw http.ResponseWriter, r *http.Request) {
		var in struct {
			Inputs []struct {
				Name string
				Data []float64
			}
		}
		json.NewDecoder(r.Body).Decode(&in)
		out := []float64{}
		for _, x := range in.Inputs[0].Data {
			out = append(out, w*x)
		}
		json.NewEncoder(rw).Encode(map[string]any{"model_name": r.PathValue("name"),
			"outputs": []any{map[string]any{"name": "predict", "datatype": "FP64", "shape": []int{len(out)}, "data": out}}})
	})
	http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), mux)
}

// transformerMain doubles the inputs (preprocess), calls the predictor and
// labels the answer (postprocess).
func transformerMain() {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/models/{action}", func(rw http.ResponseWriter, r *http.Request) {
		var in struct{ Instances []float64 }
		json.NewDecoder(r.Body).Decode(&in)
		for i := range in.Instances {
			in.Instances[i] *= 2
		}
		body, _ := json.Marshal(in)
		resp, err := http.Post("http://"+os.Getenv("PREDICTOR_HOST")+r.URL.Path, "application/json", bytes.NewReader(body))
		if err != nil {
			http.Error(rw, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		var out struct{ Predictions []float64 }
		json.NewDecoder(resp.Body).Decode(&out)
		json.NewEncoder(rw).Encode(map[string]any{"predictions": out.Predictions, "postprocessed": true})
	})
	http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), mux)
}

func self(t testing.TB, role string) Process {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Process{Command: []string{exe}, Env: []string{"KUBELINE_SERVING_ROLE=" + role}}
}

func model(t testing.TB, weight string) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "model.txt"), []byte(weight), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func endpoint(t testing.TB, m *Manager) string {
	mux := http.NewServeMux()
	m.Routes(func(p string, h http.HandlerFunc) { mux.HandleFunc(p, h) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func post(t testing.TB, u, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

func TestDeploymentWithTransformerAndCanary(t *testing.T) {
	m := NewManager()
	t.Cleanup(m.StopAll)
	base := endpoint(t, m)
	tr := self(t, "transformer")
	st, err := m.Start(context.Background(), Spec{Name: "m-serve", WorkDir: t.TempDir(),
		Stable: Revision{Model: "m@v1", ModelDir: model(t, "3"), Predictor: self(t, "predictor"), Transformer: &tr},
		Canary: &Revision{Model: "m@v2", ModelDir: model(t, "5"), Predictor: self(t, "predictor"), Transformer: &tr}, CanaryPercent: 25})
	if err != nil {
		t.Fatal(err)
	}
	if st.State != "Ready" || st.Canary != "m@v2" {
		t.Fatalf("status %+v", st)
	}
	// 3 × 2 × x on the stable revision, 5 × 2 × x on the canary: 25 of 100.
	seen := map[float64]int{}
	for i := 0; i < 100; i++ {
		code, out := post(t, base+"/v1/models/m-serve:predict", `{"instances":[1,2]}`)
		if code != 200 || out["postprocessed"] != true {
			t.Fatalf("predict: %d %v", code, out)
		}
		seen[out["predictions"].([]any)[1].(float64)]++
	}
	if seen[12] != 75 || seen[20] != 25 {
		t.Fatalf("answers %v, want 75 × 12 (stable) and 25 × 20 (canary)", seen)
	}
	if code, _ := post(t, base+"/v1/models/nope:predict", `{}`); code != 404 {
		t.Fatalf("unknown model: %d", code)
	}
	if err := m.Stop("m-serve"); err != nil {
		t.Fatal(err)
	}
	if code, _ := post(t, base+"/v1/models/m-serve:predict", `{"instances":[1]}`); code != 404 {
		t.Fatalf("stopped deployment answered %d", code)
	}
}

func TestV2AndStartFailure(t *testing.T) {
	m := NewManager()
	t.Cleanup(m.StopAll)
	base := endpoint(t, m)
	if _, err := m.Start(context.Background(), Spec{Name: "v2", WorkDir: t.TempDir(),
		Stable: Revision{Model: "m@v1", ModelDir: model(t, "0.5"), Predictor: self(t, "predictor")}}); err != nil {
		t.Fatal(err)
	}
	code, out := post(t, base+"/v2/models/v2/infer", `{"inputs":[{"name":"x","shape":[2],"datatype":"FP64","data":[4,8]}]}`)
	if code != 200 || fmt.Sprint(out["outputs"].([]any)[0].(map[string]any)["data"]) != "[2 4]" {
		t.Fatalf("infer: %d %v", code, out)
	}
	resp, err := http.Get(base + "/v2/models/v2/ready")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("ready: %v %v", resp, err)
	}
	m.StartTimeout = 2 * time.Second
	_, err = m.Start(context.Background(), Spec{Name: "broken", WorkDir: t.TempDir(),
		Stable: Revision{Model: "m@v1", ModelDir: t.TempDir(), Predictor: Process{Command: []string{"sh", "-c", "echo no model here >&2; exit 3"}}}})
	if err == nil || !strings.Contains(err.Error(), "no model here") || !strings.Contains(err.Error(), "stable-predictor") {
		t.Fatalf("a predictor that exits: %v", err)
	}
}

// BenchmarkPredict: 1,000 V1 predict requests at concurrency 16 straight to
// the predictor process and through kubeline's endpoint; reports the p50
// and p99 latency of each and what the endpoint adds.
func BenchmarkPredict(b *testing.B) {
	m := NewManager()
	defer m.StopAll()
	base := endpoint(b, m)
	if _, err := m.Start(context.Background(), Spec{Name: "bench", WorkDir: b.TempDir(),
		Stable: Revision{Model: "m@v1", ModelDir: model(b, "2"), Predictor: self(b, "predictor")}}); err != nil {
		b.Fatal(err)
	}
	direct := "http://" + m.lookup("bench").stable.predictor.addr + "/v1/models/bench:predict"
	via := base + "/v1/models/bench:predict"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	run := func(u string) []time.Duration {
		const n, conc = 1000, 16
		lat := make([]time.Duration, n)
		var wg sync.WaitGroup
		next := make(chan int)
		for w := 0; w < conc; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					start := time.Now()
					resp, err := client.Post(u, "application/json", strings.NewReader(`{"instances":[1,2,3]}`))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					lat[i] = time.Since(start)
				}
			}()
		}
		for i := 0; i < n; i++ {
			next <- i
		}
		close(next)
		wg.Wait()
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		return lat
	}
	run(direct) // warm both paths
	run(via)
	b.ResetTimer()
	var d50, d99, v50, v99 time.Duration
	for i := 0; i < b.N; i++ {
		d := run(direct)
		v := run(via)
		d50, d99, v50, v99 = d50+d[499], d99+d[989], v50+v[499], v99+v[989]
	}
	n := time.Duration(b.N)
	b.ReportMetric(float64((d50 / n).Microseconds()), "direct-p50-µs")
	b.ReportMetric(float64((d99 / n).Microseconds()), "direct-p99-µs")
	b.ReportMetric(float64((v50 / n).Microseconds()), "kubeline-p50-µs")
	b.ReportMetric(float64((v99 / n).Microseconds()), "kubeline-p99-µs")
	b.ReportMetric(float64(((v50 - d50) / n).Microseconds()), "added-p50-µs")
	b.ReportMetric(float64(((v99 - d99) / n).Microseconds()), "added-p99-µs")
}

// TestRemote: a remote deployment routes to its InferenceService's URL
// under the service's own name and host; one without a URL answers 503.
func TestRemote(t *testing.T) {
	var got []string
	isvc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.Path+" "+r.Host)
		w.Write([]byte(`{"predictions":[1]}`))
	}))
	defer isvc.Close()
	m := NewManager()
	t.Cleanup(m.StopAll)
	base := endpoint(t, m)
	st, err := m.StartRemote("imported", "m@v3", Remote{Cluster: "c2", Namespace: "ns", InferenceService: "sklearn-iris", URL: isvc.URL, Imported: true})
	if err != nil || st.Cluster != "c2" || st.State != "Ready" || st.Model != "m@v3" {
		t.Fatalf("%+v %v", st, err)
	}
	if code, out := post(t, base+"/v1/models/imported:predict", `{"instances":[1]}`); code != 200 || out["predictions"] == nil {
		t.Fatalf("predict: %d %v", code, out)
	}
	host := strings.TrimPrefix(isvc.URL, "http://")
	if len(got) != 1 || got[0] != "POST /v1/models/sklearn-iris:predict "+host {
		t.Fatalf("the InferenceService got %v", got)
	}
	if _, err := m.StartRemote("pending", "", Remote{InferenceService: "x"}); err != nil {
		t.Fatal(err)
	}
	if code, _ := post(t, base+"/v1/models/pending:predict", `{}`); code != 503 {
		t.Fatalf("no URL: %d", code)
	}
	if _, err := m.StartRemote("bad", "", Remote{URL: "file:///etc"}); err == nil {
		t.Fatal("a file URL was accepted")
	}
}
