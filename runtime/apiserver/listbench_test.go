package apiserver_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"sigs.k8s.io/yaml"

	"github.com/kubeline/kubeline/compiler"
	"github.com/kubeline/kubeline/compiler/spec"
	"github.com/kubeline/kubeline/runtime/apiserver"
	"github.com/kubeline/kubeline/runtime/engine/local"
	"github.com/kubeline/kubeline/runtime/launcher"
	"github.com/kubeline/kubeline/runtime/store"
)

// benchRuns is how many runs BenchmarkListRunsHTTP stores
// ($KUBELINE_BENCH_RUNS overrides it for a quicker look).
func benchRuns(b *testing.B) int {
	if v := os.Getenv("KUBELINE_BENCH_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 {
			b.Fatalf("KUBELINE_BENCH_RUNS=%q: want a number >= 100", v)
		}
		return n
	}
	return 100000
}

// realisticRun is what the server keeps of one finished run of the
// hello-params example: its compiled workflow with the status the embedded
// engine left, and the example as an inline spec the way the SDK sends it.
func realisticRun(b *testing.B) (workflow, inlineSpec string) {
	data, err := os.ReadFile("../../examples/hello-params/pipeline.yaml")
	if err != nil {
		b.Fatal(err)
	}
	wf, err := compiler.Compile("pipeline.yaml", data, compiler.Options{})
	if err != nil {
		b.Fatal(err)
	}
	done, err := local.New(local.Options{Home: b.TempDir(), PythonExecutor: launcher.PythonBuiltin}).Run(context.Background(), wf)
	if err != nil || done.Status.Phase != wfv1.WorkflowSucceeded {
		b.Fatalf("run: %v %s", err, done.Status.Phase)
	}
	w, _ := json.Marshal(done)
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		b.Fatal(err)
	}
	var inline bytes.Buffer
	if err := json.Indent(&inline, j, "", "  "); err != nil {
		b.Fatal(err)
	}
	return string(w), inline.String() + "\n"
}

