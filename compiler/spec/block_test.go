package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// decodeYAML is what Parse does without the block reader: yaml.v3's
// documents, one by one.
func decodeYAML(data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, &n)
	}
}

// treeDiff describes the first difference between two yaml.v3 trees, every
// field of every node compared.
func treeDiff(a, b *yaml.Node, path string) string {
	if a.Kind != b.Kind || a.Style != b.Style || a.Tag != b.Tag || a.Value != b.Value || a.Anchor != b.Anchor ||
		a.Line != b.Line || a.Column != b.Column || a.HeadComment != b.HeadComment ||
		a.LineComment != b.LineComment || a.FootComment != b.FootComment || (a.Alias == nil) != (b.Alias == nil) ||
		len(a.Content) != len(b.Content) {
		return fmt.Sprintf("%s:\nblock:  %s\nyaml.v3: %s", path, nodeString(a), nodeString(b))
	}
	for i := range a.Content {
		if d := treeDiff(a.Content[i], b.Content[i], fmt.Sprintf("%s/%d", path, i)); d != "" {
			return d
		}
	}
	return ""
}

func nodeString(n *yaml.Node) string {
	return fmt.Sprintf("kind=%d style=%d tag=%q value=%q anchor=%q at %d:%d head=%q line=%q foot=%q alias=%v children=%d",
		n.Kind, n.Style, n.Tag, n.Value, n.Anchor, n.Line, n.Column, n.HeadComment, n.LineComment, n.FootComment,
		n.Alias != nil, len(n.Content))
}

// sameAsYAML reads data with the block reader and fails t when it returns
// anything but what yaml.v3 decodes; it reports whether the block reader
// took the input.
func sameAsYAML(t *testing.T, data []byte) bool {
	t.Helper()
	docs, nodes, size, ok := readBlock(data)
	if !ok {
		return false
	}
	want, err := decodeYAML(data)
	if err != nil {
		t.Fatalf("the block reader read input yaml.v3 refuses (%v):\n%s", err, data)
	}
	if len(docs) != len(want) {
		t.Fatalf("%d documents, yaml.v3 has %d:\n%s", len(docs), len(want), data)
	}
	var wantNodes, wantSize int64
	for i := range docs {
		if d := treeDiff(docs[i], want[i], fmt.Sprintf("document %d", i+1)); d != "" {
			t.Fatalf("%s\ninput:\n%s", d, data)
		}
		n, s, _ := plainSize(want[i])
		wantNodes, wantSize = wantNodes+n, wantSize+s
	}
	if nodes != wantNodes || size != wantSize {
		t.Fatalf("counted %d nodes, %d bytes; the trees have %d, %d", nodes, size, wantNodes, wantSize)
	}
	return true
}

// blockCases are inputs at the edges of the block subset: each is either
// read exactly as yaml.v3 reads it or left to yaml.v3.
var blockCases = []string{
	"a: 1\n",
	"a: 1",
	"# PIPELINE DEFINITION\n# Name: echo\na: b\n",
	"# c\n\na: b\n",
	"# c \na: b\n",
	"#\na: b\n",
	"a: b\n---\n# platforms\nplatforms:\n  kubernetes: {}\n",
	"---\na: b\n",
	"---\n# c\na: b\n---\nb: c\n",
	"a: b\n---\n",
	"a: b\n...\n",
	"a: b\n--- \nc: d\n",
	"a:\n  b: c\n  d:\n  - e\n  - f: g\n    h: i\n  - - j\n    - k\n  l: []\nm: {}\n",
	"a:\n- b\n-  c\n-   d: e\n    f: g\n",
	"a:\n  - b\n  -\n",
	"a:\n",
	"a:\nb: c\n",
	"a: 'it''s'\nb: \"x\\ty\\u00e9\\x41\\U0001F600\\N\\_\\L\\P\\0\\a\\b\\v\\f\\r\\e\\ \\\"\\/\\\\\"\n",
	"a: \"x\\/y\"\n",
	"a: \"x\\qy\"\n",
	"a: \"\\ud800\"\n",
	"a: \"one\n  two\n\n  three\\\n  \\ four  \n   five\"\n",
	"a: 'one\n  two\n\n\n  three  \n  four'\n",
	"a: \"x\ny\"\n",
	"a: \"x\n---\ny\"\n",
	"- \"a\n  b\"\n",
	"a: plain text\n  continued here\n\n  after a blank\n    more\nb: c\n",
	"a: plain\n  - dash\n",
	"a: plain\n  # comment\n",
	"a: plain # comment\n",
	"a: x:y\nb: x: y\n",
	"a: x#y\n",
	"a: b\n  c: d\n",
	"a: |\n  one\n   two\n\n  three\n\n\nb: c\n",
	"a: |-\n  one\n  two\n\nb: c\n",
	"a: |+\n  one\n\n\nb: c\n",
	"a: |2\n    one\n  two\nb: c\n",
	"a: |1-\n  x\n",
	"a: |0\n  x\n",
	"a:\n  - |\n    in a list\n  - |4-\n        indented\n  - b: |\n      nested\n",
	"a: |\n\n  x\n",
	"a: |\n    \n  x\n",
	"a: |\n  x\n   \n  y\n",
	"a: |\nb: c\n",
	"a: | # c\n  x\n",
	"a: >\n  folded\n",
	"a: |\n  x",
	"a: |\n  \tx\n",
	"a: |\n\tx\n",
	"a:\n\t- b\n",
	"a: b\tc\n",
	"a: &x b\nc: *x\n",
	"a: !!str 1\n",
	"a: [1, 2]\n",
	"a: {b: c}\n",
	"? a\n: b\n",
	"<<: {}\n",
	"a: <<\n",
	"\"a b\": 1\n'c': 2\n\"d\\\"e\": 3\n",
	"\"a\nb\": 1\n",
	"a : b\n",
	"a: b\n  \n\nc: d\n",
	"a:\n  b: c\n d: e\n",
	"a:\n  b: c\n   d: e\n",
	"- a\n",
	"a\n",
	"",
	"\n",
	"  a: b\n",
	"a: b\r\nc: d\r\n",
	"a: caf\xc3\xa9\n",
	"a: -c\nb: --x\nc: ?x\nd: :x\ne: - x\n",
	"a: true\nb: True\nc: yes\nd: ~\ne: null\nf: 1\ng: -2\nh: 0x1F\ni: 0o17\nj: 0b101\nk: -0b101\nl: 1_000\nm: 1.5\nn: .5\no: 1e3\np: .inf\nq: -.Inf\nr: .nan\ns: 2001-12-14\nt: 2001-12-14T21:59:43.10Z\nu: 2.1.0\nv: 1.\nw: +1\nx: 0777\ny: 9223372036854775808\nz: 18446744073709551616\n",
	"1: a\n2.5: b\ntrue: c\n~: d\n",
	"a: '{{$.inputs.parameters[''p'']}}'\n",
	"a: x\n\n\n",
	"a: x\n   \n",
	"a:\n- b\nc: d\n- e\n",
	"a:\n  -  - b\n     - c\n",
	"a: - b\n",
	"a: \"\"\nb: ''\n",
	"a: 'x' y\n",
	"a: \"x\":\n",
	"a: \"unterminated\n",
	"a: b\n#c\n",
	"a: b\nc: d # e\n",
	"a: |\n  x\n# c\n",
	"a:\n  b:\n    c: d\n  e: f\ng: h\n",
}

