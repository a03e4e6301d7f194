package compiler

import (
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	yamlv2 "go.yaml.in/yaml/v2"
)

// yamlWriter writes the tree yamlTree reads (yamlv2.MapSlice, []any,
// string, int, float64, bool, nil) as YAML, byte for byte what
// yamlv2.Marshal writes for it, without its reflection, event queue and
// per-scalar allocations. It follows go.yaml.in/yaml/v2's encoder
// (encode.go: the style a value asks for) and emitter (emitterc.go: block
// mappings and sequences, "{}" and "[]" for empty ones, the style a scalar
// gets, line folding at 80 columns) rule for rule, for this tree's shapes.
// Anything else — a key that is not a simple key (multi-line or over 128
// bytes), a string that is not valid UTF-8, a value of another type — makes
// it give up (ok false) and Marshal hands the tree to yamlv2.Marshal.
// TestMarshalMatchesJSONToYAML and FuzzYAMLWriter hold the two to the same
// bytes.
type yamlWriter struct {
	buf        []byte
	column     int
	indent     int
	whitespace bool
	indention  bool
	ok         bool
}

// bestWidth is yaml.v2's line width: plain and quoted scalars fold at a
// space once a line is longer.
const bestWidth = 80

// writeYAML renders v; ok is false when v is outside what yamlWriter
// writes.
func writeYAML(v any, sizeHint int) ([]byte, bool) {
	w := &yamlWriter{indent: -1, whitespace: true, indention: true, ok: true}
	if sizeHint > 0 {
		w.buf = make([]byte, 0, sizeHint)
	} else {
		// Written into a pooled buffer, copied out once at its size.
		pooled := yamlBufs.Get().(*[]byte)
		w.buf = (*pooled)[:0]
		defer func() {
			if cap(w.buf) <= 1<<20 {
				*pooled = w.buf[:0]
				yamlBufs.Put(pooled)
			}
		}()
	}
	w.node(v, true, false, false)
	// The document's end: yaml_emitter_emit_document_end writes an indent
	// (a line break when the line has content).
	w.writeIndent()
	if sizeHint > 0 {
		return w.buf, w.ok
	}
	return append([]byte(nil), w.buf...), w.ok
}

// yamlBufs holds writeYAML's buffers for callers with no size hint.
var yamlBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

func (w *yamlWriter) put(c byte) {
	w.buf = append(w.buf, c)
	w.column++
}

func (w *yamlWriter) putBreak() {
	w.buf = append(w.buf, '\n')
	w.column = 0
}

// write copies the character at s[i] and returns the index after it.
func (w *yamlWriter) write(s string, i int) int {
	n := charWidth(s[i])
	w.buf = append(w.buf, s[i:i+n]...)
	w.column++
	return i + n
}

func charWidth(b byte) int {
	switch {
	case b&0x80 == 0:
		return 1
	case b&0xE0 == 0xC0:
		return 2
	case b&0xF0 == 0xE0:
		return 3
	case b&0xF8 == 0xF0:
		return 4
	}
	return 0
}

// writeIndent is yaml_emitter_write_indent.
func (w *yamlWriter) writeIndent() {
	indent := max(w.indent, 0)
	if !w.indention || w.column > indent || (w.column == indent && !w.whitespace) {
		w.putBreak()
	}
	for w.column < indent {
		w.put(' ')
	}
	w.whitespace, w.indention = true, true
}

// indicator is yaml_emitter_write_indicator for one-character indicators.
func (w *yamlWriter) indicator(c byte, needWhitespace, isWhitespace, isIndention bool) {
	if needWhitespace && !w.whitespace {
		w.put(' ')
	}
	w.put(c)
	w.whitespace = isWhitespace
	w.indention = w.indention && isIndention
}

// increaseIndent is yaml_emitter_increase_indent; it returns the indent to
// restore.
func (w *yamlWriter) increaseIndent(flow, indentless bool) int {
	old := w.indent
	if w.indent < 0 {
		if flow {
			w.indent = 2
		} else {
			w.indent = 0
		}
	} else if !indentless {
		w.indent += 2
	}
	return old
}

