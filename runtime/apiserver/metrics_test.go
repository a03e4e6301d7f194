package apiserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeline/kubeline/runtime/apiserver"
	"github.com/kubeline/kubeline/runtime/engine/local"
	"github.com/kubeline/kubeline/runtime/store"
)

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestProbesAndMetricsWithoutToken: on a multi-user server /livez,
// /readyz and /metrics need no token; when the store stops answering,
// /readyz says 503 naming the store, /livez stays 200, and /metrics still
// answers with kubeline_store_up 0. Requests are timed by route pattern
// (ids do not make series) and logged as JSON.
func TestProbesAndMetricsWithoutToken(t *testing.T) {
	home := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(home, "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var logs bytes.Buffer
	api := apiserver.New(ctx, st, local.NewRunner(local.Options{Home: home}), nil, nil, "v-test").
		WithMultiUser(true).WithLogger(slog.New(slog.NewJSONHandler(&logs, nil)))
	srv := httptest.NewServer(api.Handler())
	defer func() {
		srv.Close()
		cancel()
		api.Wait()
	}()

	for _, path := range []string{"/livez", "/readyz"} {
		if code, body := get(t, srv.URL+path); code != 200 || body != "ok\n" {
			t.Errorf("GET %s: %d %q, want 200 ok", path, code, body)
		}
	}
	if code, _ := get(t, srv.URL+"/apis/v2beta1/runs/abc"); code != 401 {
		t.Errorf("GET a run without a token: %d, want 401", code)
	}
	get(t, srv.URL+"/apis/v2beta1/runs/def")
	code, body := get(t, srv.URL+"/metrics")
	for _, want := range []string{
		`kubeline_store_up 1`,
		`kubeline_build_info{version="v-test"} 1`,
		`kubeline_http_request_duration_seconds_count{code="401",route="GET /apis/v2beta1/runs/{id}"} 2`,
		`kubeline_runs{state="SUCCEEDED",status="Complete"} 0`,
		`kubeline_admission_queue_length{pool="default"} 0`,
		`go_goroutines `,
	} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("GET /metrics: %d, no %q in:\n%s", code, want, body)
		}
	}

	st.Close()
	if code, body := get(t, srv.URL+"/readyz"); code != 503 || !strings.Contains(body, "store") {
		t.Errorf("GET /readyz with the store closed: %d %q, want 503 naming the store", code, body)
	}
	if code, _ := get(t, srv.URL+"/livez"); code != 200 {
		t.Errorf("GET /livez with the store closed: %d, want 200", code)
	}
	if code, body := get(t, srv.URL+"/metrics"); code != 200 || !strings.Contains(body, "kubeline_store_up 0") {
		t.Errorf("GET /metrics with the store closed: %d, want 200 with kubeline_store_up 0:\n%s", code, body)
	}

	n := 0
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if e["msg"] == "request" && e["route"] == "GET /apis/v2beta1/runs/{id}" && e["status"] == 401.0 {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d request lines of the two 401s, want 2:\n%s", n, logs.String())
	}
}
