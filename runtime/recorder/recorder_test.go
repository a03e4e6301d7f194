package recorder

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/serving"
	"github.com/kubeline/kubeline/runtime/store"
)

// The test binary doubles as the predictor process (started by
// serving.Manager): y = 2·x for each instance.
func TestMain(m *testing.M) {
	if os.Getenv("KUBELINE_RECORDER_ROLE") == "predictor" {
		mux := http.NewServeMux()
		mux.HandleFunc("POST /v1/models/{action}", func(w http.ResponseWriter, r *http.Request) {
			var in struct{ Instances []float64 }
			json.NewDecoder(r.Body).Decode(&in)
			out := make([]float64, len(in.Instances))
			for i, x := range in.Instances {
				out[i] = 2 * x
			}
			json.NewEncoder(w).Encode(map[string]any{"predictions": out})
		})
		http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), mux)
		return
	}
	os.Exit(m.Run())
}

type world struct {
	st      *store.Store
	objects artifact.Dir
	rec     *Recorder
	notes   chan []string
}

func newWorld(t testing.TB, o Options) *world {
	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w := &world{st: st, objects: artifact.Dir{Root: filepath.Join(dir, "artifacts")}, notes: make(chan []string, 100)}
	o.Notify = func(deps []string) {
		select {
		case w.notes <- deps:
		default:
		}
	}
	w.rec = New(st, func(ctx context.Context, key string, data []byte) error {
		_, err := w.objects.Put(ctx, key, bytes.NewReader(data), int64(len(data)))
		return err
	}, w.objects.Delete, o)
	return w
}

func (w *world) run(t testing.TB) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.rec.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func pred(dep string, i int, body string) serving.Prediction {
	return serving.Prediction{Deployment: dep, Model: dep + "@v1", Protocol: "v1", At: time.Unix(int64(i), 0), Latency: time.Millisecond,
		Status: 200, Request: []byte(body), Response: []byte(`{"predictions":[` + fmt.Sprint(i) + `]}`)}
}

// TestRecordsSummariesAndPayloads: summaries in the store with their rows,
// bodies in one payload object per deployment and batch, notification.
func TestRecordsSummariesAndPayloads(t *testing.T) {
	w := newWorld(t, Options{})
	w.run(t)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		w.rec.Record(pred("a", i, fmt.Sprintf(`{"instances":[{"x":%d,"c":"red"}]}`, i)))
	}
	w.rec.Record(pred("b", 9, `not json`))
	if err := w.rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	ps, err := w.st.Predictions(ctx, "a", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 5 || ps[4].Inputs != `[{"x":4,"c":"red"}]` || ps[4].Outputs != `[4]` || ps[0].Latency != time.Millisecond || ps[0].Model != "a@v1" {
		t.Fatalf("summaries %+v", ps)
	}
	data, err := w.objects.Read(ctx, ps[4].PayloadKey)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var line struct{ Request, Response json.RawMessage }
	json.Unmarshal([]byte(lines[ps[4].PayloadLine]), &line)
	if string(line.Request) != `{"instances":[{"x":4,"c":"red"}]}` || string(line.Response) != `{"predictions":[4]}` {
		t.Fatalf("payload line %d of %s: %s", ps[4].PayloadLine, ps[4].PayloadKey, lines[ps[4].PayloadLine])
	}
	b, _ := w.st.Predictions(ctx, "b", 0, 10)
	if len(b) != 1 || b[0].Inputs != "[]" {
		t.Fatalf("a body that is not JSON: %+v", b)
	}
	if st := w.rec.Stats(); st.Recorded != 6 || st.Dropped != 0 {
		t.Fatalf("stats %+v", st)
	}
	got := map[string]bool{}
	for len(w.notes) > 0 {
		for _, d := range <-w.notes {
			got[d] = true
		}
	}
	if !got["a"] || !got["b"] {
		t.Fatalf("notified %v", got)
	}
}

