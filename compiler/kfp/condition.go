package kfp

import (
	"strconv"

	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
)

// conditionFactory builds the trees parseCondition returns (it holds no
// state of its own).
var conditionFactory = ast.NewExprFactory()

// parseCondition parses the part of CEL the kfp SDK writes in trigger
// conditions — ||, &&, one comparison (== != < <= > >=), a leading !,
// parentheses, inputs.parameter_values['name'] (selects and indexes),
// int/double/string calls and plain literals — into the tree the CEL parser
// builds for it (|| and && balanced as cel-go balances them). Anything else,
// or anything it is not sure of, is not its to decide: ok is false and the
// caller parses with CEL, which also writes every error. Its trees are
// checked against CEL's by TestConditionParserMatchesCEL and
// FuzzConditionParser.
func parseCondition(src string) (tree *ast.AST, ok bool) {
	if len(src) > maxFastCondition {
		return nil, false
	}
	for i := 0; i < len(src); i++ {
		if src[i] >= 0x80 {
			return nil, false
		}
	}
	p := condParser{src: src}
	e, ok := p.or()
	if !ok || p.skipSpace() < len(src) {
		return nil, false
	}
	return ast.NewAST(e, nil), true
}

// maxFastCondition and maxFastDepth keep parseCondition far inside CEL's own
// limits (100,000 code points, 250 nested grammar rules), so it never
// accepts what CEL refuses for size.
const (
	maxFastCondition = 2000
	maxFastDepth     = 8
)

type condParser struct {
	src   string
	pos   int
	id    int64
	depth int
}

func (p *condParser) nextID() int64 {
	p.id++
	return p.id
}

// skipSpace moves past CEL's white space and returns the position.
func (p *condParser) skipSpace() int {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r', '\f':
			p.pos++
		default:
			return p.pos
		}
	}
	return p.pos
}

// peek is the text at the next token (after white space).
func (p *condParser) peek(s string) bool {
	i := p.skipSpace()
	return len(p.src)-i >= len(s) && p.src[i:i+len(s)] == s
}

// or parses a || chain, balanced as cel-go's logicManager balances it.
func (p *condParser) or() (ast.Expr, bool) {
	return p.chain(operators.LogicalOr, "||", p.and)
}

func (p *condParser) and() (ast.Expr, bool) {
	return p.chain(operators.LogicalAnd, "&&", p.relation)
}

func (p *condParser) chain(fn, op string, term func() (ast.Expr, bool)) (ast.Expr, bool) {
	e, ok := term()
	if !ok || !p.peek(op) {
		return e, ok
	}
	terms, ops := []ast.Expr{e}, []int64(nil)
	for p.peek(op) {
		p.pos += len(op)
		ops = append(ops, p.nextID())
		if e, ok = term(); !ok {
			return nil, false
		}
		terms = append(terms, e)
	}
	return balanced(fn, terms, ops, 0, len(ops)-1), true
}

// balanced is cel-go's logicManager.balancedTree.
func balanced(fn string, terms []ast.Expr, ops []int64, lo, hi int) ast.Expr {
	mid := (lo + hi + 1) / 2
	left := terms[mid]
	if mid != lo {
		left = balanced(fn, terms, ops, lo, mid-1)
	}
	right := terms[mid+1]
	if mid != hi {
		right = balanced(fn, terms, ops, mid+1, hi)
	}
	return conditionFactory.NewCall(ops[mid], fn, left, right)
}

// relations are the comparison operators, two-character ones first.
var relations = []struct{ text, fn string }{
	{"==", operators.Equals}, {"!=", operators.NotEquals}, {"<=", operators.LessEquals},
	{">=", operators.GreaterEquals}, {"<", operators.Less}, {">", operators.Greater},
}

// relation parses one operand or one comparison; a chain of comparisons
// (left-associative in CEL) is left to CEL.
func (p *condParser) relation() (ast.Expr, bool) {
	l, ok := p.unary()
	if !ok {
		return nil, false
	}
	fn := p.relationOp()
	if fn == "" {
		return l, true
	}
	id := p.nextID()
	r, ok := p.unary()
	if !ok || p.relationOp() != "" {
		return nil, false
	}
	return conditionFactory.NewCall(id, fn, l, r), true
}

// relationOp consumes a comparison operator and returns its function.
func (p *condParser) relationOp() string {
	for _, r := range relations {
		if p.peek(r.text) {
			p.pos += len(r.text)
			return r.fn
		}
	}
	return ""
}

// unary parses a member with at most one leading !; CEL folds !! and
// reads signs into literals, so those are left to it.
func (p *condParser) unary() (ast.Expr, bool) {
	if !p.peek("!") || p.peek("!=") {
		if p.peek("-") {
			return nil, false
		}
		return p.member()
	}
	p.pos++
	id := p.nextID()
	e, ok := p.member() // !! and !- fail here: a member starts with neither
	if !ok {
		return nil, false
	}
	return conditionFactory.NewCall(id, operators.LogicalNot, e), true
}