// node writes one value in its context (yaml_emitter_emit_node's flags).
func (w *yamlWriter) node(v any, sequence, mapping, simpleKey bool) {
	if !w.ok {
		return
	}
	switch x := v.(type) {
	case yamlv2.MapSlice:
		if len(x) == 0 {
			w.empty('{', '}')
			return
		}
		w.mapping(x)
	case []any:
		if len(x) == 0 {
			w.empty('[', ']')
			return
		}
		w.sequence(x, mapping)
	case string:
		w.str(x, simpleKey)
	case int:
		w.scalar(strconv.Itoa(x), plainStyle, simpleKey)
	case float64:
		s := strconv.FormatFloat(x, 'g', -1, 64)
		switch s {
		case "+Inf":
			s = ".inf"
		case "-Inf":
			s = "-.inf"
		case "NaN":
			s = ".nan"
		}
		w.scalar(s, plainStyle, simpleKey)
	case bool:
		w.scalar(strconv.FormatBool(x), plainStyle, simpleKey)
	case nil:
		w.scalar("null", plainStyle, simpleKey)
	default:
		w.ok = false
	}
}

// empty writes an empty flow collection ("{}" or "[]").
func (w *yamlWriter) empty(open, close byte) {
	w.indicator(open, true, true, false)
	old := w.increaseIndent(true, false)
	w.indent = old
	w.indicator(close, false, false, false)
}

// mapping writes a block mapping (yaml_emitter_emit_block_mapping_key and
// _value with simple keys).
func (w *yamlWriter) mapping(m yamlv2.MapSlice) {
	old := w.increaseIndent(false, false)
	for _, item := range m {
		k, isString := item.Key.(string)
		if !isString || len(k) > 128 || !simpleKey(k) {
			w.ok = false
			return
		}
		w.writeIndent()
		w.str(k, true)
		w.indicator(':', false, false, false)
		w.node(item.Value, false, true, false)
		if !w.ok {
			return
		}
	}
	w.indent = old
}

// simpleKey says whether a key can be written as a simple key: on one line
// (yaml_emitter_check_simple_key; the 128 byte bound is checked by the
// caller).
func simpleKey(k string) bool {
	for i := 0; i < len(k); i++ {
		if isBreakAt(k, i) {
			return false
		}
	}
	return true
}

// sequence writes a block sequence; under a mapping key it is not indented
// (yaml.v2's "key:\n- item").
func (w *yamlWriter) sequence(l []any, mapping bool) {
	old := w.increaseIndent(false, mapping && !w.indention)
	for _, e := range l {
		w.writeIndent()
		w.indicator('-', true, false, true)
		w.node(e, true, false, false)
		if !w.ok {
			return
		}
	}
	w.indent = old
}

type scalarStyle int

const (
	plainStyle scalarStyle = iota
	singleQuotedStyle
	doubleQuotedStyle
	literalStyle
)

// str writes a string with the style yaml.v2's encoder asks for
// (encoder.stringv): literal when it has a line break, plain when a plain
// scalar would read back as the same string, double-quoted otherwise.
func (w *yamlWriter) str(s string, simpleKey bool) {
	if plainWord(s) {
		// What scalar and plain do for it: no quoting, no folding (no
		// spaces), nothing to escape.
		if !w.whitespace {
			w.put(' ')
		}
		w.buf = append(w.buf, s...)
		w.column += len(s)
		w.whitespace, w.indention = false, false
		return
	}
	if !utf8.ValidString(s) {
		w.ok = false // yaml.v2 writes it as !!binary
		return
	}
	style := doubleQuotedStyle
	switch {
	case strings.Contains(s, "\n"):
		style = literalStyle
	case plainString(s):
		style = plainStyle
	}
	w.scalar(s, style, simpleKey)
}

