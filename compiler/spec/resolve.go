package spec

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// resolveTag is the tag yaml.v3 gives a plain scalar (its resolve.go,
// which it keeps unexported): the YAML 1.2 core schema with yaml.v3's
// additions (timestamps, 0b and 0o integers, 1.1 octals, underscores).
func resolveTag(in string) string {
	if in == "" {
		return "!!null"
	}
	switch c := in[0]; {
	case c == '+' || c == '-' || (c >= '0' && c <= '9'):
		if tag, ok := resolvedWords[in]; ok {
			return tag
		}
		return resolveNumber(in)
	case c == '.':
		if tag, ok := resolvedWords[in]; ok {
			return tag
		}
		if _, err := strconv.ParseFloat(in, 64); err == nil {
			return "!!float"
		}
	case strings.IndexByte("yYnNtTfFoO~", c) >= 0:
		if tag, ok := resolvedWords[in]; ok {
			return tag
		}
	}
	return "!!str"
}

var resolvedWords = map[string]string{
	"true": "!!bool", "True": "!!bool", "TRUE": "!!bool", "false": "!!bool", "False": "!!bool", "FALSE": "!!bool",
	"~": "!!null", "null": "!!null", "Null": "!!null", "NULL": "!!null",
	".nan": "!!float", ".NaN": "!!float", ".NAN": "!!float", ".inf": "!!float", ".Inf": "!!float", ".INF": "!!float",
	"+.inf": "!!float", "+.Inf": "!!float", "+.INF": "!!float", "-.inf": "!!float", "-.Inf": "!!float", "-.INF": "!!float",
}

// resolveNumber is yaml.v3's resolution of a plain scalar that starts with
// a sign or a digit.
func resolveNumber(in string) string {
	if IsTimestamp(in) {
		return "!!timestamp"
	}
	plain := strings.ReplaceAll(in, "_", "")
	ints := IntChars(plain)
	if ints {
		_, err := strconv.ParseInt(plain, 0, 64)
		if err == nil {
			return "!!int"
		}
		// ParseInt is a sign and ParseUint: only a number out of its range
		// can still be an unsigned one.
		if errors.Is(err, strconv.ErrRange) {
			if _, err := strconv.ParseUint(plain, 0, 64); err == nil {
				return "!!int"
			}
		}
	}
	if yamlFloat(plain) {
		if _, err := strconv.ParseFloat(plain, 64); err == nil {
			return "!!float"
		}
	}
	for _, prefix := range []struct {
		p    string
		base int
		sign string
	}{{"0b", 2, ""}, {"-0b", 2, "-"}, {"0o", 8, ""}, {"-0o", 8, "-"}} {
		if !ints || !strings.HasPrefix(plain, prefix.p) {
			continue
		}
		digits := plain[len(prefix.p):]
		if _, err := strconv.ParseInt(prefix.sign+digits, prefix.base, 64); err == nil {
			return "!!int"
		}
		if prefix.sign == "" {
			if _, err := strconv.ParseUint(digits, prefix.base, 64); err == nil {
				return "!!int"
			}
		}
		break
	}
	return "!!str"
}

// yamlFloat matches yaml.v3's `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
func yamlFloat(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	} else {
		if digits() == 0 {
			return false
		}
		if i < len(s) && s[i] == '.' {
			i++
			digits()
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// timestampFormats are the layouts yaml.v3 reads a plain timestamp with.
var timestampFormats = []string{
	"2006-1-2T15:4:5.999999999Z07:00",
	"2006-1-2t15:4:5.999999999Z07:00",
	"2006-1-2 15:4:5.999999999",
	"2006-1-2",
}

// IsTimestamp reports whether a plain scalar is a timestamp: yaml.v3's
// parseTimestamp without the time, the same rule as yaml.v2's (the
// compiler's YAML writer quotes such strings).
func IsTimestamp(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		if c := s[i]; c < '0' || c > '9' {
			break
		}
	}
	if i != 4 || i == len(s) || s[i] != '-' {
		return false
	}
	for _, format := range timestampFormats {
		if _, err := time.Parse(format, s); err == nil {
			return true
		}
	}
	return false
}

// IntChars says whether s holds only bytes that strconv.ParseInt and
// ParseUint can accept in some base (a sign, digits, hex digits, the base
// prefixes' letters, underscores): for any other s both fail, and their
// error allocates, so callers resolving scalars skip them.
func IntChars(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		case c == '+', c == '-', c == '_', c == 'x', c == 'X', c == 'o', c == 'O':
		default:
			return false
		}
	}
	return true
}
