package apiserver

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeline/kubeline/runtime/store"
)

// TestRunJSONBytes: a run written as bytes from its kept listing is the
// same JSON value as runJSONWith renders — every optional field set or
// not, strings that need escapes (quotes, HTML, control characters,
// non-ASCII, invalid UTF-8), runtime configs that are JSON or not, no
// history — and a page of them is listResponse's.
func TestRunJSONBytes(t *testing.T) {
	at := time.Date(2026, 12, 3, 4, 5, 6, 789e6, time.FixedZone("x", 3600))
	spec := `{"pipelineInfo":{"name":"a\u003cb"},"root":{}}`
	tasks := `[{"task_id":"t","state":"SUCCEEDED","outputs":{"o":{"artifact_ids":["7"]}}}]`
	full := store.Run{ID: "r1", ExperimentID: "e1", DisplayName: `say "hi" <b>&amp;</b>`, Description: "tab\tnew\nline é ☃ \u2028",
		StorageState: "AVAILABLE", PipelineID: "p", PipelineVersionID: "v", RuntimeConfig: "{\"parameters\": {\"x\": 1, \"big\": 12345678901234567}}",
		ServiceAccount: "sa", State: "FAILED", Error: "step \x01 failed: <exit 1>", RecurringRunID: "rr",
		StateHistory: []store.StateEvent{{Time: at, State: "PENDING"}, {Time: at.Add(time.Second), State: "FAILED", Error: "bad \xff byte"}},
		CreatedAt:    at, ScheduledAt: at, FinishedAt: at.Add(time.Minute)}
	inline := store.Run{ID: "r2", DisplayName: "inline", StorageState: "ARCHIVED", State: "SUCCEEDED", RuntimeConfig: "not json",
		StateHistory: []store.StateEvent{{Time: at, State: "SUCCEEDED"}}, CreatedAt: at}
	bare := store.Run{ID: "r3", DisplayName: "", StorageState: "", State: "", RuntimeConfig: "null"}
	for _, c := range []struct {
		name        string
		run         store.Run
		spec, tasks string
	}{
		{"every field", full, "", tasks},
		{"version reference wins over a spec", full, spec, tasks},
		{"inline spec", inline, spec, tasks},
		{"nothing set", bare, "", "[]"},
	} {
		var specArg any
		if c.spec != "" {
			specArg = json.RawMessage(c.spec)
		}
		want := decodeJSON(t, mustMarshal(t, runJSONWith(c.run, specArg, json.RawMessage(c.tasks))))
		raw := appendRunJSON(nil, c.run, c.spec, c.tasks)
		if !json.Valid(raw) {
			t.Fatalf("%s: not JSON: %s", c.name, raw)
		}
		if d := cmp.Diff(want, decodeJSON(t, raw)); d != "" {
			t.Errorf("%s: bytes vs runJSONWith (-map +bytes):\n%s", c.name, d)
		}
	}

	one := appendRunJSON(nil, inline, spec, tasks)
	for _, c := range []struct {
		name  string
		items [][]byte
		page  store.Page
	}{
		{"runs and a next page", [][]byte{one, nil, one}, store.Page{TotalSize: 120, NextPageToken: "tok<&>"}},
		{"last page", [][]byte{one}, store.Page{TotalSize: 1}},
		{"no runs", nil, store.Page{TotalSize: 0}},
		{"past the end", [][]byte{nil}, store.Page{TotalSize: 3}},
	} {
		var views []map[string]any
		for _, it := range c.items {
			if it != nil {
				var m map[string]any
				if err := json.Unmarshal(it, &m); err != nil {
					t.Fatal(err)
				}
				views = append(views, m)
			}
		}
		if views == nil {
			views = []map[string]any{}
		}
		want := decodeJSON(t, mustMarshal(t, listResponse("runs", views, c.page)))
		body := runsPage(c.items, c.page)
		if body.contentType != "application/json" || body.body[len(body.body)-1] != '\n' {
			t.Errorf("%s: %q ending %q", c.name, body.contentType, body.body[len(body.body)-1:])
		}
		if d := cmp.Diff(want, decodeJSON(t, body.body)); d != "" {
			t.Errorf("%s: page bytes vs listResponse (-map +bytes):\n%s", c.name, d)
		}
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return v
}
