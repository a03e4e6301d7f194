package apiserver

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/kubeline/kubeline/runtime/store"
)

// A page of runs is written as bytes: each run's fields as runJSONWith
// renders them (the same JSON value, keys in another order) and its kept
// listing's spec and task details copied as stored, instead of building a
// map per run and marshalling it (which also re-reads and compacts every
// listing's bytes). The listings are JSON the server marshalled itself
// (keepListings), so they are copied unchecked.

// runsPage is the runs list response: {"runs":[...],"total_size":N,
// "next_page_token":"..."}, runs left out when there are none, as
// listResponse has it. items are the runs' JSON, in order; nil ones are
// left out.
func runsPage(items [][]byte, page store.Page) rawBody {
	size := 0
	for _, it := range items {
		size += len(it) + 1
	}
	return writeRunsPage(len(items), size, func(b []byte, i int) []byte { return append(b, items[i]...) }, page)
}

// writeRunsPage writes runsPage of n runs (about size bytes), each
// appended by item, which appends nothing for a run that is gone (deleted
// while the page was read).
func writeRunsPage(n, size int, item func(b []byte, i int) []byte, page store.Page) rawBody {
	b := make([]byte, 0, size+64+len(page.NextPageToken))
	b = append(b, '{')
	written := 0
	for i := 0; i < n; i++ {
		mark := len(b)
		if written == 0 {
			b = append(b, `"runs":[`...)
		} else {
			b = append(b, ',')
		}
		before := len(b)
		if b = item(b, i); len(b) == before {
			b = b[:mark]
			continue
		}
		written++
	}
	if written > 0 {
		b = append(b, "],"...)
	}
	b = append(b, `"total_size":`...)
	b = strconv.AppendInt(b, int64(page.TotalSize), 10)
	if page.NextPageToken != "" {
		b = append(b, `,"next_page_token":`...)
		b = appendJSONString(b, page.NextPageToken)
	}
	b = append(b, "}\n"...)
	return rawBody{"application/json", b}
}

// appendRunJSON appends the JSON of runJSONWith(r, spec, tasks) for a run
// with a kept listing: spec is its inline spec as JSON ("" for none),
// tasks its task details as a JSON array.
func appendRunJSON(b []byte, r store.Run, spec, tasks string) []byte {
	field := func(name string) {
		b = append(b, ',', '"')
		b = append(b, name...)
		b = append(b, '"', ':')
	}
	b = append(b, `{"run_id":`...)
	b = appendJSONString(b, r.ID)
	for _, f := range [...]struct{ name, value string }{{"display_name", r.DisplayName}, {"storage_state", r.StorageState},
		{"state", r.State}, {"experiment_id", r.ExperimentID}, {"description", r.Description},
		{"service_account", r.ServiceAccount}, {"recurring_run_id", r.RecurringRunID}} {
		if f.value != "" || f.name == "display_name" || f.name == "storage_state" || f.name == "state" {
			field(f.name)
			b = appendJSONString(b, f.value)
		}
	}
	for _, f := range [...]struct {
		name string
		at   time.Time
	}{{"created_at", r.CreatedAt}, {"scheduled_at", r.ScheduledAt}, {"finished_at", r.FinishedAt}} {
		field(f.name)
		b = appendTimestamp(b, f.at)
	}
	if r.Error != "" {
		field("error")
		b = append(b, `{"code":2,"message":`...)
		b = appendJSONString(b, r.Error)
		b = append(b, '}')
	}
	if r.PipelineVersionID != "" {
		field("pipeline_version_reference")
		b = append(b, `{"pipeline_id":`...)
		b = appendJSONString(b, r.PipelineID)
		b = append(b, `,"pipeline_version_id":`...)
		b = appendJSONString(b, r.PipelineVersionID)
		b = append(b, '}')
	} else if len(spec) > 0 {
		field("pipeline_spec")
		b = append(b, spec...)
	}
	if r.RuntimeConfig != "" {
		// As runJSONWith writes it (only when it is JSON; numbers as
		// float64s), so that the list shows what GET shows.
		var rc any
		if json.Unmarshal([]byte(r.RuntimeConfig), &rc) == nil {
			if v, err := json.Marshal(rc); err == nil {
				field("runtime_config")
				b = append(b, v...)
			}
		}
	}
	field("state_history")
	if len(r.StateHistory) == 0 {
		b = append(b, "null"...)
	} else {
		for i, ev := range r.StateHistory {
			if i == 0 {
				b = append(b, '[')
			} else {
				b = append(b, ',')
			}
			b = append(b, `{"update_time":`...)
			b = appendTimestamp(b, ev.Time)
			b = append(b, `,"state":`...)
			b = appendJSONString(b, ev.State)
			if ev.Error != "" {
				b = append(b, `,"error":{"message":`...)
				b = appendJSONString(b, ev.Error)
				b = append(b, '}')
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	field("run_details")
	b = append(b, `{"task_details":`...)
	if len(tasks) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, tasks...)
	}
	return append(b, "}}"...)
}

// appendTimestamp appends timestamp(t) as a JSON string.
func appendTimestamp(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, `"1970-01-01T00:00:00Z"`...)
	}
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339)
	return append(b, '"')
}

// appendJSONString appends s as encoding/json writes a string: printable
// ASCII other than " \ < > & as is, anything else through json.Marshal
// (escapes, HTML-safe escapes, invalid UTF-8 replaced).
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= utf8.RuneSelf {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
