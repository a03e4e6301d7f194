package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// ListOptions select one page of a list.
type ListOptions struct {
	// PageSize: 0 means 20, more than 200 means 200, negative is invalid.
	PageSize int
	// PageToken continues a list; it must come with the same SortBy and Filter.
	PageToken string
	// SortBy is "field", "field asc" or "field desc"; created_at by default.
	SortBy string
	Filter *Filter
}

// Page is what a list returns besides its rows.
type Page struct {
	TotalSize     int
	NextPageToken string
}

// rowScanner is one result row.
type rowScanner interface{ Scan(dest ...any) error }

// table describes a listable table.
type table struct {
	name    string
	columns string            // the SELECT list
	keys    map[string]string // API field -> column
	times   map[string]bool   // columns holding times (unix ms)
	// counts is a table counting the rows by the columns countBy, summed
	// for total_size when the conditions allow (runcount.go); "" for none.
	counts  string
	countBy map[string]bool
}

type pageToken struct {
	Sort   string `json:"s"`
	Filter string `json:"f"`
	Value  any    `json:"v"`
	ID     string `json:"i"`
}

// list runs one page query and one count query. where/args restrict the
// rows further (a parent id); scan reads one row and returns its id and sort
// value, for the next page token.
func (s *Store) list(ctx context.Context, t table, opts ListOptions, where []string, args []any,
	scan func(rowScanner) (id string, sortValue any, err error)) (Page, error) {
	size, col, desc, err := t.order(opts)
	if err != nil {
		return Page{}, err
	}
	filterJSON, _ := json.Marshal(opts.Filter)
	sortKey := fmt.Sprintf("%s %v", col, desc)
	fw, fargs, err := t.compile(opts.Filter)
	if err != nil {
		return Page{}, err
	}
	where, args = append(where, fw...), append(args, fargs...)
	pw, pargs := where, args
	if opts.PageToken != "" {
		tok, err := decodeToken(opts.PageToken)
		if err != nil {
			return Page{}, err
		}
		if tok.Sort != sortKey || tok.Filter != string(filterJSON) {
			return Page{}, fmt.Errorf("page_token: %w: it was made for another sort_by or filter", ErrInvalid)
		}
		cmp := ">"
		if desc {
			cmp = "<"
		}
		v := tok.Value
		if f, ok := v.(float64); ok && t.times[col] || ok && f == float64(int64(f)) {
			v = int64(f)
		}
		pw = append(append([]string{}, where...), fmt.Sprintf("(%s %s ? OR (%s = ? AND id %s ?))", col, cmp, col, cmp))
		pargs = append(append([]any{}, args...), v, v, tok.ID)
	}
	dir := "ASC"
	if desc {
		dir = "DESC"
	}
	// One statement per page: the rows after the token, and the count of all
	// matching rows as a scalar subquery (a page past the end still counts).
	query := fmt.Sprintf("SELECT %s, (%s) FROM %s%s ORDER BY %s %s, id %s LIMIT %d",
		t.columns, s.countQuery(t, where), t.name, whereSQL(pw), col, dir, dir, size+1)
	rows, err := s.db.QueryContext(ctx, s.q(query), append(append([]any{}, args...), pargs...)...)
	if err != nil {
		return Page{}, fmt.Errorf("list %s: %w", t.name, err)
	}
	defer rows.Close()
	page := Page{}
	counted := &countingRow{rows: rows, total: &page.TotalSize}
	n := 0
	var lastID string
	var lastValue any
	for rows.Next() {
		n++
		if n > size {
			page.NextPageToken = encodeToken(pageToken{Sort: sortKey, Filter: string(filterJSON), Value: lastValue, ID: lastID})
			break
		}
		if lastID, lastValue, err = scan(counted); err != nil {
			return Page{}, fmt.Errorf("list %s: %w", t.name, err)
		}
	}
	if err := rows.Err(); err != nil {
		return Page{}, err
	}
	if n == 0 {
		// No rows on this page: the count still has to be asked for.
		if page.TotalSize, err = s.count(ctx, t, where, args); err != nil {
			return Page{}, err
		}
	}
	return page, nil
}

// countingRow scans a row's columns and then its trailing total count.
type countingRow struct {
	rows  *sql.Rows
	total *int
}

func (c *countingRow) Scan(dest ...any) error { return c.rows.Scan(append(dest, c.total)...) }

func whereSQL(w []string) string {
	if len(w) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w, " AND ")
}

// order validates the page size and sort_by.
func (t table) order(opts ListOptions) (size int, col string, desc bool, err error) {
	size = opts.PageSize
	switch {
	case size < 0:
		return 0, "", false, fmt.Errorf("page_size: %w: must not be negative", ErrInvalid)
	case size == 0:
		size = 20
	case size > 200:
		size = 200
	}
	field, dir, _ := strings.Cut(strings.TrimSpace(opts.SortBy), " ")
	if field == "" {
		field = "created_at"
	}
	col, ok := t.keys[field]
	if !ok {
		return 0, "", false, fmt.Errorf("sort_by: %w: cannot sort by %q", ErrInvalid, field)
	}
	switch strings.ToLower(strings.TrimSpace(dir)) {
	case "", "asc":
	case "desc":
		desc = true
	default:
		return 0, "", false, fmt.Errorf("sort_by: %w: direction %q (want asc or desc)", ErrInvalid, dir)
	}
	return size, col, desc, nil
}

// compile turns a filter into SQL conditions with ? arguments.
func (t table) compile(f *Filter) ([]string, []any, error) {
	if f == nil {
		return nil, nil, nil
	}
	var where []string
	var args []any
	for i, p := range f.Predicates {
		col, ok := t.keys[p.Key]
		if !ok {
			return nil, nil, fmt.Errorf("filter.predicates[%d].key: %w: cannot filter on %q", i, ErrInvalid, p.Key)
		}
		val := func(v any) any {
			if tm, ok := v.(time.Time); ok {
				return tm.UnixMilli()
			}
			if b, ok := v.(bool); ok && !t.times[col] {
				return b
			}
			return v
		}
		switch p.Op {
		case OpIn:
			marks := make([]string, len(p.Values))
			for j, v := range p.Values {
				marks[j] = "?"
				args = append(args, val(v))
			}
			where = append(where, fmt.Sprintf("%s IN (%s)", col, strings.Join(marks, ", ")))
		case OpIsSubstring:
			s, ok := p.Value.(string)
			if !ok {
				return nil, nil, fmt.Errorf("filter.predicates[%d]: %w: IS_SUBSTRING needs a string_value", i, ErrInvalid)
			}
			where = append(where, col+` LIKE ? ESCAPE '\'`)
			args = append(args, "%"+strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)+"%")
		default:
			sqlOp := map[Op]string{OpEquals: "=", OpNotEquals: "<>", OpGreater: ">", OpGreaterEq: ">=", OpLess: "<", OpLessEq: "<="}[p.Op]
			where = append(where, fmt.Sprintf("%s %s ?", col, sqlOp))
			args = append(args, val(p.Value))
		}
	}
	return where, args, nil
}

func encodeToken(t pageToken) string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string) (pageToken, error) {
	var t pageToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil {
		return t, fmt.Errorf("page_token: %w: not a token this server made", ErrInvalid)
	}
	switch t.Value.(type) {
	case nil, string, float64, bool: // what a sort column holds
	default:
		return t, fmt.Errorf("page_token: %w: not a token this server made (its sort value is %T)", ErrInvalid, t.Value)
	}
	return t, nil
}
