package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"mime/multipart"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The tests of this file are issue #16's "resource exhaustion" cases, each
// sent to a real `kubeline server` process: the answer is a 4xx naming the
// limit, the server's peak RSS stays under maxServeRSS while it serves the
// request, and it still answers healthz afterwards.

const maxServeRSS = 200 << 20

// hostileCase is one request and the answer it must get.
type hostileCase struct {
	name string
	send func(t *testing.T, p *serverProc) (int, string)
	code int
	// says is a part of the answer's body (the limit's name).
	says string
}

func runHostile(t *testing.T, p *serverProc, cases []hostileCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p.t = t
			p.resetPeak()
			code, body := tc.send(t, p)
			if code != tc.code || !strings.Contains(body, tc.says) {
				t.Errorf("got %d %.400s\nwant %d saying %q", code, body, tc.code, tc.says)
			}
			p.underRSS(tc.name, maxServeRSS)
			p.healthy()
		})
	}
}

// upload sends data as the multipart uploadfile of POST /pipelines/upload.
func upload(t *testing.T, base, file string, data []byte, query string) (int, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("uploadfile", file)
	fw.Write(data)
	mw.Close()
	return send(t, "POST", base+"/pipelines/upload?"+query, mw.FormDataContentType(), &buf)
}

// bombPipeline is a valid pipeline but for its LIST parameter's default:
// value.
func bombPipeline(value string) string {
	return `components:
  comp-nap:
    executorLabel: exec-nap
    inputDefinitions:
      parameters:
        items: {parameterType: LIST}
deploymentSpec:
  executors:
    exec-nap:
      container: {image: alpine, command: [sh, -c, 'true']}
pipelineInfo: {name: bomb}
root:
  inputDefinitions:
    parameters:
      items:
        parameterType: LIST
        defaultValue:` + value + `
  dag:
    tasks:
      nap:
        componentRef: {name: comp-nap}
        inputs:
          parameters:
            items: {componentInputParameter: items}
        taskInfo: {name: nap}
schemaVersion: 2.1.0
`
}

// laughs is a billion laughs: nine levels of ten aliases of the level below.
func laughs() string {
	var b strings.Builder
	b.WriteString("\n        - &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]")
	for i := 1; i <= 8; i++ {
		fmt.Fprintf(&b, "\n        - &a%d [%s]", i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 10), ", "))
	}
	return b.String()
}

func TestHostileYAMLAliases(t *testing.T) {
	p := startServerProc(t, t.TempDir())
	bomb := bombPipeline(laughs())
	if len(bomb) > 2000 {
		t.Fatalf("the bomb is %d bytes, want about 1.4 KB", len(bomb))
	}
	runHostile(t, p, []hostileCase{
		{name: "billion laughs in a LIST default", code: 400, says: "--max-yaml-nodes",
			send: func(t *testing.T, p *serverProc) (int, string) {
				return upload(t, p.base, "bomb.yaml", []byte(bomb), "")
			}},
		{name: "alias cycle", code: 400, says: "alias cycle",
			send: func(t *testing.T, p *serverProc) (int, string) {
				return upload(t, p.base, "cycle.yaml", []byte(bombPipeline(" &c [1, *c]")), "")
			}},
		{name: "scalar bomb", code: 400, says: "--max-yaml-bytes",
			send: func(t *testing.T, p *serverProc) (int, string) {
				big := "\n        - &s " + strings.Repeat("x", 1<<20) + "\n" + strings.Repeat("        - *s\n", 40)
				return upload(t, p.base, "scalars.yaml", []byte(bombPipeline(big)), "")
			}},
		{name: "a million flow items", code: 400, says: "--max-yaml-nodes",
			send: func(t *testing.T, p *serverProc) (int, string) {
				return upload(t, p.base, "wide.yaml", []byte(bombPipeline(" ["+strings.Repeat("1,", 1<<20)+"1]")), "")
			}},
		{name: "a fine list still uploads", code: 200, says: `"pipeline_id"`,
			send: func(t *testing.T, p *serverProc) (int, string) {
				return upload(t, p.base, "fine.yaml", []byte(bombPipeline(" &f [1, 2]\n        # *f")), "name=fine")
			}},
	})
}