func TestBlockReaderMatchesYAML(t *testing.T) {
	for _, c := range blockCases {
		sameAsYAML(t, []byte(c))
	}
}

// TestBlockReaderTakesSDKOutput holds the block reader to what it is for:
// every YAML pipeline of the KFP corpus is read by it, exactly as yaml.v3
// reads it (without this, a reader that gave up on everything would pass
// the other tests).
func TestBlockReaderTakesSDKOutput(t *testing.T) {
	var files []string
	for _, dir := range []string{"../../../shared/kfp-corpus/ir/valid", "../../../shared/kfp-corpus/ir/argo_compatibility"} {
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(files) < 150 {
		t.Fatalf("found %d YAML files, want 150+", len(files))
	}
	var left []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !sameAsYAML(t, data) {
			left = append(left, f)
		}
	}
	if len(left) > 0 {
		t.Errorf("left to yaml.v3 (%d of %d): %s", len(left), len(files), strings.Join(left, "\n"))
	}
}

// TestBlockReaderOnYAMLOfTheRepository: every other YAML file of the
// repository (testdata, goldens, examples) is read as yaml.v3 reads it or
// left to yaml.v3.
func TestBlockReaderOnYAMLOfTheRepository(t *testing.T) {
	n, files := 0, 0
	err := filepath.WalkDir("../..", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if sameAsYAML(t, data) {
			n++
		}
		files++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d of %d files read by the block reader", n, files)
}

func TestResolveTagMatchesYAML(t *testing.T) {
	for _, s := range []string{"", "a", "true", "TRUE", "tRUE", "yes", "No", "on", "~", "null", "NULL", ".nan", ".NaN", ".inf",
		"+.inf", "-.INF", ".5", ".", "..", ".e1", ".1e5", "1", "-1", "+1", "01", "0777", "0x1f", "0X1F", "0o17", "-0o17",
		"0b11", "-0b11", "0b", "0o", "1_0", "_1", "1__0", "0x_1", "1.5", "1.", "1.e5", "1e", "1e+", "1e+5", "+.5",
		"+", "9223372036854775807", "9223372036854775808", "-9223372036854775809", "18446744073709551615",
		"18446744073709551616", "0b1111111111111111111111111111111111111111111111111111111111111111",
		"2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10", "2001-1-1", "20011-12-14",
		"2001-13-14", "1.0.0", "2.1.0", "1:20", "1e1000", "0.1e-1000", "Infinity", "inf", "NaN", "0xFFp1",
		"0x1p-2", "1_000.5", "-0", "+0x10", "-0x10", "0B11", "0O17"} {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte("x: "+s+"\n"), &n); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		want := n.Content[0].Content[1].Tag
		if got := resolveTag(s); got != want {
			t.Errorf("resolveTag(%q) = %s, yaml.v3 says %s", s, got, want)
		}
	}
}

func TestYAMLFloatMatchesRegexp(t *testing.T) {
	re := regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)
	for _, s := range []string{"", "1", "-1", "+.5", ".", "1.", "1.5e3", "1e", "1e-", "e1", ".e1", "1.5.5", "--1",
		"1e5e5", "+", "0.", "00.00E+00", "1x"} {
		if got, want := yamlFloat(s), re.MatchString(s); got != want {
			t.Errorf("yamlFloat(%q) = %v, the regexp says %v", s, got, want)
		}
	}
}

// FuzzBlockReader: whatever the input, the block reader either gives up or
// returns exactly yaml.v3's trees. Seeded with the edge cases and corpus
// pipelines.
func FuzzBlockReader(f *testing.F) {
	for _, c := range blockCases {
		f.Add([]byte(c))
	}
	for _, name := range []string{"pipeline_with_condition_dynamic_task_output_custom_training_job.yaml", "upload_download_compiled.yaml", "arguments_parameters.yaml"} {
		data, err := os.ReadFile(filepath.Join("../../../shared/kfp-corpus/ir/valid", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sameAsYAML(t, data)
	})
}