// scalar writes s in the style the emitter settles on for the style asked
// (yaml_emitter_select_scalar_style, block context, implicit tags).
func (w *yamlWriter) scalar(s string, style scalarStyle, simpleKey bool) {
	a := analyzeScalar(s)
	if simpleKey && a.multiline {
		style = doubleQuotedStyle
	}
	if style == plainStyle {
		if !a.blockPlainAllowed || (len(s) == 0 && simpleKey) {
			style = singleQuotedStyle
		}
	}
	if style == singleQuotedStyle && !a.singleQuotedAllowed {
		style = doubleQuotedStyle
	}
	if style == literalStyle && (!a.blockAllowed || simpleKey) {
		style = doubleQuotedStyle
	}
	old := w.increaseIndent(true, false)
	switch style {
	case plainStyle:
		w.plain(s, !simpleKey)
	case singleQuotedStyle:
		w.singleQuoted(s, !simpleKey)
	case doubleQuotedStyle:
		w.doubleQuoted(s, !simpleKey)
	case literalStyle:
		w.literal(s)
	}
	w.indent = old
}

// scalarAnalysis is what yaml_emitter_analyze_scalar finds.
type scalarAnalysis struct {
	multiline, blockPlainAllowed, singleQuotedAllowed, blockAllowed bool
}

func isBreakAt(s string, i int) bool {
	c := s[i]
	return c == '\r' || c == '\n' ||
		(c == 0xC2 && i+1 < len(s) && s[i+1] == 0x85) ||
		(c == 0xE2 && i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xA8 || s[i+2] == 0xA9))
}

func isBlankzAt(s string, i int) bool {
	if i >= len(s) {
		return true
	}
	c := s[i]
	return c == ' ' || c == '\t' || c == 0 || isBreakAt(s, i)
}

// isPrintableAt is yaml.v2's is_printable.
func isPrintableAt(s string, i int) bool {
	at := func(k int) byte {
		if i+k < len(s) {
			return s[i+k]
		}
		return 0
	}
	b := s[i]
	return b == 0x0A || (b >= 0x20 && b <= 0x7E) ||
		(b == 0xC2 && at(1) >= 0xA0) || (b > 0xC2 && b < 0xED) ||
		(b == 0xED && at(1) < 0xA0) || b == 0xEE ||
		(b == 0xEF && !(at(1) == 0xBB && at(2) == 0xBF) && !(at(1) == 0xBF && (at(2) == 0xBE || at(2) == 0xBF)))
}

// analyzeScalar is yaml_emitter_analyze_scalar (unicode output), less
// what only flow context needs.
func analyzeScalar(v string) scalarAnalysis {
	if len(v) == 0 {
		return scalarAnalysis{blockPlainAllowed: true, singleQuotedAllowed: true}
	}
	if a, ok := analyzeASCII(v); ok {
		return a
	}
	return analyzeAny(v)
}

// analyzeAny is analyzeScalar for any non-empty string.
func analyzeAny(v string) scalarAnalysis {
	var blockIndicators, lineBreaks, special, leadingSpace, leadingBreak, trailingSpace, trailingBreak,
		breakSpace, spaceBreak, previousSpace, previousBreak bool
	if len(v) >= 3 && (v[:3] == "---" || v[:3] == "...") {
		blockIndicators = true
	}
	precededByWhitespace := true
	for i, n := 0, 0; i < len(v); i += n {
		n = charWidth(v[i])
		followedByWhitespace := i+n >= len(v) || v[i+n] == ' ' || v[i+n] == '\t'
		c := v[i]
		if i == 0 {
			switch c {
			case '#', ',', '[', ']', '{', '}', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
				blockIndicators = true
			case '?', ':', '-':
				if followedByWhitespace {
					blockIndicators = true
				}
			}
		} else {
			switch c {
			case ':':
				if followedByWhitespace {
					blockIndicators = true
				}
			case '#':
				if precededByWhitespace {
					blockIndicators = true
				}
			}
		}
		if !isPrintableAt(v, i) {
			special = true
		}
		switch {
		case c == ' ':
			if i == 0 {
				leadingSpace = true
			}
			if i+n == len(v) {
				trailingSpace = true
			}
			if previousBreak {
				breakSpace = true
			}
			previousSpace, previousBreak = true, false
		case isBreakAt(v, i):
			lineBreaks = true
			if i == 0 {
				leadingBreak = true
			}
			if i+n == len(v) {
				trailingBreak = true
			}
			if previousSpace {
				spaceBreak = true
			}
			previousSpace, previousBreak = false, true
		default:
			previousSpace, previousBreak = false, false
		}
		precededByWhitespace = isBlankzAt(v, i)
	}
	a := scalarAnalysis{multiline: lineBreaks, blockPlainAllowed: true, singleQuotedAllowed: true, blockAllowed: true}
	if leadingSpace || leadingBreak || trailingSpace || trailingBreak || lineBreaks || blockIndicators {
		a.blockPlainAllowed = false
	}
	if trailingSpace {
		a.blockAllowed = false
	}
	if breakSpace {
		a.blockPlainAllowed, a.singleQuotedAllowed = false, false
	}
	if spaceBreak || special {
		a.blockPlainAllowed, a.singleQuotedAllowed, a.blockAllowed = false, false, false
	}
	return a
}