// TestBoundedStorage: a deployment keeps its newest Keep summaries; the
// payload objects only older ones referred to are deleted.
func TestBoundedStorage(t *testing.T) {
	w := newWorld(t, Options{Keep: 3, Batch: 2})
	ctx := context.Background()
	for i := 0; i < 8; i++ { // batches of 2, written one at a time
		w.rec.Record(pred("a", i, fmt.Sprintf(`{"instances":[%d]}`, i)))
		if i%2 == 1 {
			w.rec.batch(ctx, <-w.rec.q)
		}
	}
	ps, _ := w.st.Predictions(ctx, "a", 0, 100)
	var kept []string
	keys := map[string]bool{}
	for _, p := range ps {
		kept = append(kept, p.Inputs)
		keys[p.PayloadKey] = true
	}
	if d := cmp.Diff([]string{"[5]", "[6]", "[7]"}, kept); d != "" {
		t.Fatalf("kept (-want +got)\n%s", d)
	}
	objs, err := w.objects.List(ctx, "predictions/a/")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != len(keys) || len(keys) != 2 {
		t.Fatalf("%d payload objects for %d referred to (want 2): %+v", len(objs), len(keys), objs)
	}
}

// TestFullQueueDrops: with no worker draining, a full queue drops and
// counts what does not fit, and Record returns at once.
func TestFullQueueDrops(t *testing.T) {
	w := newWorld(t, Options{Queue: 2})
	start := time.Now()
	for i := 0; i < 10; i++ {
		w.rec.Record(pred("a", i, `{}`))
	}
	if time.Since(start) > time.Second {
		t.Fatal("Record blocked")
	}
	if st := w.rec.Stats(); st.Dropped != 8 || st.Queued != 2 {
		t.Fatalf("stats %+v, want 8 dropped, 2 queued", st)
	}
}

func TestRowsV2(t *testing.T) {
	cases := []struct{ req, in string }{
		{`{"inputs":[{"name":"x","shape":[2],"datatype":"FP64","data":[1,2]},{"name":"c","shape":[2],"datatype":"BYTES","data":["r","g"]}]}`, `[{"c":"r","x":1},{"c":"g","x":2}]`},
		{`{"inputs":[{"name":"t","shape":[2,2],"datatype":"FP64","data":[1,2,3,4]}]}`, `[[1,2],[3,4]]`},
		{`{"inputs":[{"name":"t","shape":[3],"datatype":"FP64","data":[1,2,3]}]}`, `[1,2,3]`},
		{`{"inputs":"nope"}`, `[]`},
	}
	for _, c := range cases {
		in, out := Rows("v2", []byte(c.req), []byte(`{"outputs":[{"name":"y","shape":[1],"data":[0.5]}]}`))
		if in != c.in || out != `[0.5]` {
			t.Errorf("%s: %s %s, want %s", c.req, in, out, c.in)
		}
	}
}

// TestSampling: rate 0 records nothing, 1 everything, 0.25 about a quarter.
func TestSampling(t *testing.T) {
	r := New(nil, nil, nil, Options{})
	r.SetRate("all", 1)
	r.SetRate("quarter", 0.25)
	n := map[string]int{}
	for i := 0; i < 20000; i++ {
		for _, d := range []string{"all", "quarter", "none"} {
			if r.Sampled(d) {
				n[d]++
			}
		}
	}
	if n["all"] != 20000 || n["none"] != 0 || n["quarter"] < 4600 || n["quarter"] > 5400 {
		t.Fatalf("sampled %v of 20000 each", n)
	}
	r.SetRate("all", 0)
	if r.Sampled("all") {
		t.Fatal("rate 0 still samples")
	}
}

// BenchmarkRecordingOverhead: 2,000 V1 predict requests at concurrency 16
// through kubeline's endpoint to a real predictor process, with recording
// off and on (rate 1: every request recorded), alternating; reports each
// p50 and p99 and what recording adds, and the machine's load average.
// Sub-benchmark "recorded" writes every prediction into SQLite and the
// artifact directory (the worker); "request-path" is the control:
// requests are captured and handed to a recorder that drops them, so only
// what a request itself pays is added; "recorded-store-reads" is
// "recorded" with the two store reads a multi-user server makes before it
// forwards a prediction (the caller's token, the deployment's owner),
// made on the store the worker writes to (its one SQLite connection).
func BenchmarkRecordingOverhead(b *testing.B) {
	b.Run("recorded", func(b *testing.B) { benchOverhead(b, false, false) })
	b.Run("request-path", func(b *testing.B) { benchOverhead(b, true, false) })
	b.Run("recorded-store-reads", func(b *testing.B) { benchOverhead(b, false, true) })
}

// dropping samples like the recorder and records nothing.
type dropping struct{ r *Recorder }

func (d dropping) Sampled(dep string) bool     { return d.r.Sampled(dep) }
func (d dropping) Record(p serving.Prediction) {}

