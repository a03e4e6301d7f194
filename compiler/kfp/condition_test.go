package kfp

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/cel-go/common"
	"github.com/google/cel-go/common/ast"
	"gopkg.in/yaml.v3"
)

// conditionCases are conditions beside the corpus's: what the SDK writes
// and the CEL the fast parser must leave to CEL (or get exactly right).
var conditionCases = []string{
	"inputs.parameter_values['p'] == 'v'", `inputs.parameter_values["p"] != "v"`,
	"int(inputs.parameter_values['n']) < 5000 && !(int(inputs.parameter_values['n']) > 5000)",
	"double(x) >= 1.5", "string(x) <= 'y'", "a && b && c && d && e", "a || b || c || d || e || f || g",
	"a || b && c || d", "a && (b || c) && d", "!a == b", "!(a) == b", "!a.b[1]", "x.y.z[0]['k']",
	"null == a", "true", "false && true", "0 == 0.0", "0.5 < x", "_x == _", "X1 == x_2",
	"a\n&& b", "a\t==\tb", "a . b", "a [ 'k' ] == 1", "int( x )", "int()", "int(a, b)", "string(int(x))",
	"(((x)))", strings.Repeat("(", 8) + "x" + strings.Repeat(")", 8),
	strings.Repeat("(", 9) + "x" + strings.Repeat(")", 9),
	strings.Repeat("(", 40) + "x" + strings.Repeat(")", 40),
	// left to CEL (or refused by it)
	"!!a", "! !a", "!-a", "-1", "-a", "a == -1", "--a", "a == b == c", "a < b > c", "a + b == c", "a * 2",
	"1e3", "1.5e3", "0x1F", "1u", "01", "00.5", "1.", ".5", "1.x", "x.1", "1.5.2",
	"9223372036854775807", "9223372036854775808", "'''x'''", `"""x"""`, "r'x'", "b'x'", `'a\'b'`, `'a\nb'`,
	"'a' 'b'", "'a''b'", "''", `""`, "'' == x", "'a\tb'", "'a\x01b'", "has(a.b)", "size(a)", "a.size()",
	"a[?b]", "a.?b", "a in [1]", "[1, 2]", "{}", "{'a': 1}", "a.b(c)", ".a", "if", "a.if", "in", "a.in",
	"as == 1", "a.true", "true(1)", "null.x", "é == 'x'", "'é'", "a\u00a0== b", "a\x00", "a = b", "a === b",
	"a !== b", "a <> b", "a<=b", "a>=b", "a<b", "a>b", "a!=b", "a &&& b", "a ||| b", "a & b", "a | b",
	"a // c", "a /* c */", "", "  ", "(", ")", "a ==", "== a", "!", "a[", "a]", "int(", "int(a,)", "int(,a)",
	"'unterminated", `"mixed'`, "a ? b : c", "a[0", "(a", "a)", "`a`", "a.`b`", "A.B", "Msg{}", "a.b{c: 1}",
}

// TestConditionParserMatchesCEL holds parseCondition to CEL's parser on
// every trigger condition of the corpus (valid and invalid) and the cases
// above: where it answers, CEL accepts the condition and builds the same
// tree; ParseCEL accepts and refuses exactly what CEL does, with CEL's
// errors. Every corpus condition must take the fast path (that is its use).
func TestConditionParserMatchesCEL(t *testing.T) {
	corpusConds := corpusConditions(t)
	if len(corpusConds) < 20 {
		t.Fatalf("found %d trigger conditions in the corpus, want 20+", len(corpusConds))
	}
	for _, cond := range corpusConds {
		if _, ok := parseCondition(cond); !ok {
			t.Errorf("corpus condition %q is left to CEL", cond)
		}
	}
	fast := 0
	for _, cond := range append(corpusConds, conditionCases...) {
		if checkCondition(t, cond) {
			fast++
		}
	}
	t.Logf("%d corpus conditions; %d of %d conditions took the fast path", len(corpusConds), fast, len(corpusConds)+len(conditionCases))
	if fast < len(corpusConds)+30 || fast == len(corpusConds)+len(conditionCases) {
		t.Errorf("%d of %d conditions took the fast path: the cases should exercise both paths", fast, len(corpusConds)+len(conditionCases))
	}
}

