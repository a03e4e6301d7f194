package featureset

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Problem is one way data does not match the declared features.
type Problem struct {
	// File is the file's path inside the data ("" for a single file).
	File   string
	Column string
	Msg    string
}

func (p Problem) String() string {
	s := fmt.Sprintf("column %q: %s", p.Column, p.Msg)
	if p.Column == "" {
		s = p.Msg
	}
	if p.File != "" {
		s = p.File + ": " + s
	}
	return s
}

// MismatchError lists every way the data does not match the features.
type MismatchError struct{ Problems []Problem }

func (e *MismatchError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.String()
	}
	return "the data does not match the declared features: " + strings.Join(msgs, "; ")
}

// Columns names the mismatched columns, in order.
func (e *MismatchError) Columns() []string {
	var out []string
	for _, p := range e.Problems {
		if p.Column != "" && !slices.Contains(out, p.Column) {
			out = append(out, p.Column)
		}
	}
	return out
}

// Check reads the data at path — a file, or a directory of files — and
// reports a *MismatchError when it does not match features: a declared
// feature missing (CSV header, Parquet schema), a column that is not
// declared, or a value not of its feature's type (the first one of each
// column, with its line). Empty CSV cells and JSON nulls are missing values
// and match every type. Formats: CSV (.csv, or anything else that is not
// the two others), JSON lines (.jsonl, .ndjson, .json, or a file starting
// with '{'), Parquet (.parquet, or a file starting with PAR1).
func Check(path string, features []Feature) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("check features: %w", err)
	}
	var probs []Problem
	if !fi.IsDir() {
		probs, err = checkFile(path, features)
		if err != nil {
			return err
		}
	} else {
		n := 0
		err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			n++
			rel, _ := filepath.Rel(path, p)
			ps, err := checkFile(p, features)
			for _, pr := range ps {
				pr.File = filepath.ToSlash(rel)
				probs = append(probs, pr)
			}
			return err
		})
		if err != nil {
			return err
		}
		if n == 0 {
			probs = append(probs, Problem{Msg: "the directory holds no data file"})
		}
	}
	if len(probs) > 0 {
		return &MismatchError{Problems: probs}
	}
	return nil
}

// Format is how a file's data is read.
type Format string

// Formats Check reads.
const (
	CSV        Format = "csv"
	JSONLines  Format = "jsonl"
	ParquetFmt Format = "parquet"
)

// FormatOf says how a file is read: by its extension, else by its first
// bytes.
func FormatOf(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return CSV, nil
	case ".jsonl", ".ndjson", ".json":
		return JSONLines, nil
	case ".parquet":
		return ParquetFmt, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, 64)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("PAR1")):
		return ParquetFmt, nil
	case bytes.HasPrefix(bytes.TrimLeft(head, " \t\r\n\ufeff"), []byte("{")):
		return JSONLines, nil
	}
	return CSV, nil
}

func checkFile(path string, features []Feature) ([]Problem, error) {
	format, err := FormatOf(path)
	if err != nil {
		return nil, fmt.Errorf("check features of %s: %w", path, err)
	}
	switch format {
	case ParquetFmt:
		return checkParquet(path, features)
	case JSONLines:
		return checkJSONLines(path, features)
	}
	return checkCSV(path, features)
}

// columns tracks the first problem of each column.
type columns struct {
	types map[string]string
	bad   map[string]bool
	probs []Problem
}

func newColumns(features []Feature) *columns {
	c := &columns{types: map[string]string{}, bad: map[string]bool{}}
	for _, f := range features {
		c.types[f.Name] = f.Type
	}
	return c
}

func (c *columns) add(col, format string, args ...any) {
	if c.bad[col] {
		return
	}
	c.bad[col] = true
	c.probs = append(c.probs, Problem{Column: col, Msg: fmt.Sprintf(format, args...)})
}

// done says every column already has its problem (nothing more to learn).
func (c *columns) done() bool { return len(c.bad) >= len(c.types) && len(c.types) > 0 }

