package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
)

// Op is a KFP filter operation.
type Op string

// The KFP filter operations (filter.proto), with their enum numbers.
const (
	OpEquals      Op = "EQUALS"
	OpNotEquals   Op = "NOT_EQUALS"
	OpGreater     Op = "GREATER_THAN"
	OpGreaterEq   Op = "GREATER_THAN_EQUALS"
	OpLess        Op = "LESS_THAN"
	OpLessEq      Op = "LESS_THAN_EQUALS"
	OpIn          Op = "IN"
	OpIsSubstring Op = "IS_SUBSTRING"
)

var opNumbers = map[float64]Op{1: OpEquals, 2: OpNotEquals, 3: OpGreater, 5: OpGreaterEq, 6: OpLess, 7: OpLessEq, 8: OpIn, 9: OpIsSubstring}

// Filter is a KFP filter: predicates ANDed.
type Filter struct {
	Predicates []Predicate `json:"predicates"`
}

// Predicate compares a key with a value (or, for IN, values).
type Predicate struct {
	Key    string `json:"key"`
	Op     Op     `json:"op"`
	Value  any    `json:"value,omitempty"`  // string, int64, bool or time.Time
	Values []any  `json:"values,omitempty"` // for IN
}

// FilterLimits bound one filter: its predicates and the values of all its
// IN predicates together. Zero means the DefaultFilterLimits value.
type FilterLimits struct {
	Predicates, Values int
}

// DefaultFilterLimits are far above what the Pipelines UI and the SDK send
// and far below what makes one SQL statement too large for the database.
var DefaultFilterLimits = FilterLimits{Predicates: 64, Values: 1000}

// ParseFilter reads the filter query parameter as KFP clients send it: JSON
// with enum names or numbers and snake_case or camelCase keys, URL-encoded
// once more by the UI. An empty string is no filter. The
// DefaultFilterLimits apply.
func ParseFilter(raw string) (*Filter, error) { return ParseFilterLimited(raw, DefaultFilterLimits) }

// ParseFilterLimited is ParseFilter under lim: more predicates or IN values
// are ErrInvalid naming the limit, found before any predicate is read.
func ParseFilterLimited(raw string, lim FilterLimits) (*Filter, error) {
	if lim.Predicates <= 0 {
		lim.Predicates = DefaultFilterLimits.Predicates
	}
	if lim.Values <= 0 {
		lim.Values = DefaultFilterLimits.Values
	}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, nil
	}
	if strings.HasPrefix(raw, "%") {
		dec, err := url.QueryUnescape(raw)
		if err != nil {
			return nil, fmt.Errorf("filter: %w: %v", ErrInvalid, err)
		}
		raw = dec
	}
	var doc struct {
		Predicates []map[string]any `json:"predicates"`
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("filter: %w: not a JSON filter: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("filter: %w: data after the JSON filter", ErrInvalid)
	}
	if n := len(doc.Predicates); n > lim.Predicates {
		return nil, fmt.Errorf("filter.predicates: %w: %d predicates; at most %d are allowed (limit --max-filter-predicates)", ErrInvalid, n, lim.Predicates)
	}
	values := 0
	for i, p := range doc.Predicates {
		for k, v := range p {
			if m, ok := v.(map[string]any); ok && strings.HasSuffix(snake(k), "_values") {
				l, _ := m["values"].([]any)
				if values += len(l); values > lim.Values {
					return nil, fmt.Errorf("filter.predicates[%d]: %w: more than %d IN values in the filter; at most %d are allowed (limit --max-filter-values)", i, ErrInvalid, lim.Values, lim.Values)
				}
			}
		}
	}
	f := &Filter{}
	for i, p := range doc.Predicates {
		pred, err := parsePredicate(p)
		if err != nil {
			return nil, fmt.Errorf("filter.predicates[%d]: %w", i, err)
		}
		f.Predicates = append(f.Predicates, pred)
	}
	return f, nil
}

func parsePredicate(p map[string]any) (Predicate, error) {
	var pred Predicate
	norm := map[string]any{}
	for k, v := range p {
		norm[snake(k)] = v
	}
	key, _ := norm["key"].(string)
	if key == "" {
		return pred, fmt.Errorf("%w: key is required", ErrInvalid)
	}
	pred.Key = key
	switch op := norm["operation"].(type) {
	case string:
		pred.Op = Op(op)
	case json.Number:
		f, _ := op.Float64()
		pred.Op = opNumbers[f]
	}
	switch pred.Op {
	case OpEquals, OpNotEquals, OpGreater, OpGreaterEq, OpLess, OpLessEq, OpIn, OpIsSubstring:
	default:
		return pred, fmt.Errorf("%w: unknown operation %v", ErrInvalid, norm["operation"])
	}
	for _, k := range []string{"string_value", "int_value", "long_value", "bool_value", "timestamp_value"} {
		v, ok := norm[k]
		if !ok {
			continue
		}
		val, err := scalar(k, v)
		if err != nil {
			return pred, err
		}
		pred.Value = val
	}
	for _, k := range []string{"string_values", "int_values", "long_values"} {
		v, ok := norm[k].(map[string]any)
		if !ok {
			continue
		}
		list, _ := v["values"].([]any)
		for _, x := range list {
			val, err := scalar(strings.TrimSuffix(k, "s"), x)
			if err != nil {
				return pred, err
			}
			pred.Values = append(pred.Values, val)
		}
	}
	if pred.Op == OpIn && len(pred.Values) == 0 {
		return pred, fmt.Errorf("%w: IN needs string_values, int_values or long_values", ErrInvalid)
	}
	if pred.Op != OpIn && pred.Value == nil {
		return pred, fmt.Errorf("%w: a value is required", ErrInvalid)
	}
	return pred, nil
}

// scalar converts one filter value; int64s may come as numbers or strings.
func scalar(kind string, v any) (any, error) {
	switch kind {
	case "string_value":
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%w: string_value must be a string", ErrInvalid)
		}
		return s, nil
	case "bool_value":
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("%w: bool_value must be a boolean", ErrInvalid)
		}
		return b, nil
	case "timestamp_value":
		s, _ := v.(string)
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return nil, fmt.Errorf("%w: timestamp_value: %v", ErrInvalid, err)
		}
		return t, nil
	}
	var n json.Number
	switch x := v.(type) {
	case json.Number:
		n = x
	case string:
		n = json.Number(x)
	default:
		return nil, fmt.Errorf("%w: %s must be an integer", ErrInvalid, kind)
	}
	i, err := n.Int64()
	if err != nil {
		return nil, fmt.Errorf("%w: %s must be an integer: %v", ErrInvalid, kind, err)
	}
	return i, nil
}

// snake turns camelCase into snake_case.
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
