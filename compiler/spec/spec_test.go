package spec

import (
	"archive/zip"
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	zw.Close()
	return buf.Bytes()
}

func TestUnpack(t *testing.T) {
	cases := []struct {
		name    string
		data    []byte
		want    string
		wantErr string
	}{
		{"plain yaml", []byte("a: 1\n"), "a: 1\n", ""},
		{"zip with pipeline.yaml", zipOf(t, map[string]string{"x/pipeline.yaml": "p: 1", "other.yaml": "o: 1"}), "p: 1", ""},
		{"zip with one json", zipOf(t, map[string]string{"spec.json": "{}"}), "{}", ""},
		{"zip with two specs", zipOf(t, map[string]string{"a.yaml": "a", "b.yaml": "b"}), "", "several specs"},
		{"zip without spec", zipOf(t, map[string]string{"readme.txt": "hi"}), "", "no pipeline.yaml"},
		{"broken zip", []byte("PK\x03\x04garbage"), "", "invalid zip"},
		{"broken gzip", []byte{0x1f, 0x8b, 0, 1}, "", "invalid gzip"},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00"), "", "not a pipeline"},
		{"zip with traversal", zipOf(t, map[string]string{"../../etc/pipeline.yaml": "p: 1"}), "", "outside the archive"},
		{"zip with absolute path", zipOf(t, map[string]string{"/abs/pipeline.yaml": "p: 1"}), "", "outside the archive"},
		{"zip bomb", zipOf(t, map[string]string{"pipeline.yaml": strings.Repeat("a", 33<<20)}), "", "would expand"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Unpack("f", tc.data)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want error containing %q, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseKinds(t *testing.T) {
	docs, err := Parse([]byte("pipelineInfo: {name: x}\nroot: {}\n---\nplatforms:\n  kubernetes: {}\n---\n---\nkind: Experiment\n"))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []Kind
	for _, d := range docs {
		kinds = append(kinds, d.Kind)
	}
	if diff := cmp.Diff([]Kind{KindPipeline, KindPlatform, KindExperiment}, kinds); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, in, want string
		line           int
	}{
		{"empty", "", "empty document", 0},
		{"comments only", "# nothing\n", "empty document", 0},
		{"syntax", "a: [\nb: 1\n", "invalid YAML", 2},
		{"list at top", "- a\n- b\n", "expected a mapping at the top level", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("want Errors, got %T %v", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
			if es[0].Line != tc.line {
				t.Fatalf("line %d, want %d (%v)", es[0].Line, tc.line, err)
			}
		})
	}
}

func TestErrorsSortedAndWrapped(t *testing.T) {
	var es Errors
	es.Add("b", &Pos{Line: 9, Column: 1}, "second")
	es.AddErr("a", &Pos{Line: 2, Column: 5}, ErrUnsupported)
	err := es.Err()
	if diff := cmp.Diff("2:5: a: not supported\n9:1: b: second", err.Error()); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if !errors.Is(err, ErrUnsupported) {
		t.Fatal("errors.Is does not see a collected sentinel")
	}
	if (Errors{}).Err() != nil {
		t.Fatal("empty Errors is an error")
	}
}

func TestPathHelpers(t *testing.T) {
	got := []string{Key("", "root"), Key("root", "dag"), Key("a", "x.y"), Index("l", 3), Named("tasks", "train")}
	want := []string{"root", "root.dag", "a[x.y]", "l[3]", "tasks[train]"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestValue(t *testing.T) {
	docs, err := Parse([]byte("a: 1\nb: [true, null, x]\nc: {d: 2.5}\n"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := Value(docs[0].Node)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": 1.0, "b": []any{true, nil, "x"}, "c": map[string]any{"d": 2.5}}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}