// FuzzConditionParser: whatever parseCondition accepts, CEL accepts with
// the same tree.
func FuzzConditionParser(f *testing.F) {
	for _, cond := range conditionCases {
		f.Add(cond)
	}
	f.Fuzz(func(t *testing.T, cond string) { checkCondition(t, cond) })
}

// checkCondition compares the fast path with CEL's parser on cond and
// says whether the fast path answered.
func checkCondition(t *testing.T, cond string) bool {
	t.Helper()
	want, wantIss := celParser.Parse(common.NewTextSource(cond))
	celOK := wantIss == nil || len(wantIss.GetErrors()) == 0
	got, gotIss := ParseCEL(cond)
	gotOK := gotIss == nil || len(gotIss.GetErrors()) == 0
	switch {
	case gotOK != celOK:
		t.Errorf("%q: ParseCEL accepts: %v, CEL accepts: %v", cond, gotOK, celOK)
	case !celOK && gotIss.ToDisplayString() != wantIss.ToDisplayString():
		t.Errorf("%q: ParseCEL's errors\n%s\nCEL's\n%s", cond, gotIss.ToDisplayString(), wantIss.ToDisplayString())
	case celOK && dumpExpr(got.Expr()) != dumpExpr(want.Expr()):
		t.Errorf("%q: tree\n%s\nCEL's\n%s", cond, dumpExpr(got.Expr()), dumpExpr(want.Expr()))
	}
	_, fast := parseCondition(cond)
	return fast
}

// dumpExpr writes a CEL tree without its IDs.
func dumpExpr(e ast.Expr) string {
	switch e.Kind() {
	case ast.CallKind:
		c := e.AsCall()
		var parts []string
		if c.IsMemberFunction() {
			parts = append(parts, "target="+dumpExpr(c.Target()))
		}
		for _, a := range c.Args() {
			parts = append(parts, dumpExpr(a))
		}
		return c.FunctionName() + "(" + strings.Join(parts, ", ") + ")"
	case ast.SelectKind:
		s := e.AsSelect()
		return fmt.Sprintf("select(%s, %q, test=%v)", dumpExpr(s.Operand()), s.FieldName(), s.IsTestOnly())
	case ast.IdentKind:
		return "ident(" + e.AsIdent() + ")"
	case ast.LiteralKind:
		l := e.AsLiteral()
		return fmt.Sprintf("%s(%#v)", l.Type().TypeName(), l.Value())
	case ast.ListKind:
		var parts []string
		for _, el := range e.AsList().Elements() {
			parts = append(parts, dumpExpr(el))
		}
		return fmt.Sprintf("list(%s; optional %v)", strings.Join(parts, ", "), e.AsList().OptionalIndices())
	}
	return fmt.Sprintf("kind %v (id %d)", e.Kind(), e.ID())
}

// corpusConditions are the trigger conditions of every corpus IR file.
func corpusConditions(t *testing.T) []string {
	t.Helper()
	var conds []string
	err := filepath.WalkDir(filepath.Join(corpus, "ir"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		for {
			var n yaml.Node
			if dec.Decode(&n) != nil {
				break
			}
			conds = appendConditions(conds, &n)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read corpus: %v", err)
	}
	return conds
}

func appendConditions(conds []string, n *yaml.Node) []string {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "triggerPolicy" {
				if c := lookupScalar(n.Content[i+1], "condition"); c != "" {
					conds = append(conds, c)
				}
			}
		}
	}
	for _, c := range n.Content {
		conds = appendConditions(conds, c)
	}
	return conds
}

func lookupScalar(n *yaml.Node, key string) string {
	for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key && n.Content[i+1].Kind == yaml.ScalarNode {
			return n.Content[i+1].Value
		}
	}
	return ""
}