func benchOverhead(b *testing.B, requestPathOnly, storeReads bool) {
	o := Options{}
	if g := os.Getenv("KUBELINE_BENCH_GATHER"); g != "" { // compare batch sizes
		o.Gather, _ = time.ParseDuration(g)
	}
	w := newWorld(b, o)
	w.run(b)
	var rec serving.Recorder = w.rec
	if requestPathOnly {
		rec = dropping{w.rec}
	}
	var before func(r *http.Request)
	if storeReads {
		before = func(r *http.Request) {
			if _, err := w.st.UserByToken(r.Context(), "0123456789abcdef"); !errors.Is(err, store.ErrNotFound) {
				b.Errorf("token: %v", err)
			}
			if _, err := w.st.Owner(r.Context(), "deployment", "bench"); err != nil {
				b.Error(err)
			}
		}
	}
	u, _ := endpointWith(b, rec, before)
	load := loadAverage()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	run := func(rate float64) []time.Duration {
		w.rec.SetRate("bench", rate)
		const n, conc = 2000, 16
		lat := make([]time.Duration, n)
		var wg sync.WaitGroup
		next := make(chan int)
		for c := 0; c < conc; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					start := time.Now()
					resp, err := client.Post(u, "application/json", strings.NewReader(`{"instances":[1.5,2.5,3.5]}`))
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
	run(0)
	run(1)
	b.ResetTimer()
	var off50, off99, on50, on99, offCPU, onCPU time.Duration
	for i := 0; i < b.N; i++ {
		c0 := cpuTime()
		off := run(0)
		c1 := cpuTime()
		on := run(1)
		w.rec.Flush(context.Background()) // the worker's last batch is not the next off run's
		c2 := cpuTime()
		off50, off99, on50, on99 = off50+off[999], off99+off[1979], on50+on[999], on99+on[1979]
		offCPU, onCPU = offCPU+c1-c0, onCPU+c2-c1
	}
	b.StopTimer()
	w.rec.Flush(context.Background())
	n := time.Duration(b.N)
	b.ReportMetric(float64((off50 / n).Microseconds()), "off-p50-µs")
	b.ReportMetric(float64((off99 / n).Microseconds()), "off-p99-µs")
	b.ReportMetric(float64((on50 / n).Microseconds()), "on-p50-µs")
	b.ReportMetric(float64((on99 / n).Microseconds()), "on-p99-µs")
	b.ReportMetric(float64(((on50 - off50) / n).Microseconds()), "added-p50-µs")
	b.ReportMetric(float64(((on99 - off99) / n).Microseconds()), "added-p99-µs")
	// This process's CPU time (client, endpoint and worker; the predictor
	// is another process) a request: what recording costs whatever the
	// machine's load, unlike the latencies.
	b.ReportMetric(float64(offCPU.Nanoseconds())/float64(b.N*2000)/1e3, "off-cpu-µs/req")
	b.ReportMetric(float64(onCPU.Nanoseconds())/float64(b.N*2000)/1e3, "on-cpu-µs/req")
	b.ReportMetric(float64((onCPU-offCPU).Nanoseconds())/float64(b.N*2000)/1e3, "added-cpu-µs/req")
	st := w.rec.Stats()
	b.ReportMetric(float64(st.Recorded)/float64(max(st.Batches, 1)), "predictions/batch")
	b.ReportMetric(float64(st.Dropped), "dropped")
	b.ReportMetric(float64(st.Recorded), "recorded")
	// The machine's 1-minute load average before and after: the figures
	// mean little on a loaded machine.
	b.ReportMetric(load, "load-before")
	b.ReportMetric(loadAverage(), "load-after")
}

// cpuTime is the user and system CPU time this process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAverage is the 1-minute load average (Linux), -1 when unknown.
func loadAverage() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	var l float64
	if _, err := fmt.Sscan(string(data), &l); err != nil {
		return -1
	}
	return l
}

// BenchmarkWrite: the worker's cost of recording one prediction (a batch
// of 256 written to SQLite and the artifact directory, per prediction).
func BenchmarkWrite(b *testing.B) {
	w := newWorld(b, Options{})
	ps := make([]serving.Prediction, 256)
	for i := range ps {
		ps[i] = pred("a", i, `{"instances":[1.5,2.5,3.5]}`)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += len(ps) {
		if err := w.rec.write(context.Background(), ps); err != nil {
			b.Fatal(err)
		}
	}
}