// analyzeASCII is analyzeScalar for a string of printable ASCII and line
// feeds (most of a workflow's, scripts included): no special characters,
// so the block indicators, the spaces and line feeds at either end and a
// space beside a line feed decide. ok is false for any other string.
func analyzeASCII(v string) (scalarAnalysis, bool) {
	indicators := len(v) >= 3 && (v[:3] == "---" || v[:3] == "...")
	lineBreaks, breakSpace, spaceBreak := false, false, false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if (c < 0x20 && c != '\n') || c > 0x7E {
			return scalarAnalysis{}, false
		}
		switch c {
		case ':':
			if i+1 == len(v) || v[i+1] == ' ' {
				indicators = true
			}
		case '#':
			if i > 0 && (v[i-1] == ' ' || v[i-1] == '\n') {
				indicators = true
			}
		case '\n':
			lineBreaks = true
			if i > 0 && v[i-1] == ' ' {
				spaceBreak = true
			}
		case ' ':
			if i > 0 && v[i-1] == '\n' {
				breakSpace = true
			}
		}
	}
	switch v[0] {
	case '#', ',', '[', ']', '{', '}', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
		indicators = true
	case '?', '-':
		if len(v) == 1 || v[1] == ' ' {
			indicators = true
		}
	}
	first, last := v[0], v[len(v)-1]
	ends := first == ' ' || first == '\n' || last == ' ' || last == '\n'
	return scalarAnalysis{
		multiline:           lineBreaks,
		blockPlainAllowed:   !(ends || lineBreaks || indicators || breakSpace || spaceBreak),
		singleQuotedAllowed: !(breakSpace || spaceBreak),
		blockAllowed:        !(last == ' ' || spaceBreak),
	}, true
}

// plain is yaml_emitter_write_plain_scalar (a plain scalar never has a
// line break here: analyzeScalar refuses plain style for one).
func (w *yamlWriter) plain(v string, allowBreaks bool) {
	if !w.whitespace {
		w.put(' ')
	}
	spaces := false
	for i := 0; i < len(v); {
		if v[i] == ' ' {
			if allowBreaks && !spaces && w.column > bestWidth && i+1 < len(v) && v[i+1] != ' ' {
				w.writeIndent()
				i++
			} else {
				i = w.write(v, i)
			}
			spaces = true
			continue
		}
		i = w.write(v, i)
		w.indention = false
		spaces = false
	}
	w.whitespace, w.indention = false, false
}

// singleQuoted is yaml_emitter_write_single_quoted_scalar.
func (w *yamlWriter) singleQuoted(v string, allowBreaks bool) {
	w.indicator('\'', true, false, false)
	spaces, breaks := false, false
	for i := 0; i < len(v); {
		switch {
		case v[i] == ' ':
			if allowBreaks && !spaces && w.column > bestWidth && i > 0 && i < len(v)-1 && v[i+1] != ' ' {
				w.writeIndent()
				i++
			} else {
				i = w.write(v, i)
			}
			spaces = true
		case isBreakAt(v, i):
			if !breaks && v[i] == '\n' {
				w.putBreak()
			}
			i = w.writeBreak(v, i)
			w.indention = true
			breaks = true
		default:
			if breaks {
				w.writeIndent()
			}
			if v[i] == '\'' {
				w.put('\'')
			}
			i = w.write(v, i)
			w.indention = false
			spaces, breaks = false, false
		}
	}
	w.indicator('\'', false, false, false)
	w.whitespace, w.indention = false, false
}

