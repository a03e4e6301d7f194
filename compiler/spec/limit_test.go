package spec

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// nodes counts the nodes yaml.v3 builds for data (aliases not followed).
func nodes(t testing.TB, data []byte) (int64, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var n int64
	var count func(*yaml.Node)
	count = func(y *yaml.Node) {
		n++
		for _, c := range y.Content {
			count(c)
		}
	}
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			return n, err.Error() == "EOF"
		}
		count(&doc)
	}
}

// nodeBound must never be below what the parser builds, or a file under
// the bound could still cost more than the budget to parse.
func TestNodeBound(t *testing.T) {
	inputs := []string{
		"a: 1\nb: 2\n", "[a, b, [c, d], {e: f}]", "{a, b, c}", "[a: 1, b: 2]", "- - - a\n- b: c\n  d: [1, 2]\n",
		"? a\n? b\n: c\n", "a:\nb:\nc:\n", "---\n---\n---\n", `{"a":[1,2,{"b":null}]}`,
		"a: |\n  - not: [a, node]\n", "- &x [1, 2]\n- *x\n- *x\n", "[[[[[[]]]]]]", "{{{a}}}: b", "- -\n  -\n  - -1\n",
	}
	corpus, _ := filepath.Glob("../../../shared/kfp-corpus/ir/valid/*.yaml")
	for _, f := range corpus {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, string(b))
	}
	for _, in := range inputs {
		n, ok := nodes(t, []byte(in))
		if !ok {
			t.Errorf("%.40q does not parse", in)
			continue
		}
		if b := nodeBound([]byte(in)); b < n {
			t.Errorf("nodeBound(%.60q) = %d, but it parses into %d nodes", in, b, n)
		}
	}
	if len(corpus) < 50 {
		t.Errorf("only %d corpus files: is ../shared/kfp-corpus beside the checkout?", len(corpus))
	}
}

func FuzzNodeBound(f *testing.F) {
	for _, s := range []string{"a: 1", "[a, {b: c}]", "- ? a\n  : b\n", "x\n...\n---\ny\n", `{"a":[1,2]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return
		}
		// A hang is a crasher too (go test -fuzz has no time limit per input).
		tm := time.AfterFunc(30*time.Second, func() { panic(fmt.Sprintf("hang on %q", data)) })
		defer tm.Stop()
		n, ok := nodes(t, data)
		if ok && nodeBound(data) < n {
			t.Fatalf("nodeBound(%q) = %d < %d nodes", data, nodeBound(data), n)
		}
	})
}

func TestLimits(t *testing.T) {
	small := Limits{Nodes: 50, Bytes: 100}
	for _, tc := range []struct {
		name, in, want string
	}{
		{"under the budget", "a: &x [1, 2, 3]\nb: *x\nc: *x\n", ""},
		{"aliases over the node budget", "a: &x [1, 2, 3, 4, 5, 6, 7, 8, 9]\nb: [*x, *x, *x, *x, *x, *x]\n", "more than 50 YAML nodes (limit --max-yaml-nodes)"},
		{"aliases over the byte budget", "a: &x " + strings.Repeat("y", 40) + "\nb: [*x, *x]\n", "2:4: with its aliases expanded the document has more than 100 bytes of scalars (limit --max-yaml-bytes)"},
		{"alias cycle", "a: &x [1, *x]\n", "1:11: an alias refers to a node that contains it (an alias cycle)"},
		{"too many nodes to parse", "[" + strings.Repeat("1,", 30) + "1]", "could hold up to 66 YAML nodes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := small.Parse([]byte(tc.in))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrLimit)):
				t.Fatalf("Parse: %v, want an ErrLimit saying %q", err, tc.want)
			}
		})
	}
}
