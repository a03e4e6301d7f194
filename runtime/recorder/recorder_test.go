package recorder

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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

// TestBatchBytes: a batch is written once its payload lines reach
// BatchBytes, without waiting out Gather; the rest stay queued for the
// next.
func TestBatchBytes(t *testing.T) {
	w := newWorld(t, Options{BatchBytes: 1000, Gather: time.Minute})
	ctx := context.Background()
	body := `{"instances":["` + strings.Repeat("x", 200) + `"]}`
	for i := 0; i < 10; i++ {
		w.rec.Record(pred("a", i, body))
	}
	var line bytes.Buffer
	appendPayload(&line, pred("a", 0, body))
	want := (1000 + line.Len() - 1) / line.Len() // the first count of lines of 1000 bytes or more
	start := time.Now()
	w.rec.batch(ctx, <-w.rec.q)
	if time.Since(start) > 30*time.Second {
		t.Fatal("the batch waited for Gather")
	}
	if st := w.rec.Stats(); st.Recorded != int64(want) || st.Queued != 10-want || st.Batches != 1 {
		t.Fatalf("stats %+v, want %d recorded (lines of %d bytes) and %d queued", st, want, line.Len(), 10-want)
	}
}
