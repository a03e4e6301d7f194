package compiler

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	yamlv2 "go.yaml.in/yaml/v2"
)

// yamlWriterStrings are scalars at the edges of yaml.v2's style choices:
// plain or quoted by resolution (YAML 1.1 words, numbers, timestamps, base
// 60), indicators, spaces and breaks at either end, control and non-ASCII
// characters, and long lines that fold at 80 columns in each style.
var yamlWriterStrings = []string{
	"", "a", "plain text", "true", "y", "Yes", "on", "OFF", "~", "null", "<<", ".nan", ".5", "1", "-1", "+1", "0x1F",
	"0o17", "0b101", "-0b101", "1_000", "1e3", "1.", "2001-12-14", "2001-12-14T21:59:43.10Z", "1:20", "-1:20:30.5",
	"1.2.3", "2.1.0", "9223372036854775808", "18446744073709551616", "-", "- x", "-x", "?", "? x", "?x", ":", ": x",
	"a: b", "a:b", "a #b", "a#b", "#a", ",a", "[a]", "{{inputs.parameters.x}}", "{{=toJson(x)}}", "&a", "*a", "!a",
	"|a", ">a", "'a'", "\"a\"", "%a", "@a", "`a", "---", "--- a", "...", "a ", " a", "\ta", "a\tb", "a\rb",
	"a\nb", "a\n", "a\n\n", "\n", "\na", " a\nb", "a \nb", "a\n b", "a\n\nb\n", "\u00e9t\u00e9", "\u0085", "a\u2028b",
	"\ufeffa", "a\ufeff", "\U0001F600", "\x00", "\x7f", "a\\b", "a\"b", "it's",
	strings.Repeat("word ", 30), strings.Repeat("x", 100) + " y", "{{" + strings.Repeat("w ", 60) + "}}",
	strings.Repeat("w  ", 40) + "end", "\"" + strings.Repeat("q ", 50), strings.Repeat("tab\t", 30) + " a b c",
	"python3 -c \"" + strings.Repeat("import x; ", 12) + "\"", strings.Repeat("line of text\n", 4),
	"#!/bin/sh\nset -e\n  indented\n\ttabbed\nend", "trailing space \nline", strings.Repeat("é ", 60),
	strings.Repeat("a", 129), strings.Repeat("k", 128),
}

// yamlWriterTrees puts every string as a key and as a value at several
// depths and in lists, beside the other value types.
func yamlWriterTrees() []any {
	var trees []any
	for _, s := range yamlWriterStrings {
		trees = append(trees,
			yamlv2.MapSlice{{Key: s, Value: s}},
			yamlv2.MapSlice{{Key: "k", Value: yamlv2.MapSlice{{Key: s, Value: []any{s, yamlv2.MapSlice{{Key: "n", Value: s}, {Key: s, Value: 1}}}}}}},
			[]any{s, []any{s, []any{}}, yamlv2.MapSlice{}},
			s)
	}
	trees = append(trees,
		yamlv2.MapSlice(nil), []any{}, 1, 2.5, true, nil,
		yamlv2.MapSlice{{Key: "n", Value: []any{1, -2, 2.5, 1e21, 1e-7, true, false, nil, []any{}, yamlv2.MapSlice{}}}},
		yamlv2.MapSlice{{Key: "a", Value: yamlv2.MapSlice{{Key: "b", Value: yamlv2.MapSlice{{Key: "c", Value: []any{[]any{"d", yamlv2.MapSlice{{Key: "e", Value: "f"}}}}}}}}}},
		yamlv2.MapSlice{{Key: 1, Value: "not a string key"}},
		yamlv2.MapSlice{{Key: "bytes", Value: "\xff\xfe"}},
		yamlv2.MapSlice{{Key: "other", Value: int64(1)}},
	)
	return trees
}

func TestYAMLWriterMatchesYAMLv2(t *testing.T) {
	taken := 0
	for _, tree := range yamlWriterTrees() {
		if sameAsYAMLv2(t, tree) {
			taken++
		}
	}
	// Left to yaml.v2: the two trees of each string that is no simple key
	// (over 128 bytes or on several lines), a non-string key, invalid
	// UTF-8, an int64.
	left := 3
	for _, s := range yamlWriterStrings {
		if len(s) > 128 || strings.ContainsAny(s, "\r\n\u0085\u2028\u2029") {
			left += 2
		}
	}
	if all := len(yamlWriterTrees()); taken != all-left {
		t.Errorf("the writer took %d of %d trees, want %d", taken, all, all-left)
	}
}

