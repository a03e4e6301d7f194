package apiserver_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kubeline/kubeline/runtime/apiserver"
)

// TestRecurringRunFromPackage: a recurring run made from an inline spec
// whose command starts with a newline (as every lightweight Python
// component's does) is stored as sent, shows its spec in GET and fires; a
// spec or parameters that cannot make a run are refused at create, naming
// the problem; a firing that fails is recorded on the recurring run and
// the next time of its trigger tries again.
func TestRecurringRunFromPackage(t *testing.T) {
	base := newServerWith(t, func(api *apiserver.Server, ctx context.Context) { go api.Schedule(ctx, 100*time.Millisecond) })
	data, err := os.ReadFile("../../examples/hello-params/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, doc := clientJSON(t, data)
	exec := doc["deploymentSpec"].(map[string]any)["executors"].(map[string]any)["exec-shout"].(map[string]any)["container"].(map[string]any)
	args := exec["args"].([]any)
	args[0] = "\n" + args[0].(string) // the shape yaml.v3 writes as "- |4" and cannot read back
	every := map[string]any{"periodic_schedule": map[string]any{"interval_second": 1}}

	for _, c := range []struct {
		name string
		body map[string]any
		want string
	}{
		{"no root", map[string]any{"pipeline_spec": map[string]any{"schemaVersion": "2.1.0", "pipelineInfo": map[string]any{"name": "x"}}},
			"recurring_run: "},
		{"unknown parameter", map[string]any{"pipeline_spec": doc, "runtime_config": map[string]any{"parameters": map[string]any{"nope": 1}}},
			"recurring_run: runtime_config.parameters[nope]"},
	} {
		c.body["display_name"], c.body["trigger"] = c.name, every
		r := call(t, "POST", base+"/recurringruns", c.body)
		if msg, _ := r.body["message"].(string); r.code != 400 || !strings.HasPrefix(msg, c.want) {
			t.Errorf("%s: %d %s, want 400 starting %q", c.name, r.code, r.raw, c.want)
		}
	}
	if r := call(t, "GET", base+"/recurringruns", nil); r.body["total_size"] != float64(0) {
		t.Fatalf("refused recurring runs were stored: %s", r.raw)
	}

	r := call(t, "POST", base+"/recurringruns", map[string]any{"display_name": "inline", "pipeline_spec": doc,
		"trigger": every, "mode": "ENABLE", "no_catchup": true, "max_concurrency": "2"})
	if r.code != 200 {
		t.Fatalf("create: %d %s", r.code, r.raw)
	}
	id := r.body["recurring_run_id"].(string)
	got := call(t, "GET", base+"/recurringruns/"+id, nil)
	spec, _ := got.body["pipeline_spec"].(map[string]any)
	if spec == nil || !strings.Contains(got.raw, `"args":["\ngreeting=`) {
		t.Fatalf("GET does not show the spec as sent: %s", got.raw)
	}
	runs := waitFired(t, base, id, 2)
	for _, run := range runs {
		if r := waitRun(t, base, run); r["state"] != "SUCCEEDED" {
			t.Errorf("fired run %s ended %v: %v", run, r["state"], r["error"])
		}
	}
	call(t, "POST", base+"/recurringruns/"+id+":disable", nil)

	// A firing that fails: the version it runs is gone.
	p := upload(t, base, "../../examples/hello-params/pipeline.yaml", "name=hello")
	pid := p.body["pipeline_id"].(string)
	r = call(t, "POST", base+"/recurringruns", map[string]any{"display_name": "orphan", "trigger": every, "no_catchup": true,
		"pipeline_version_reference": map[string]any{"pipeline_id": pid}})
	if r.code != 200 {
		t.Fatalf("create: %d %s", r.code, r.raw)
	}
	orphan := r.body["recurring_run_id"].(string)
	if d := call(t, "DELETE", base+"/pipelines/"+pid+"?cascade=true", nil); d.code != 200 {
		t.Fatalf("delete pipeline: %d %s", d.code, d.raw)
	}
	firstAt := ""
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		got := call(t, "GET", base+"/recurringruns/"+orphan, nil)
		e, _ := got.body["error"].(map[string]any)
		msg, _ := e["message"].(string)
		if msg != "" && firstAt == "" {
			firstAt = msg
			if !strings.Contains(msg, pid) && !strings.Contains(msg, "not found") {
				t.Errorf("firing error does not say why: %q", msg)
			}
		}
		if msg != "" && msg != firstAt { // a later scheduled time failed too: retried per the trigger
			if n := len(firedRuns(t, base, orphan)); n != 0 {
				t.Errorf("failed firings made %d runs", n)
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no recorded firing error, or it was not retried at the next trigger time (first: %q)", firstAt)
}

// firedRuns lists the ids of the runs a recurring run started.
func firedRuns(t *testing.T, base, id string) []string {
	t.Helper()
	filter := url.QueryEscape(fmt.Sprintf(`{"predicates":[{"operation":"EQUALS","key":"recurring_run_id","string_value":%q}]}`, id))
	var ids []string
	for _, r := range listOf(call(t, "GET", base+"/runs?filter="+filter, nil).body["runs"]) {
		ids = append(ids, r["run_id"].(string))
	}
	return ids
}

func listOf(v any) []map[string]any {
	var out []map[string]any
	l, _ := v.([]any)
	for _, x := range l {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// waitFired waits up to 15 s for n runs of a recurring run.
func waitFired(t *testing.T, base, id string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		runs := firedRuns(t, base, id)
		if len(runs) >= n {
			return runs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d runs fired in 15 s by an every-second schedule, want %d", len(runs), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