func checkCSV(path string, features []Feature) ([]Problem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("check features: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 1<<16))
	r.ReuseRecord = true
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return []Problem{{Msg: "CSV: no header row"}}, nil
	}
	if err != nil {
		return []Problem{{Msg: fmt.Sprintf("CSV: %v", err)}}, nil
	}
	c := newColumns(features)
	header = slices.Clone(header)
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	for _, h := range header {
		if _, ok := c.types[h]; !ok {
			c.add(h, "not a declared feature (CSV header)")
		}
	}
	for _, ft := range features {
		if !slices.Contains(header, ft.Name) {
			c.add(ft.Name, "declared %s, missing from the CSV header", ft.Type)
		}
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			c.probs = append(c.probs, Problem{Msg: fmt.Sprintf("CSV: %v", err)})
			break
		}
		line, _ := r.FieldPos(0)
		for i, v := range rec {
			if i >= len(header) {
				break
			}
			col := header[i]
			typ, ok := c.types[col]
			if !ok || c.bad[col] || v == "" {
				continue
			}
			if !textMatches(typ, v) {
				c.add(col, "declared %s, line %d has %q", typ, line, short(v))
			}
		}
		if c.done() {
			break
		}
	}
	return c.probs, nil
}

// textMatches reports whether a CSV cell is a value of typ.
func textMatches(typ, v string) bool {
	v = strings.TrimSpace(v)
	switch typ {
	case "int":
		_, err := strconv.ParseInt(v, 10, 64)
		return err == nil
	case "float":
		_, err := strconv.ParseFloat(v, 64)
		return err == nil
	case "bool":
		_, err := strconv.ParseBool(v)
		return err == nil
	case "timestamp":
		return isTime(v)
	}
	return true
}

// isTime reports whether v is a date (2006-01-02), a date and time
// (2006-01-02 15:04:05) or an RFC 3339 time, trying only the layout its
// shape can be.
func isTime(v string) bool {
	layout := time.RFC3339Nano
	switch {
	case len(v) == len("2006-01-02"):
		layout = "2006-01-02"
	case len(v) == len("2006-01-02 15:04:05") && v[10] == ' ':
		layout = "2006-01-02 15:04:05"
	}
	_, err := time.Parse(layout, v)
	return err == nil
}

func checkJSONLines(path string, features []Feature) ([]Problem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("check features: %w", err)
	}
	defer f.Close()
	c := newColumns(features)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 64<<20)
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var row map[string]json.RawMessage
		if err := json.Unmarshal(text, &row); err != nil || row == nil {
			if err == nil {
				err = errors.New("null")
			}
			c.probs = append(c.probs, Problem{Msg: fmt.Sprintf("JSON lines: line %d is not a JSON object: %v", line, err)})
			break
		}
		for _, k := range sortedKeys(row) {
			typ, ok := c.types[k]
			v := row[k]
			switch {
			case !ok:
				c.add(k, "not a declared feature (line %d)", line)
			case c.bad[k] || string(v) == "null":
			case !jsonMatches(typ, v):
				c.add(k, "declared %s, line %d has %s", typ, line, short(string(v)))
			}
		}
		if c.done() {
			break
		}
	}
	if err := sc.Err(); err != nil {
		c.probs = append(c.probs, Problem{Msg: fmt.Sprintf("JSON lines: %v", err)})
	}
	return c.probs, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// jsonMatches reports whether a JSON value (valid JSON, not null) is a
// value of typ, read from its text.
func jsonMatches(typ string, v json.RawMessage) bool {
	switch typ {
	case "int":
		_, err := strconv.ParseInt(string(v), 10, 64)
		return err == nil
	case "float":
		return len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9')
	case "bool":
		return string(v) == "true" || string(v) == "false"
	case "string":
		return len(v) > 0 && v[0] == '"'
	case "timestamp":
		var s string
		return len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &s) == nil && isTime(s)
	}
	return false
}

func short(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:37]) + "..."
	}
	return s
}
