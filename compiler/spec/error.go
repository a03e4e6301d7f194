package spec

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// ErrUnsupported marks a construct kubeline recognises but does not compile.
var ErrUnsupported = errors.New("not supported")

// Error is one problem in a document, at its place.
type Error struct {
	// Path is the spec path, e.g. root.dag.tasks[train].inputs.parameters.lr.
	Path string
	// Line and Column locate the YAML node (1-based); zero when unknown.
	Line, Column int
	// Err is the problem.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:%d: ", e.Line, e.Column)
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errors is every problem found in a document. A nil or empty Errors is no error.
type Errors []*Error

// Add records a problem at path; pos may be nil.
func (es *Errors) Add(path string, pos *Pos, format string, args ...any) {
	e := &Error{Path: path, Err: fmt.Errorf(format, args...)}
	if pos != nil {
		e.Line, e.Column = pos.Line, pos.Column
	}
	*es = append(*es, e)
}

// AddErr records err at path.
func (es *Errors) AddErr(path string, pos *Pos, err error) {
	e := &Error{Path: path, Err: err}
	if pos != nil {
		e.Line, e.Column = pos.Line, pos.Column
	}
	*es = append(*es, e)
}

// Err returns es sorted by position and path as an error, or nil when empty.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	out := append(Errors(nil), es...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Line != out[j].Line {
			return out[i].Line < out[j].Line
		}
		return out[i].Path < out[j].Path
	})
	return out
}

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap lets errors.Is and errors.As see every collected error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Pos is a place in a YAML document.
type Pos struct{ Line, Column int }

// Key returns the path element for a map key: ".name" or "[name]" when the
// key holds characters that would make the path ambiguous.
func Key(path, key string) string {
	if key == "" || strings.ContainsAny(key, ".[] ") {
		return path + "[" + key + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// Index returns the path element for a list index.
func Index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// Named returns the path element for an entry of a named map, printed the way
// users read it: tasks[train].
func Named(path, name string) string { return path + "[" + name + "]" }
