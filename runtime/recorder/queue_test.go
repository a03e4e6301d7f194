package recorder

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeline/kubeline/runtime/serving"
	"github.com/kubeline/kubeline/runtime/store"
)

// endpoint serves deployment "bench" (the test binary as its predictor,
// a real process) through kubeline's inference endpoint, recording with
// rec; it returns the predict URL and the HTTP server's graceful stop,
// which returns once every request's handler has returned.
func endpoint(t testing.TB, rec serving.Recorder) (string, func()) {
	return endpointWith(t, rec, nil)
}

// endpointWith is endpoint with before called first in every request.
func endpointWith(t testing.TB, rec serving.Recorder, before func(r *http.Request)) (string, func()) {
	m := serving.NewManager()
	t.Cleanup(m.StopAll)
	exe, _ := os.Executable()
	dir := t.TempDir()
	if _, err := m.Start(context.Background(), serving.Spec{Name: "bench", WorkDir: dir, Stable: serving.Revision{Model: "m@v1", ModelDir: dir,
		Predictor: serving.Process{Command: []string{exe}, Env: []string{"KUBELINE_RECORDER_ROLE=predictor"}}}}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	m.Routes(func(p string, h http.HandlerFunc) {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			if before != nil {
				before(r)
			}
			h(w, r)
		})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	m.SetRecorder(rec)
	return srv.URL + "/v1/models/bench:predict", srv.Close
}

// predictN sends n requests (instances [i]) at concurrency 8, all within
// 20 s: requests that waited on a blocked recorder fail the test.
func predictN(t *testing.T, u string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client := &http.Client{}
	var wg sync.WaitGroup
	next := make(chan int)
	errs := make(chan error, n)
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				req, _ := http.NewRequestWithContext(ctx, "POST", u, strings.NewReader(fmt.Sprintf(`{"instances":[%d]}`, i)))
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if want := fmt.Sprintf(`{"predictions":[%d]}`, 2*i); strings.TrimSpace(string(body)) != want {
					errs <- fmt.Errorf("request %d: %d %s, want %s", i, resp.StatusCode, body, want)
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// gated holds every AddPredictions until open is closed (a slow or stuck
// store), counting the calls that arrived.
type gated struct {
	*store.Store
	open    chan struct{}
	arrived chan int
}

func (g *gated) AddPredictions(ctx context.Context, ps []store.Prediction) error {
	select {
	case g.arrived <- len(ps):
	default:
	}
	<-g.open
	return g.Store.AddPredictions(ctx, ps)
}

// gatedWorld is a world whose recorder writes through a gated store.
func gatedWorld(t *testing.T, o Options) (*world, *gated) {
	w := newWorld(t, o)
	g := &gated{Store: w.st, open: make(chan struct{}), arrived: make(chan int, 1000)}
	w.rec.sum = g
	return w, g
}

// TestShutdownRecordsEverything: every request answered before a graceful
// shutdown is recorded — summary and payload line — although the store
// held the worker up until the shutdown began, so nearly all of them were
// still queued when it did (mutation-checked: without Run's drain on
// cancel the queued ones were lost).
func TestShutdownRecordsEverything(t *testing.T) {
	const n = 600
	w, g := gatedWorld(t, Options{Batch: 32})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.rec.Run(ctx); close(done) }()
	w.rec.SetRate("bench", 1)
	u, stopHTTP := endpoint(t, w.rec)
	predictN(t, u, n)
	held := <-g.arrived // the worker holds its first batch; the rest wait in the queue
	// The server's shutdown, in cmd/kubeline's order: the HTTP server
	// first (every handler has returned, so has its Record), then the
	// worker ...
	stopHTTP()
	if st := w.rec.Stats(); st.Queued != n-held || st.Recorded != 0 {
		t.Fatalf("before the shutdown: %+v, want %d queued (the worker holds %d) and none recorded", st, n-held, held)
	}
	cancel()
	close(g.open)
	<-done // ... which returns once what was queued is written
	ps, err := w.st.Predictions(context.Background(), "bench", 0, 2*n)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != n {
		t.Fatalf("%d predictions recorded of %d answered (stats %+v)", len(ps), n, w.rec.Stats())
	}
	seen := map[string]bool{}
	for _, p := range ps {
		seen[p.Inputs] = true
	}
	for i := 0; i < n; i++ {
		if !seen[fmt.Sprintf("[%d]", i)] {
			t.Fatalf("request %d's instances are not among the recorded ones", i)
		}
	}
	last := ps[len(ps)-1]
	data, err := w.objects.Read(context.Background(), last.PayloadKey)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if last.PayloadLine >= len(lines) || !strings.Contains(lines[last.PayloadLine], `"request":{"instances":`+last.Inputs+`}`) {
		t.Fatalf("payload line %d of %s does not hold %s", last.PayloadLine, last.PayloadKey, last.Inputs)
	}
	if st := w.rec.Stats(); st.Recorded != n || st.Dropped != 0 || st.Failed != 0 || st.Queued != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestFullQueueDropsWithStuckWriter: the store never answers; requests
// through the endpoint still all get their answers (each within its
// client's timeout, so a Record that waited would fail them), the
// predictions that do not fit the queue are dropped and counted, and the
// first drop is logged once (not once per drop).
func TestFullQueueDropsWithStuckWriter(t *testing.T) {
	const n, queue, batch = 200, 8, 4 // batch: the most the stuck worker holds
	var logs bytes.Buffer
	var mu sync.Mutex
	w, g := gatedWorld(t, Options{Queue: queue, Batch: batch, Log: slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))})
	w.run(t)
	w.rec.SetRate("bench", 1)
	u, stopHTTP := endpoint(t, w.rec)
	t.Cleanup(func() { close(g.open) }) // before the HTTP server and the worker stop
	predictN(t, u, batch)
	held := <-g.arrived // the worker's first batch, which the store holds
	predictN(t, u, n-batch)
	if t.Failed() {
		t.FailNow() // requests waited for the recorder
	}
	stopHTTP() // every handler has returned
	st := w.rec.Stats()
	if st.Queued != queue || st.Dropped != int64(n-held-queue) || st.Recorded != 0 {
		t.Fatalf("stats %+v, want %d queued, %d dropped (the worker holds %d), none recorded", st, queue, n-held-queue, held)
	}
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	if c := strings.Count(out, "recording queue full"); c != 1 || !strings.Contains(out, "deployment=bench") || !strings.Contains(out, "dropped_total=1 ") {
		t.Fatalf("want one log line for the first drop, got %d:\n%s", c, out)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestPayloadLine: a payload line is one line of JSON whatever the bodies
// (JSON over several lines, not JSON, empty, with HTML characters), and
// reads back as json.Marshal's encoding of the same payload does.
func TestPayloadLine(t *testing.T) {
	for _, body := range []string{`{"instances": [1,
	2]}`, "not json\nat all", "", `{"s":"<a href='x'>&</a>","u":"é\u2028"}`, `[1,2`, `"a string"`} {
		model := "m@v1"
		if len(body)%2 == 0 {
			model = "m@v1\t\"x\"<é>"
		}
		p := serving.Prediction{Model: model, Status: 200, At: time.Date(2026, 12, 3, 1, 2, 3, 4, time.UTC),
			Request: []byte(body), Response: []byte(`{"predictions":[1]}`), Truncated: body == ""}
		var buf bytes.Buffer
		appendPayload(&buf, p)
		line := buf.String()
		if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
			t.Fatalf("body %q: not one line: %q", body, line)
		}
		asText := func(b []byte) json.RawMessage {
			if json.Valid(b) {
				return b
			}
			s, _ := json.Marshal(string(b))
			return s
		}
		want, _ := json.Marshal(payload{At: p.At, Model: p.Model, Status: p.Status, Request: asText(p.Request), Response: asText(p.Response), Truncated: p.Truncated})
		var got, exp any
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("body %q: %v: %s", body, err, line)
		}
		json.Unmarshal(want, &exp)
		if d := cmp.Diff(exp, got); d != "" {
			t.Errorf("body %q (-json.Marshal +appendPayload)\n%s", body, d)
		}
	}
}
