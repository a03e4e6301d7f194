package spec

import (
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// blockReader reads the block-style YAML that the KFP SDK writes (PyYAML's
// block output: mappings, sequences, plain, quoted and literal scalars,
// empty {} and [], a header comment) into the very yaml.Node trees yaml.v3
// decodes, positions included, several times faster and with a fraction of
// its allocations (nodes and their Content come from slabs, scalars are
// slices of the input). Anything outside that subset — flow collections
// with items, anchors, aliases, tags, folded scalars, other comments,
// non-ASCII, tabs, empty values — makes it give up, and Parse decodes the
// file with yaml.v3 instead; so does any input yaml.v3 would refuse: every
// YAML error and its message still comes from yaml.v3.
//
// Where the subset and yaml.v3 meet, this file follows yaml.v3's scanner
// (scannerc.go, a port of libyaml) rule for rule; TestBlockReaderMatchesYAML
// and FuzzBlockReader hold the two to the same trees.
type blockReader struct {
	s    string
	i    int // read offset in s
	line int // 1-based line of the line that starts at ls
	ls   int // offset where the current line starts
	// nodes and content are slabs the tree's nodes and Content slices are
	// cut from; kids is the scratch stack a collection's children gather on.
	nodes   []yaml.Node
	content []*yaml.Node
	kids    []*yaml.Node
	buf     []byte // scratch for scalars that are not a slice of s
	runes   bool   // s is not all ASCII: columns count characters
	// count and size are the tree's nodes and scalar bytes (for Limits).
	count, size int64
	// arena, when not nil, is where nodes and content come from.
	arena *arena
}

// bail is panicked with when the input leaves the subset; readBlock
// recovers it and reports that yaml.v3 must read the file.
type bail struct{}

// blockText says whether data is UTF-8 text whose every character yaml.v3
// accepts and reads as itself: no control characters but newlines and tabs
// (tabs are refused later wherever they would matter), no byte order mark,
// no line breaks other than '\n'. ascii says whether it is all ASCII.
func blockText(data []byte) (text, ascii bool) {
	ascii = true
	for i := 0; i < len(data); {
		c := data[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f {
				return false, false
			}
			i++
			continue
		}
		ascii = false
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError || r < 0xa0 || (r > 0xd7ff && r < 0xe000) || r == 0xfeff || r > 0xfffd && r < 0x10000 ||
			r == 0x2028 || r == 0x2029 {
			return false, false
		}
		i += n
	}
	return len(data) > 0, ascii
}

func (r *blockReader) fail() { panic(bail{}) }

// col is the 0-based column of r.i, in characters as yaml.v3 counts.
func (r *blockReader) col() int {
	if r.runes {
		return utf8.RuneCountInString(r.s[r.ls:r.i])
	}
	return r.i - r.ls
}

func (r *blockReader) eof() bool { return r.i >= len(r.s) }

// at returns the byte at offset i, or 0 past the end.
func (r *blockReader) at(i int) byte {
	if i < len(r.s) {
		return r.s[i]
	}
	return 0
}

// blankz: a space, tab, line break or the end (yaml.v3's is_blankz).
func (r *blockReader) blankz(i int) bool {
	c := r.at(i)
	return c == ' ' || c == '\t' || c == '\n' || c == 0
}

// newline consumes the '\n' at r.i.
func (r *blockReader) newline() {
	r.i++
	r.line++
	r.ls = r.i
}

// slabChunk is how many nodes the slab grows by once full.
const slabChunk = 64

func (r *blockReader) node(kind yaml.Kind, tag string, line, col int) *yaml.Node {
	if len(r.nodes) == cap(r.nodes) {
		if r.arena != nil {
			r.nodes = r.arena.nodeChunk()
		} else {
			r.nodes = make([]yaml.Node, 0, slabChunk)
		}
	}
	r.nodes = r.nodes[:len(r.nodes)+1]
	n := &r.nodes[len(r.nodes)-1]
	n.Kind, n.Tag, n.Line, n.Column = kind, tag, line, col
	r.count++
	return n
}

// children cuts the kids gathered since base into a Content slice.
func (r *blockReader) children(base int) []*yaml.Node {
	k := len(r.kids) - base
	if k > cap(r.content)-len(r.content) {
		if r.arena != nil {
			r.content = r.arena.contentChunk(k)
		} else {
			r.content = make([]*yaml.Node, 0, max(k, 512))
		}
	}
	l := len(r.content)
	c := r.content[l : l+k : l+k]
	copy(c, r.kids[base:])
	r.content = r.content[:l+k]
	r.kids = r.kids[:base]
	return c
}

// docMarker says whether a "---" or "..." line starts at r.i (column 0).
func (r *blockReader) docMarker() bool {
	if r.col() != 0 || len(r.s)-r.i < 3 {
		return false
	}
	m := r.s[r.i : r.i+3]
	return (m == "---" || m == "...") && r.blankz(r.i+3)
}

// stream reads the documents: each a block mapping at column 0, the first
// optionally after a header comment, the others after a "---" line.
func (r *blockReader) stream() []*yaml.Node {
	var docs []*yaml.Node
	for {
		doc := r.node(yaml.DocumentNode, "", r.line, 1)
		explicit := r.docMarker()
		if explicit {
			if r.s[r.i:r.i+3] != "---" || r.at(r.i+3) != '\n' {
				r.fail()
			}
			r.i += 3
			r.newline()
		} else if len(docs) > 0 {
			r.fail()
		}
		head := r.headComment()
		if r.eof() || r.s[r.i] == ' ' || r.s[r.i] == '\n' || r.s[r.i] == '\t' || r.docMarker() {
			r.fail()
		}
		if !explicit {
			doc.Line = r.line
		}
		root := r.mapping(0)
		root.Content[0].HeadComment = head
		base := len(r.kids)
		r.kids = append(r.kids, root)
		doc.Content = r.children(base)
		docs = append(docs, doc)
		if r.eof() {
			return docs
		}
		if r.col() != 0 || !r.docMarker() {
			r.fail()
		}
	}
}

// headComment reads comment lines at column 0 that come right before a
// document's first key; yaml.v3 makes them that key's head comment.
func (r *blockReader) headComment() string {
	start := r.i
	for r.at(r.i) == '#' {
		for r.i < len(r.s) && r.s[r.i] != '\n' {
			if r.s[r.i] == '\t' {
				r.fail()
			}
			r.i++
		}
		if r.eof() || r.s[r.i-1] == ' ' {
			r.fail()
		}
		r.newline()
	}
	if r.i == start {
		return ""
	}
	return r.s[start : r.i-1]
}

// endLine consumes the rest of a line after a node (spaces only) and the
// blank lines after it, leaving r.i at the next content character.
func (r *blockReader) endLine() {
	for r.at(r.i) == ' ' {
		r.i++
	}
	if r.eof() {
		return
	}
	if r.s[r.i] != '\n' {
		r.fail() // a comment, or more than one node on the line
	}
	r.newline()
	r.skipBlankLines()
}

// skipBlankLines skips lines of spaces, leaving r.i at the first character
// of the next line that has one (or at the end).
func (r *blockReader) skipBlankLines() {
	for {
		for r.at(r.i) == ' ' {
			r.i++
		}
		switch r.at(r.i) {
		case '\n':
			r.newline()
		case '#', '\t':
			r.fail()
		default:
			return
		}
	}
}

// entry says whether a block sequence entry ("- ") starts at r.i.
func (r *blockReader) entry() bool {
	return r.at(r.i) == '-' && (r.at(r.i+1) == ' ' || r.at(r.i+1) == '\n' || r.i+1 == len(r.s))
}

// mapping reads a block mapping whose keys are at column n.
func (r *blockReader) mapping(n int) *yaml.Node {
	m := r.node(yaml.MappingNode, "!!map", r.line, n+1)
	base := len(r.kids)
	for {
		k := r.key()
		r.kids = append(r.kids, k)
		r.kids = append(r.kids, r.value(n))
		if r.eof() {
			break
		}
		if c := r.col(); c < n || (c == 0 && r.docMarker()) {
			break
		} else if c > n || r.entry() {
			r.fail()
		}
	}
	m.Content = r.children(base)
	return m
}

// key reads a mapping key (a one-line plain or quoted scalar) and its ':'.
func (r *blockReader) key() *yaml.Node {
	k := r.node(yaml.ScalarNode, "", r.line, r.col()+1)
	start := r.i
	switch r.s[r.i] {
	case '"', '\'':
		line := r.line
		r.quoted(k)
		if r.line != line {
			r.fail()
		}
	default:
		if !r.plainStart() {
			r.fail()
		}
		j := r.i
		for ; j < len(r.s) && r.s[j] != '\n'; j++ {
			if r.s[j] == ':' && r.blankz(j+1) {
				break
			}
			if r.s[j] == '\t' || (r.s[j] == '#' && r.s[j-1] == ' ') {
				r.fail()
			}
		}
		if j == len(r.s) || r.s[j] != ':' || r.s[j-1] == ' ' {
			r.fail()
		}
		k.Value = r.s[r.i:j]
		if k.Value == "<<" {
			r.fail()
		}
		k.Tag = resolveTag(k.Value)
		r.size += int64(len(k.Value))
		r.i = j
	}
	if r.at(r.i) != ':' || !r.blankz(r.i+1) || r.i-start > 1000 {
		r.fail()
	}
	r.i++
	return k
}

// value reads the value of a key of the mapping at column n, from just
// after its ':'.
func (r *blockReader) value(n int) *yaml.Node {
	for r.at(r.i) == ' ' {
		r.i++
	}
	if !r.eof() && r.s[r.i] != '\n' {
		return r.inline(n)
	}
	r.endLine()
	if r.eof() {
		r.fail() // an empty value
	}
	switch c := r.col(); {
	case c > n && r.entry():
		return r.sequence(c)
	case c > n:
		if !r.keyLine() {
			r.fail() // a scalar on the next line
		}
		return r.mapping(c)
	case c == n && r.entry():
		return r.sequence(c)
	}
	r.fail() // an empty value
	return nil
}

// sequence reads a block sequence whose '-' are at column m.
func (r *blockReader) sequence(m int) *yaml.Node {
	q := r.node(yaml.SequenceNode, "!!seq", r.line, m+1)
	base := len(r.kids)
	for {
		r.i++ // '-'
		if r.at(r.i) != ' ' {
			r.fail() // an empty item
		}
		for r.at(r.i) == ' ' {
			r.i++
		}
		if r.eof() || r.s[r.i] == '\n' || r.s[r.i] == '#' {
			r.fail()
		}
		c := r.col()
		switch {
		case r.entry():
			r.kids = append(r.kids, r.sequence(c))
		case r.keyLine():
			r.kids = append(r.kids, r.mapping(c))
		default:
			r.kids = append(r.kids, r.inline(m))
		}
		if r.eof() {
			break
		}
		if c := r.col(); c < m || (c == 0 && r.docMarker()) || (c == m && !r.entry()) {
			break
		} else if c > m {
			r.fail()
		}
	}
	q.Content = r.children(base)
	return q
}

// keyLine says whether the line from r.i holds a mapping key: a one-line
// quoted or plain scalar followed by ':' and a blank.
func (r *blockReader) keyLine() bool {
	s := r.s
	j := r.i
	if q := s[j]; q == '"' || q == '\'' {
		for j++; j < len(s) && s[j] != '\n'; j++ {
			switch {
			case q == '\'' && s[j] == '\'' && r.at(j+1) == '\'':
				j++
			case q == '"' && s[j] == '\\':
				j++
			case s[j] == q:
				return r.at(j+1) == ':' && r.blankz(j+2)
			}
		}
		return false
	}
	for ; j < len(s) && s[j] != '\n'; j++ {
		if s[j] == ':' && r.blankz(j+1) {
			return true
		}
	}
	return false
}

// plainStart says whether a plain scalar may start at r.i (yaml.v3's
// fetch_next_token rule, block context).
func (r *blockReader) plainStart() bool {
	switch r.s[r.i] {
	case '-', '?', ':':
		return !r.blankz(r.i + 1)
	case ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', ' ', '\t', '\n':
		return false
	}
	return true
}

// inline reads a node that starts on the line of its key or '-': a scalar
// or an empty flow collection. p is the indentation of the mapping or
// sequence it belongs to (yaml.v3's parser.indent).
func (r *blockReader) inline(p int) *yaml.Node {
	line, col := r.line, r.col()+1
	switch r.s[r.i] {
	case '"', '\'':
		n := r.node(yaml.ScalarNode, "", line, col)
		r.quoted(n)
		r.endLine()
		return n
	case '|':
		n := r.node(yaml.ScalarNode, "!!str", line, col)
		n.Style = yaml.LiteralStyle
		n.Value = r.literal(p)
		r.size += int64(len(n.Value))
		return n
	case '{', '[':
		kind, tag, end := yaml.MappingNode, "!!map", byte('}')
		if r.s[r.i] == '[' {
			kind, tag, end = yaml.SequenceNode, "!!seq", ']'
		}
		if r.at(r.i+1) != end {
			r.fail()
		}
		r.i += 2
		n := r.node(kind, tag, line, col)
		n.Style = yaml.FlowStyle
		r.endLine()
		return n
	}
	if !r.plainStart() {
		r.fail()
	}
	n := r.node(yaml.ScalarNode, "", line, col)
	n.Value = r.plain(p)
	if n.Value == "<<" {
		r.fail() // yaml.v3 tags it !!merge
	}
	n.Tag = resolveTag(n.Value)
	r.size += int64(len(n.Value))
	return n
}

// plain reads a plain scalar whose first line starts at r.i; its
// continuation lines must be indented more than p. Lines fold as yaml.v3
// folds them: one line break is a space, each further one a newline.
func (r *blockReader) plain(p int) string {
	start := r.i
	first := r.s[start:r.plainLine()]
	blanks := r.nextContent()
	if r.eof() || r.col() <= p {
		return first
	}
	b := append(r.buf[:0], first...)
	for {
		if r.s[r.i] == '#' || r.entry() {
			r.fail()
		}
		if blanks == 0 {
			b = append(b, ' ')
		}
		for ; blanks > 0; blanks-- {
			b = append(b, '\n')
		}
		from := r.i
		b = append(b, r.s[from:r.plainLine()]...)
		blanks = r.nextContent()
		if r.eof() || r.col() <= p {
			break
		}
	}
	r.buf = b
	return string(b)
}

// plainLine reads the rest of a plain scalar's line, up to its line break,
// and returns where its text ends (trailing spaces are not part of it).
func (r *blockReader) plainLine() int {
	end := r.i
	for ; r.i < len(r.s); r.i++ {
		switch r.s[r.i] {
		case '\n':
			return end
		case ' ':
			continue
		case '\t':
			r.fail()
		case ':':
			if r.blankz(r.i + 1) {
				r.fail() // a mapping value where none may be
			}
		case '#':
			if r.s[r.i-1] == ' ' {
				r.fail() // a comment
			}
		}
		end = r.i + 1
	}
	return end
}

// nextContent moves from a line's end to the first character of the next
// line that has one and returns how many blank lines lay between.
func (r *blockReader) nextContent() int {
	if r.eof() {
		return 0
	}
	r.newline()
	blanks := 0
	for {
		for r.at(r.i) == ' ' {
			r.i++
		}
		switch r.at(r.i) {
		case '\n':
			r.newline()
			blanks++
		case '\t':
			r.fail()
		default:
			return blanks
		}
	}
}

// quoted reads a single- or double-quoted scalar into n.
func (r *blockReader) quoted(n *yaml.Node) {
	q := r.s[r.i]
	n.Tag, n.Style = "!!str", yaml.DoubleQuotedStyle
	if q == '\'' {
		n.Style = yaml.SingleQuotedStyle
	}
	r.i++
	start := r.i
	for j := start; j < len(r.s); j++ {
		c := r.s[j]
		if c == '\n' || c == '\\' || c == '\t' || (q == '\'' && c == '\'' && r.at(j+1) == '\'') {
			break
		}
		if c == q {
			n.Value = r.s[start:j]
			r.size += int64(len(n.Value))
			r.i = j + 1
			return
		}
	}
	n.Value = r.foldQuoted(q)
	r.size += int64(len(n.Value))
}

// foldQuoted reads a quoted scalar with escapes or line breaks, as yaml.v3's
// yaml_parser_scan_flow_scalar does, up to and including its closing quote.
func (r *blockReader) foldQuoted(q byte) string {
	b := r.buf[:0]
	for {
		if r.eof() || r.docMarker() {
			r.fail()
		}
		leading := false
	chars:
		for !r.blankz(r.i) {
			c := r.s[r.i]
			switch {
			case q == '\'' && c == '\'' && r.at(r.i+1) == '\'':
				b = append(b, '\'')
				r.i += 2
			case c == q:
				break chars
			case q == '"' && c == '\\' && r.at(r.i+1) == '\n':
				r.i++
				r.newline()
				leading = true
				break chars
			case q == '"' && c == '\\':
				b = r.escape(b)
			default:
				b = append(b, c)
				r.i++
			}
		}
		if r.at(r.i) == q {
			break
		}
		b = r.foldBlanks(b, leading)
	}
	r.i++ // the closing quote
	r.buf = b
	return string(b)
}

// foldBlanks consumes the spaces and line breaks inside a quoted scalar and
// appends what they fold to. (yaml.v3 does not check the indentation of a
// quoted scalar's lines.)
func (r *blockReader) foldBlanks(b []byte, leading bool) []byte {
	spaces, lineBreak, trailing := 0, false, 0
	for {
		switch r.at(r.i) {
		case ' ':
			if !leading {
				spaces++
			}
			r.i++
			continue
		case '\n':
			if !leading {
				spaces, lineBreak, leading = 0, true, true
			} else {
				trailing++
			}
			r.newline()
			continue
		case '\t':
			r.fail()
		}
		break
	}
	switch {
	case !leading:
		for ; spaces > 0; spaces-- {
			b = append(b, ' ')
		}
	case lineBreak && trailing == 0:
		b = append(b, ' ')
	default:
		for ; trailing > 0; trailing-- {
			b = append(b, '\n')
		}
	}
	return b
}

// escape appends what the escape sequence at r.i stands for (yaml.v3's
// table: \/ and unknown letters are errors) and consumes it.
func (r *blockReader) escape(b []byte) []byte {
	e := r.at(r.i + 1)
	r.i += 2
	if s, ok := escapes[e]; ok {
		return append(b, s...)
	}
	digits := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
	if digits == 0 || r.i+digits > len(r.s) {
		r.fail()
	}
	v := 0
	for _, c := range []byte(r.s[r.i : r.i+digits]) {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 + int(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 + int(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 + int(c-'A'+10)
		default:
			r.fail()
		}
	}
	if (v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF {
		r.fail()
	}
	r.i += digits
	return utf8.AppendRune(b, rune(v))
}

var escapes = map[byte]string{'0': "\x00", 'a': "\a", 'b': "\b", 't': "\t", 'n': "\n", 'v': "\v", 'f': "\f",
	'r': "\r", 'e': "\x1b", ' ': " ", '"': "\"", '\'': "'", '\\': "\\", 'N': "\u0085", '_': "\u00a0",
	'L': "\u2028", 'P': "\u2029"}

// literal reads a literal block scalar ('|' with its chomping and
// indentation indicators) as yaml.v3's yaml_parser_scan_block_scalar does.
// p is the indentation of the node it belongs to.
func (r *blockReader) literal(p int) string {
	r.i++ // '|'
	chomp, inc := r.blockHeader()
	for r.at(r.i) == ' ' {
		r.i++
	}
	if r.at(r.i) != '\n' {
		r.fail() // a comment, a tab or the end
	}
	r.newline()
	indent := 0
	if inc > 0 {
		indent = p + inc
	}
	b := r.buf[:0]
	trailing, lineBreak, lines := r.blockBreaks(&indent, p), false, 0
	for r.col() == indent && !r.eof() {
		if lineBreak {
			b = append(b, '\n')
		}
		for ; trailing > 0; trailing-- {
			b = append(b, '\n')
		}
		j := strings.IndexByte(r.s[r.i:], '\n')
		if j < 0 {
			j = len(r.s) - r.i
		}
		b = append(b, r.s[r.i:r.i+j]...)
		r.i += j
		lines++
		lineBreak = !r.eof()
		if r.eof() {
			break
		}
		r.newline()
		trailing = r.blockBreaks(&indent, p)
	}
	if lines == 0 {
		r.fail() // an empty block scalar
	}
	if chomp != '-' && lineBreak {
		b = append(b, '\n')
	}
	if chomp == '+' {
		for ; trailing > 0; trailing-- {
			b = append(b, '\n')
		}
	}
	r.buf = b
	return string(b)
}

// blockHeader reads a block scalar's chomping ('+', '-' or 0) and
// indentation (1-9, or 0 for detected) indicators, in either order.
func (r *blockReader) blockHeader() (chomp byte, inc int) {
	for k := 0; k < 2; k++ {
		switch c := r.at(r.i); {
		case (c == '+' || c == '-') && chomp == 0:
			chomp = c
		case c >= '1' && c <= '9' && inc == 0:
			inc = int(c - '0')
		case c == '0':
			r.fail()
		default:
			return chomp, inc
		}
		r.i++
	}
	return chomp, inc
}

// blockBreaks skips a block scalar's indentation and empty lines
// (yaml_parser_scan_block_scalar_breaks), settles its indentation when it
// is still to be detected, and returns the line breaks it skipped.
func (r *blockReader) blockBreaks(indent *int, p int) int {
	breaks, most := 0, 0
	for {
		for (*indent == 0 || r.col() < *indent) && r.at(r.i) == ' ' {
			r.i++
		}
		most = max(most, r.col())
		if (*indent == 0 || r.col() < *indent) && r.at(r.i) == '\t' {
			r.fail()
		}
		if r.at(r.i) != '\n' {
			break
		}
		r.newline()
		breaks++
	}
	if *indent == 0 {
		*indent = max(most, p+1, 1)
	}
	return breaks
}
