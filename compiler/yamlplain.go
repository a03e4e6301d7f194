package compiler

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/kubeline/kubeline/compiler/spec"
)

// plainString says whether yaml.v2 writes s as a plain scalar when it can:
// s reads back as a string (resolve gives !!str) and is no base 60 float.
func plainString(s string) bool {
	if s == "" {
		return false // resolves to null
	}
	switch c := s[0]; {
	case c == '+' || c == '-' || (c >= '0' && c <= '9'):
		if _, ok := v2Words[s]; ok {
			return false
		}
		return !v2Number(s) && !isBase60Float(s)
	case c == '.':
		if _, ok := v2Words[s]; ok {
			return false
		}
		_, err := strconv.ParseFloat(s, 64)
		return err != nil
	case strings.IndexByte("yYnNtTfFoO~", c) >= 0:
		_, ok := v2Words[s]
		return !ok
	}
	return true
}

// v2Words are the plain scalars yaml.v2 resolves by table (YAML 1.1
// booleans, nulls, special floats; "<<" starts with no character the
// table is consulted for, so it stays a plain string).
var v2Words = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`y Y yes Yes YES true True TRUE on On ON n N no No NO false False FALSE
		off Off OFF ~ null Null NULL .nan .NaN .NAN .inf .Inf .INF +.inf +.Inf +.INF -.inf -.Inf -.INF`) {
		m[w] = true
	}
	return m
}()

// v2Number is yaml.v2's resolution of a scalar starting with a sign or a
// digit: a timestamp, an integer (any base, underscores) or a float.
func v2Number(in string) bool {
	if spec.IsTimestamp(in) {
		return true
	}
	plain := strings.ReplaceAll(in, "_", "")
	if !spec.IntChars(plain) {
		// No integer in any base: only a float is left.
		if yamlStyleFloat.MatchString(plain) {
			_, err := strconv.ParseFloat(plain, 64)
			return err == nil
		}
		return false
	}
	if _, err := strconv.ParseInt(plain, 0, 64); err == nil {
		return true
	}
	if _, err := strconv.ParseUint(plain, 0, 64); err == nil {
		return true
	}
	if yamlStyleFloat.MatchString(plain) {
		if _, err := strconv.ParseFloat(plain, 64); err == nil {
			return true
		}
	}
	if strings.HasPrefix(plain, "0b") {
		if _, err := strconv.ParseInt(plain[2:], 2, 64); err == nil {
			return true
		}
		if _, err := strconv.ParseUint(plain[2:], 2, 64); err == nil {
			return true
		}
	} else if strings.HasPrefix(plain, "-0b") {
		if _, err := strconv.ParseInt("-"+plain[3:], 2, 64); err == nil {
			return true
		}
	}
	return false
}

var (
	yamlStyleFloat = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)
	base60float    = regexp.MustCompile(`^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`)
)

func isBase60Float(s string) bool {
	return strings.IndexByte(s, ':') >= 0 && base60float.MatchString(s)
}