// member parses a primary followed by .field selects and [index] indexes.
func (p *condParser) member() (ast.Expr, bool) {
	e, ok := p.primary()
	for ok {
		switch {
		case p.peek("."):
			p.pos++
			p.skipSpace()
			name := p.ident()
			if name == "" || reserved(name) || p.peek("(") {
				return nil, false
			}
			e = conditionFactory.NewSelect(p.nextID(), e, name)
		case p.peek("["):
			p.pos++
			id := p.nextID()
			if p.peek("?") {
				return nil, false
			}
			var idx ast.Expr
			if idx, ok = p.nested(); !ok || !p.peek("]") {
				return nil, false
			}
			p.pos++
			e = conditionFactory.NewCall(id, operators.Index, e, idx)
		default:
			return e, true
		}
	}
	return nil, false
}

// nested parses a whole expression inside (), [] or a call's arguments.
func (p *condParser) nested() (ast.Expr, bool) {
	if p.depth++; p.depth > maxFastDepth {
		return nil, false
	}
	e, ok := p.or()
	p.depth--
	return e, ok
}

// primary parses a parenthesised expression, a literal, an identifier or a
// call of int, double or string.
func (p *condParser) primary() (ast.Expr, bool) {
	i := p.skipSpace()
	if i == len(p.src) {
		return nil, false
	}
	switch c := p.src[i]; {
	case c == '(':
		p.pos++
		e, ok := p.nested()
		if !ok || !p.peek(")") {
			return nil, false
		}
		p.pos++
		return e, true
	case c == '\'' || c == '"':
		return p.str()
	case c >= '0' && c <= '9':
		return p.number()
	}
	name := p.ident()
	switch name {
	case "", "in":
		return nil, false
	case "true", "false":
		return conditionFactory.NewLiteral(p.nextID(), types.Bool(name == "true")), p.notQuote()
	case "null":
		return conditionFactory.NewLiteral(p.nextID(), types.NullValue), p.notQuote()
	case "int", "double", "string":
		if p.peek("(") {
			return p.call(name)
		}
	}
	if reserved(name) || !p.notQuote() {
		return nil, false
	}
	return conditionFactory.NewIdent(p.nextID(), name), true
}

// call parses the arguments of a global call of fn.
func (p *condParser) call(fn string) (ast.Expr, bool) {
	p.pos++
	id := p.nextID()
	var args []ast.Expr
	for !p.peek(")") {
		if len(args) > 0 {
			if !p.peek(",") {
				return nil, false
			}
			p.pos++
		}
		a, ok := p.nested()
		if !ok {
			return nil, false
		}
		args = append(args, a)
	}
	p.pos++
	return conditionFactory.NewCall(id, fn, args...), true
}

// ident reads an identifier at the position ("" when there is none).
func (p *condParser) ident() string {
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || p.pos > start && c >= '0' && c <= '9' {
			p.pos++
			continue
		}
		break
	}
	return p.src[start:p.pos]
}

// notQuote says the token just read is not a string prefix (r'..', b"..")
// or a string run into another.
func (p *condParser) notQuote() bool {
	return p.pos == len(p.src) || p.src[p.pos] != '\'' && p.src[p.pos] != '"'
}

// str reads a one-line string literal without escapes; raw, bytes,
// triple-quoted and escaped strings are left to CEL.
func (p *condParser) str() (ast.Expr, bool) {
	q := p.src[p.pos]
	start := p.pos + 1
	end := start
	for ; end < len(p.src) && p.src[end] != q; end++ {
		if c := p.src[end]; c == '\\' || c < 0x20 || c == 0x7f {
			return nil, false
		}
	}
	if end == len(p.src) || end == start && end+1 < len(p.src) && p.src[end+1] == q {
		return nil, false
	}
	p.pos = end + 1
	return conditionFactory.NewLiteral(p.nextID(), types.String(p.src[start:end])), p.notQuote()
}

// number reads a decimal int (no leading zero) or a decimal with a
// fraction and no exponent; hex, unsigned, exponents and anything run
// into a letter or a dot are left to CEL.
func (p *condParser) number() (ast.Expr, bool) {
	start := p.pos
	p.digits()
	double := false
	if p.pos+1 < len(p.src) && p.src[p.pos] == '.' && isDigit(p.src[p.pos+1]) {
		p.pos++
		p.digits()
		double = true
	}
	text := p.src[start:p.pos]
	if p.pos < len(p.src) {
		if c := p.src[p.pos]; c == '.' || c == '_' || isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '\'' || c == '"' {
			return nil, false
		}
	}
	if len(text) > 1 && text[0] == '0' && text[1] != '.' {
		return nil, false
	}
	if double {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, false
		}
		return conditionFactory.NewLiteral(p.nextID(), types.Double(f)), true
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return nil, false
	}
	return conditionFactory.NewLiteral(p.nextID(), types.Int(n)), true
}

func (p *condParser) digits() {
	for p.pos < len(p.src) && isDigit(p.src[p.pos]) {
		p.pos++
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// reserved are CEL's keywords and reserved identifiers (cel-go's
// reservedIds): not an identifier or field name here.
func reserved(name string) bool {
	switch name {
	case "as", "break", "const", "continue", "else", "false", "for", "function", "if", "import", "in",
		"let", "loop", "package", "namespace", "null", "return", "true", "var", "void", "while":
		return true
	}
	return false
}