// writeBreak is yaml.v2's write_break.
func (w *yamlWriter) writeBreak(v string, i int) int {
	if v[i] == '\n' {
		w.putBreak()
		return i + 1
	}
	i = w.write(v, i)
	w.column = 0
	return i
}

// doubleQuoted is yaml_emitter_write_double_quoted_scalar.
func (w *yamlWriter) doubleQuoted(v string, allowBreaks bool) {
	spaces := false
	w.indicator('"', true, false, false)
	bom := len(v) >= 3 && v[:3] == "\xEF\xBB\xBF" // yaml.v2 tests the first character at every position
	for i := 0; i < len(v); {
		c := v[i]
		if !isPrintableAt(v, i) || bom || isBreakAt(v, i) || c == '"' || c == '\\' {
			r, n := utf8.DecodeRuneInString(v[i:])
			i += n
			w.put('\\')
			w.escape(r)
			spaces = false
			continue
		}
		if c == ' ' {
			if allowBreaks && !spaces && w.column > bestWidth && i > 0 && i < len(v)-1 {
				w.writeIndent()
				if v[i+1] == ' ' {
					w.put('\\')
				}
				i++
			} else {
				i = w.write(v, i)
			}
			spaces = true
			continue
		}
		i = w.write(v, i)
		spaces = false
	}
	w.indicator('"', false, false, false)
	w.whitespace, w.indention = false, false
}

// escape writes the escape of r after its backslash.
func (w *yamlWriter) escape(r rune) {
	switch r {
	case 0x00:
		w.put('0')
	case 0x07:
		w.put('a')
	case 0x08:
		w.put('b')
	case 0x09:
		w.put('t')
	case 0x0A:
		w.put('n')
	case 0x0b:
		w.put('v')
	case 0x0c:
		w.put('f')
	case 0x0d:
		w.put('r')
	case 0x1b:
		w.put('e')
	case 0x22:
		w.put('"')
	case 0x5c:
		w.put('\\')
	case 0x85:
		w.put('N')
	case 0xA0:
		w.put('_')
	case 0x2028:
		w.put('L')
	case 0x2029:
		w.put('P')
	default:
		digits := 8
		switch {
		case r <= 0xFF:
			w.put('x')
			digits = 2
		case r <= 0xFFFF:
			w.put('u')
			digits = 4
		default:
			w.put('U')
		}
		for k := (digits - 1) * 4; k >= 0; k -= 4 {
			d := byte((r >> uint(k)) & 0x0F)
			if d < 10 {
				w.put(d + '0')
			} else {
				w.put(d + 'A' - 10)
			}
		}
	}
}

// literal is yaml_emitter_write_literal_scalar with its block scalar hints.
func (w *yamlWriter) literal(v string) {
	w.indicator('|', true, false, false)
	if v[0] == ' ' || isBreakAt(v, 0) {
		w.indicator('2', false, false, false)
	}
	var chomp byte
	i := len(v) - 1
	for v[i]&0xC0 == 0x80 {
		i--
	}
	if !isBreakAt(v, i) {
		chomp = '-'
	} else if i == 0 {
		chomp = '+'
	} else {
		i--
		for v[i]&0xC0 == 0x80 {
			i--
		}
		if isBreakAt(v, i) {
			chomp = '+'
		}
	}
	if chomp != 0 {
		w.indicator(chomp, false, false, false)
	}
	w.putBreak()
	w.indention, w.whitespace = true, true
	breaks := true
	for i := 0; i < len(v); {
		if isBreakAt(v, i) {
			i = w.writeBreak(v, i)
			w.indention = true
			breaks = true
			continue
		}
		if breaks {
			w.writeIndent()
		}
		// Copy the rest of the line at once: the writer's column is only
		// read again after the line break.
		j := i
		for j < len(v) && !isBreakAt(v, j) {
			j += charWidth(v[j])
		}
		w.buf = append(w.buf, v[i:j]...)
		w.column += utf8.RuneCountInString(v[i:j])
		i = j
		w.indention = false
		breaks = false
	}
}

// plainWord says whether s is a word a plain scalar writes as it is, in
// either place (key or value): a letter, then letters, digits and - _ . /
// (most of a workflow's keys and names), that reads back as a string.
func plainWord(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '/') {
			return false
		}
	}
	return plainString(s)
}