// BenchmarkListRunsHTTP is the runs list as the SDK and the Pipelines UI
// ask for it: GET /apis/v2beta1/runs?page_size=50... through a real HTTP
// listener (httptest.NewServer on loopback, the server's whole handler:
// authentication, telemetry, routing) from a server over SQLite (the
// default store) holding 100,000 finished runs of a real pipeline
// (hello-params: its compiled workflow with the status the embedded
// engine left, 5 nodes), half created from an inline spec (the SDK's
// create_run_from_pipeline_func) and half from a pipeline version, each
// PENDING -> RUNNING -> SUCCEEDED or FAILED. The cases (listPages): the
// SDK's first page, the UI's first page (sorted, filtered), the UI's next
// pages by next_page_token. Filling the store: four runs are made through
// the store as the server makes them and their listings kept by
// KeepListings (what a server does at start over runs that ended before it
// kept listings; one that saw them end kept them then), then each is
// copied row for row, listing included (its run id replaced), under new
// ids, names and times. It reports p50 and p99 latency, the mean response
// size per page and the CPU per page.
//
// Run: KUBELINE_BENCH_DB=/tmp/runs100k.db go test ./runtime/apiserver/ -run '^$'
// -bench BenchmarkListRunsHTTP -benchtime 300x -count 6 (the store is filled
// once, ~1 minute, and kept in that file for the next runs; delete it after).
func BenchmarkListRunsHTTP(b *testing.B) {
	n := benchRuns(b)
	dir := b.TempDir()
	db := filepath.Join(dir, "k.db")
	ctx := context.Background()
	// $KUBELINE_BENCH_DB keeps the filled store for the next time.
	if keep := os.Getenv("KUBELINE_BENCH_DB"); keep != "" {
		db = keep
	}
	_, err := os.Stat(db)
	fill := err != nil
	st, err := store.Open(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var templates []string
	if fill {
		templates = templateRuns(b, st)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	compile := func(name string, data []byte, params, images map[string]string) (*wfv1.Workflow, error) {
		return compiler.Compile(name, data, compiler.Options{Params: params, ParamsField: apiserver.ParamsField, Images: images, DeferImages: images == nil})
	}
	api := apiserver.New(sctx, st, local.NewRunner(local.Options{Home: dir}), compile, spec.Unpack, "bench")
	start := time.Now()
	if err := api.KeepListings(sctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("kept the listings of the runs in %s", time.Since(start).Round(time.Millisecond))
	if fill {
		copyRuns(b, db, templates, n)
	}
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	listPages(b, srv.URL, n)
}

// templateRuns makes four finished runs of hello-params: [inline spec,
// pipeline version] x [SUCCEEDED, FAILED].
func templateRuns(b *testing.B, st *store.Store) []string {
	ctx := context.Background()
	workflow, inline := realisticRun(b)
	p := &store.Pipeline{Name: "hello-params"}
	v := &store.PipelineVersion{Name: "v1", Spec: inline}
	if err := st.CreatePipeline(ctx, p, v); err != nil {
		b.Fatal(err)
	}
	templates := make([]string, 4)
	for i := range templates {
		r := &store.Run{DisplayName: "template", RuntimeConfig: `{"parameters":{"recipient":"bench"}}`, Workflow: workflow}
		if i%2 == 0 {
			r.PipelineSpec = inline
		} else {
			r.PipelineID, r.PipelineVersionID = p.ID, v.ID
		}
		if err := st.CreateRun(ctx, r); err != nil {
			b.Fatal(err)
		}
		if err := st.UpdateRun(ctx, r.ID, "RUNNING", "", "", time.Time{}); err != nil {
			b.Fatal(err)
		}
		state, msg := "SUCCEEDED", ""
		if i >= 2 {
			state, msg = "FAILED", "shout: main: Error (exit code 1)"
		}
		if err := st.UpdateRun(ctx, r.ID, state, msg, workflow, time.Now()); err != nil {
			b.Fatal(err)
		}
		templates[i] = r.ID
	}
	return templates
}

// copyRuns stores n copies of the template runs (every tenth a FAILED
// one, half inline) in one transaction, without fsync, and deletes the
// templates.
func copyRuns(b *testing.B, db string, templates []string, n int) {
	ctx := context.Background()
	start := time.Now()
	raw, err := sql.Open("sqlite", "file:"+db+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)&_pragma=foreign_keys(1)")
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	copyRun, err := tx.PrepareContext(ctx, `INSERT INTO runs (id, experiment_id, display_name, description, namespace, storage_state,
		pipeline_id, pipeline_version_id, pipeline_spec, runtime_config, service_account, state, state_history, error,
		recurring_run_id, workflow, created_at, scheduled_at, finished_at)
		SELECT ?, experiment_id, ?, description, namespace, storage_state, pipeline_id, pipeline_version_id, pipeline_spec,
		runtime_config, service_account, state, state_history, error, recurring_run_id, workflow, ?, ?, ?
		FROM runs WHERE id = ?`)
	if err != nil {
		b.Fatal(err)
	}
	copyListing, err := tx.PrepareContext(ctx, `INSERT INTO run_listings (run_id, spec, tasks)
		SELECT ?, spec, replace(tasks, run_id, ?) FROM run_listings WHERE run_id = ?`)
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now().Add(-time.Duration(n) * time.Second).UnixMilli()
	for i := 0; i < n; i++ {
		from := templates[i%2]
		if i%10 == 9 {
			from = templates[2+i%2]
		}
		id, at := store.NewID(), t0+int64(i)*1000
		if _, err := copyRun.ExecContext(ctx, id, fmt.Sprintf("hello %06d", i), at, at, at+900, from); err != nil {
			b.Fatal(err)
		}
		if _, err := copyListing.ExecContext(ctx, id, id, from); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM runs WHERE id IN (?, ?, ?, ?)", templates[0], templates[1], templates[2], templates[3]); err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	b.Logf("stored %d runs in %s", n, time.Since(start).Round(time.Second))
}

// listPages measures pages of the runs list of the server at root, as the
// clients ask for them: the SDK's client.list_runs(page_size=50) (the first
// page, sort_by and page_token sent empty), the Pipelines UI's runs page
// (created_at desc, its filter storage_state NOT_EQUALS ARCHIVED sent
// URL-encoded twice), and the UI's next pages (each op follows the
// previous page's next_page_token, from the first page again after the
// last), and its first page sorted by the run name column. Each case reports p50 and p99 latency of a whole request (sent to
// body read), the mean size of a page, and the process's CPU per page (the
// server and this client, which also decodes each page).
func listPages(b *testing.B, root string, n int) {
	uiFilter := url.QueryEscape(url.QueryEscape(`{"predicates":[{"key":"storage_state","operation":"NOT_EQUALS","string_value":"ARCHIVED"}]}`))
	ui := "page_token=&page_size=50&sort_by=" + url.QueryEscape("created_at desc") + "&filter=" + uiFilter
	for _, c := range []struct {
		name, query string
		next        bool // follow next_page_token
	}{
		{"sdk", "page_token=&page_size=50&sort_by=", false},
		{"ui", ui, false},
		{"ui-next", ui, true},
		{"ui-by-name", strings.Replace(ui, url.QueryEscape("created_at desc"), "name", 1), false},
	} {
		b.Run(c.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			cpu0 := processCPU()
			size := 0
			token := ""
			for i := 0; i < b.N; i++ {
				u := root + "/apis/v2beta1/runs?" + c.query
				if token != "" {
					u = strings.Replace(u, "page_token=&", "page_token="+url.QueryEscape(token)+"&", 1)
				}
				t0 := time.Now()
				res, err := http.Get(u)
				if err != nil {
					b.Fatal(err)
				}
				body, err := io.ReadAll(res.Body)
				res.Body.Close()
				lat = append(lat, time.Since(t0))
				if err != nil || res.StatusCode != 200 {
					b.Fatalf("%s: %d %v %.300s", u, res.StatusCode, err, body)
				}
				size += len(body)
				var page struct {
					Runs      []json.RawMessage `json:"runs"`
					Total     int               `json:"total_size"`
					NextToken string            `json:"next_page_token"`
				}
				if err := json.Unmarshal(body, &page); err != nil || len(page.Runs) != 50 && page.NextToken != "" || page.Total != n {
					b.Fatalf("page: %d runs of %d (want %d): %v", len(page.Runs), page.Total, n, err)
				}
				if c.next {
					token = page.NextToken
				}
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(size)/float64(b.N)/1024, "KB/page")
			// CPU of the process per page (the server and this client):
			// what a page costs without the waiting a busy machine adds.
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/page")
		})
	}
}

// processCPU is this process's user and system time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