// tarGz is a .tar.gz of n members of size bytes each (zeros; size a
// multiple of 512), and a pipeline.yaml. It is written as a multistream
// gzip (one gzip member per tar block run, as gzip allows), so the zeros
// are compressed once however many members hold them.
func tarGz(t *testing.T, n int, size int64) []byte {
	t.Helper()
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		w.Write(b)
		w.Close()
		return buf.Bytes()
	}
	header := func(name string, size int64) []byte {
		var buf bytes.Buffer
		if err := tar.NewWriter(&buf).WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	zeros := gz(make([]byte, size))
	var out bytes.Buffer
	for i := 0; i < n; i++ {
		out.Write(gz(header(fmt.Sprintf("data/m%04d.bin", i), size)))
		out.Write(zeros)
	}
	spec := []byte(sleepPipeline)
	last := append(header("pipeline.yaml", int64(len(spec))), spec...)
	last = append(last, make([]byte, (512-len(spec)%512)%512+1024)...) // padding, then the end of the archive
	out.Write(gz(last))
	return out.Bytes()
}

func TestHostileArchive(t *testing.T) {
	p := startServerProc(t, t.TempDir())
	many := tarGz(t, 1000, 1<<20) // 1,000 members of 1 MiB: 1 GB unpacked
	t.Logf("the .tar.gz of 1,000 MiB-members is %d bytes", len(many))
	// A .zip of 200 MiB-members, each deflated once.
	var zbuf, deflated bytes.Buffer
	fw, _ := flate.NewWriter(&deflated, flate.BestCompression)
	fw.Write(make([]byte, 1<<20))
	fw.Close()
	zw := zip.NewWriter(&zbuf)
	for i := 0; i < 200; i++ {
		w, err := zw.CreateRaw(&zip.FileHeader{Name: fmt.Sprintf("m%03d.bin", i), Method: zip.Deflate,
			CRC32: crc32.ChecksumIEEE(make([]byte, 1<<20)), CompressedSize64: uint64(deflated.Len()), UncompressedSize64: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(deflated.Bytes())
	}
	w, _ := zw.Create("pipeline.yaml")
	io.WriteString(w, sleepPipeline)
	zw.Close()
	runHostile(t, p, []hostileCase{
		{name: "tar.gz members past the byte budget", code: 400, says: "--max-archive-bytes",
			send: func(t *testing.T, p *serverProc) (int, string) { return upload(t, p.base, "many.tar.gz", many, "") }},
		{name: "tar.gz with too many members", code: 400, says: "--max-archive-members",
			send: func(t *testing.T, p *serverProc) (int, string) {
				return upload(t, p.base, "count.tar.gz", tarGz(t, 1001, 0), "")
			}},
		{name: "zip members past the byte budget", code: 400, says: "--max-archive-bytes",
			send: func(t *testing.T, p *serverProc) (int, string) {
				return upload(t, p.base, "many.zip", zbuf.Bytes(), "")
			}},
		{name: "a small archive still uploads", code: 200, says: `"pipeline_id"`,
			send: func(t *testing.T, p *serverProc) (int, string) {
				return upload(t, p.base, "small.tar.gz", tarGz(t, 10, 1<<20), "name=small")
			}},
	})
}

// bigBody is a JSON experiment whose description is n bytes, generated as
// it is sent.
func bigBody(n int64) io.Reader {
	return io.MultiReader(strings.NewReader(`{"display_name":"big","description":"`),
		io.LimitReader(repeatReader('x'), n), strings.NewReader(`"}`))
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

func TestHostileJSONBody(t *testing.T) {
	p := startServerProc(t, t.TempDir())
	runHostile(t, p, []hostileCase{
		{name: "100 MB experiment description", code: 413, says: "--max-json-body",
			send: func(t *testing.T, p *serverProc) (int, string) {
				return send(t, "POST", p.base+"/experiments", "application/json", bigBody(100<<20))
			}},
		{name: "5 MB inline pipeline spec", code: 413, says: "--max-spec-body",
			send: func(t *testing.T, p *serverProc) (int, string) {
				body := io.MultiReader(strings.NewReader(`{"display_name":"r","pipeline_spec":{"x":"`),
					io.LimitReader(repeatReader('x'), 5<<20), strings.NewReader(`"}}`))
				return send(t, "POST", p.base+"/runs", "application/json", body)
			}},
		{name: "the experiment list stays small", code: 200, says: `"total_size":0`,
			send: func(t *testing.T, p *serverProc) (int, string) {
				return send(t, "GET", p.base+"/experiments", "", nil)
			}},
		{name: "a 512 KB description is stored", code: 200, says: `"experiment_id"`,
			send: func(t *testing.T, p *serverProc) (int, string) {
				return send(t, "POST", p.base+"/experiments", "application/json", bigBody(512<<10))
			}},
	})
}

// filterQuery is GET /runs with the filter of preds.
func filterQuery(base string, preds []map[string]any) string {
	b, _ := json.Marshal(map[string]any{"predicates": preds})
	return base + "/runs?filter=" + url.QueryEscape(string(b))
}

func inValues(n int) []map[string]any {
	vals := make([]string, n)
	for i := range vals {
		vals[i] = fmt.Sprintf("r%d", i)
	}
	return []map[string]any{{"key": "display_name", "operation": "IN", "string_values": map[string]any{"values": vals}}}
}

func predicates(n int) []map[string]any {
	preds := make([]map[string]any, n)
	for i := range preds {
		preds[i] = map[string]any{"key": "display_name", "operation": "NOT_EQUALS", "string_value": fmt.Sprint(i)}
	}
	return preds
}

func token(v string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(`{"s":"created_at false","f":"null","v":` + v + `,"i":"x"}`))
}

func TestHostileListInput(t *testing.T) {
	p := startServerProc(t, t.TempDir())
	get := func(u string) func(*testing.T, *serverProc) (int, string) {
		return func(t *testing.T, p *serverProc) (int, string) { return send(t, "GET", u, "", nil) }
	}
	runHostile(t, p, []hostileCase{
		{name: "40,000 IN values", code: 400, says: "--max-filter-values", send: get(filterQuery(p.base, inValues(40000)))},
		{name: "1,000 IN values", code: 200, says: `"total_size":0`, send: get(filterQuery(p.base, inValues(1000)))},
		{name: "5,000 predicates", code: 400, says: "--max-filter-predicates", send: get(filterQuery(p.base, predicates(5000)))},
		{name: "64 predicates", code: 200, says: `"total_size":0`, send: get(filterQuery(p.base, predicates(64)))},
		{name: "page_token value an object", code: 400, says: "page_token", send: get(p.base + "/runs?page_token=" + token(`{"a":1}`))},
		{name: "page_token value an array", code: 400, says: "page_token", send: get(p.base + "/runs?page_token=" + token(`[1,2]`))},
	})
}

func TestSloppyInput(t *testing.T) {
	p := startServerProc(t, t.TempDir())
	post := func(path, body string) func(*testing.T, *serverProc) (int, string) {
		return func(t *testing.T, p *serverProc) (int, string) {
			return send(t, "POST", p.base+path, "application/json", strings.NewReader(body))
		}
	}
	get := func(path string) func(*testing.T, *serverProc) (int, string) {
		return func(t *testing.T, p *serverProc) (int, string) { return send(t, "GET", p.base+path, "", nil) }
	}
	recurring := func(mc string) string {
		return `{"display_name":"rr","max_concurrency":` + mc + `,"trigger":{"periodic_schedule":{"interval_second":"60"}},` +
			`"pipeline_spec":{"pipelineInfo":{"name":"x"}}}`
	}
	runHostile(t, p, []hostileCase{
		{name: "trailing garbage", code: 400, says: "data after the JSON value", send: post("/experiments", `{"display_name":"a"} garbage`)},
		{name: "two JSON values", code: 400, says: "data after the JSON value", send: post("/experiments", `{"display_name":"a"}{"display_name":"b"}`)},
		{name: "page_size 1.5", code: 400, says: "page_size", send: get("/runs?page_size=1.5")},
		{name: "page_size 0x10", code: 400, says: "page_size", send: get("/runs?page_size=0x10")},
		{name: "page_size 5 6", code: 400, says: "page_size", send: get("/runs?page_size=5%206")},
		{name: "page_size 5", code: 200, says: `"total_size"`, send: get("/runs?page_size=5")},
		{name: "max_concurrency 1.5", code: 400, says: "max_concurrency", send: post("/recurringruns", recurring("1.5"))},
		{name: "max_concurrency 0x10", code: 400, says: "max_concurrency", send: post("/recurringruns", recurring(`"0x10"`))},
		{name: "max_concurrency 2e0", code: 400, says: "max_concurrency", send: post("/recurringruns", recurring("2e0"))},
		{name: "NUL in a display name", code: 400, says: "experiment.display_name: control character", send: post("/experiments", `{"display_name":"a\u0000b"}`)},
		{name: "escape in a display name", code: 400, says: "run.display_name: control character", send: post("/runs", `{"display_name":"\u001b[31mred"}`)},
		{name: "invalid UTF-8 in an upload's name", code: 400, says: "name: not valid UTF-8",
			send: func(t *testing.T, p *serverProc) (int, string) {
				return upload(t, p.base, "p.yaml", []byte(sleepPipeline), "name=%FF%FE")
			}},
		{name: "a Unicode display name", code: 200, says: "Ünïcode ✓", send: post("/experiments", `{"display_name":"Ünïcode ✓"}`)},
	})
}

func TestRecurringMaxConcurrency(t *testing.T) {
	p := startServerProc(t, t.TempDir())
	const slow = `components:
  comp-nap:
    executorLabel: exec-nap
deploymentSpec:
  executors:
    exec-nap:
      container: {image: alpine, command: [sh, -c, 'sleep 3']}
pipelineInfo: {name: nap}
root:
  dag:
    tasks:
      nap:
        componentRef: {name: comp-nap}
        taskInfo: {name: nap}
schemaVersion: 2.1.0
`
	pid := uploadString(t, p.base, slow)
	recurring := func(mc string) string {
		start := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		return `{"display_name":"every second","max_concurrency":` + mc + `,"mode":"ENABLE",` +
			`"trigger":{"periodic_schedule":{"interval_second":"1","start_time":"` + start + `"}},` +
			`"pipeline_version_reference":{"pipeline_id":"` + pid + `"}}`
	}
	post := func(body string) func(*testing.T, *serverProc) (int, string) {
		return func(t *testing.T, p *serverProc) (int, string) {
			return send(t, "POST", p.base+"/recurringruns", "application/json", strings.NewReader(body))
		}
	}
	runHostile(t, p, []hostileCase{
		{name: "max_concurrency 1000", code: 400, says: "max_concurrency: 1000 is outside KFP's range 1 to 10", send: post(recurring("1000"))},
		{name: "max_concurrency 11", code: 400, says: "outside KFP's range", send: post(recurring(`"11"`))},
		{name: "max_concurrency -1", code: 400, says: "outside KFP's range", send: post(recurring("-1"))},
	})
	// A valid one (2) with a second's interval and an hour to catch up on
	// never has more than 2 runs in flight.
	code, body := send(t, "POST", p.base+"/recurringruns", "application/json", strings.NewReader(recurring(`"2"`)))
	if code != 200 {
		t.Fatalf("create: %d %s", code, body)
	}
	var rr struct {
		ID string `json:"recurring_run_id"`
	}
	json.Unmarshal([]byte(body), &rr)
	most, total := 0, 0
	for end := time.Now().Add(7 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		_, list := send(t, "GET", p.base+"/runs?page_size=200", "", nil)
		var l struct {
			Runs []struct {
				State string `json:"state"`
			} `json:"runs"`
			Total int `json:"total_size"`
		}
		json.Unmarshal([]byte(list), &l)
		active := 0
		for _, r := range l.Runs {
			if r.State == "PENDING" || r.State == "RUNNING" {
				active++
			}
		}
		most, total = max(most, active), l.Total
	}
	send(t, "POST", p.base+"/recurringruns/"+rr.ID+":disable", "application/json", nil)
	t.Logf("max_concurrency 2: %d runs made in 7 s, at most %d in flight", total, most)
	if most > 2 || most == 0 {
		t.Errorf("at most %d runs in flight, want 1 or 2", most)
	}
	if total > 8 {
		t.Errorf("%d runs made in 7 s of 3 s runs two at a time, want at most 8", total)
	}
	p.healthy()
}