// sameAsYAMLv2 fails t unless writeYAML writes tree as yamlv2.Marshal does
// or gives up; it reports whether it wrote it.
func sameAsYAMLv2(t *testing.T, tree any) bool {
	t.Helper()
	got, ok := writeYAML(tree, 0)
	if !ok {
		return false
	}
	want, err := yamlv2.Marshal(tree)
	if err != nil {
		t.Fatalf("yaml.v2: %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Fatalf("%#v (-yaml.v2 +writeYAML):\n%s", tree, diff)
	}
	return true
}

// TestYAMLWriterTakesWorkflows: every corpus pipeline's workflow is written
// by the writer itself, not by the yaml.v2 fallback (a writer that gave up
// on everything would pass the other tests).
func TestYAMLWriterTakesWorkflows(t *testing.T) {
	n := 0
	for _, f := range corpusFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		wf, err := Compile(filepath.Base(f), data, Options{})
		if err != nil {
			continue
		}
		b, _ := json.Marshal(wf)
		tree, err := yamlTree(b)
		if err != nil {
			t.Fatal(err)
		}
		if !sameAsYAMLv2(t, tree) {
			t.Errorf("%s: left to yaml.v2", f)
		}
		n++
	}
	if n < 150 {
		t.Fatalf("%d workflows, want 150+", n)
	}
}

// FuzzYAMLWriter: any string, as a key and as a value, is written as
// yaml.v2 writes it or left to yaml.v2.
func FuzzYAMLWriter(f *testing.F) {
	for _, s := range yamlWriterStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sameAsYAMLv2(t, yamlv2.MapSlice{{Key: s, Value: s}, {Key: "l", Value: []any{s, yamlv2.MapSlice{{Key: s, Value: []any{s}}}}}})
	})
}

// TestAnalyzeASCII: the printable-ASCII fast path finds what the whole
// analysis finds, on every string of up to four characters from an
// alphabet of the characters that matter (line feeds included), and
// refuses anything else.
func TestAnalyzeASCII(t *testing.T) {
	alphabet := []string{" ", "a", "-", "?", ":", "#", ".", "{", "'", "\"", "!", "|", "\t", "\x7f", "\u00e9", "\n"}
	var check func(prefix string, depth int)
	check = func(v string, depth int) {
		if v != "" {
			a, ok := analyzeASCII(v)
			ascii := !strings.ContainsAny(v, "\t\x7f\u00e9")
			if ok != ascii {
				t.Fatalf("%q: fast path took it %v, want %v", v, ok, ascii)
			}
			if ok && a != analyzeAny(v) {
				t.Fatalf("%q: fast path %+v, full analysis %+v", v, a, analyzeAny(v))
			}
		}
		if depth == 0 {
			return
		}
		for _, c := range alphabet {
			check(v+c, depth-1)
		}
	}
	check("", 4)
	for _, v := range []string{"---", "--- a", "...", "..x", "a: b", "a:", "a #b", "a#b", "- ", "-", "? x", "a\n#b", "a:\nb",
		"x \ny", "x\n y", "\n", "a\n", "\na", "line one\nline two\n", "a \n"} {
		if a, _ := analyzeASCII(v); a != analyzeAny(v) {
			t.Errorf("%q: fast path %+v, full analysis %+v", v, a, analyzeAny(v))
		}
	}
}

// TestPlainWord: a word plainWord takes is written by its shortcut as
// yaml.v2 writes it, as a key and as a value at several depths, for every
// string of up to four characters from an alphabet of letters that start
// YAML 1.1 words (y, n, o, N, ...), digits and the other characters it
// takes and some it must refuse; and it takes the words a workflow is made
// of.
func TestPlainWord(t *testing.T) {
	alphabet := []string{"a", "y", "n", "o", "N", "T", "e", "1", "-", "_", ".", "/", ":", " ", "~"}
	taken := 0
	var check func(prefix string, depth int)
	check = func(v string, depth int) {
		if plainWord(v) {
			taken++
			sameAsYAMLv2(t, yamlv2.MapSlice{{Key: v, Value: v}, {Key: "l", Value: []any{v, yamlv2.MapSlice{{Key: v, Value: []any{v}}}}}})
		}
		if depth == 0 {
			return
		}
		for _, c := range alphabet {
			check(v+c, depth-1)
		}
	}
	check("", 4)
	for _, w := range []string{"name", "container", "kubeline-k8s-10", "kubeline.io/pipeline", "argoproj.io/v1alpha1", "Workflow", "system-container-impl"} {
		if !plainWord(w) {
			t.Errorf("plainWord(%q) = false", w)
		}
	}
	for _, w := range []string{"y", "yes", "No", "on", "OFF", "true", "null", "a b", "a:", "", "1a", ".a", "-a", "é"} {
		if plainWord(w) {
			t.Errorf("plainWord(%q) = true", w)
		}
	}
	if taken < 1000 {
		t.Fatalf("plainWord took only %d strings", taken)
	}
}
