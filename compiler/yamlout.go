package compiler

import (
	"errors"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	yamlv2 "go.yaml.in/yaml/v2"
)

// The workflow is rendered as YAML the way sigs.k8s.io/yaml renders it (JSON
// first, then the JSON read as YAML and written by go.yaml.in/yaml/v2), with
// empty fields pruned, but without its round trip: the JSON is read once into
// ordered mappings (yamlv2.MapSlice) whose keys are already in the order
// yaml.v2 sorts a map's keys, numbers typed as the YAML reading would type
// them (int, else float64).

// yamlTree reads the JSON of a workflow into the tree yamlv2.Marshal writes.
func yamlTree(b []byte) (any, error) {
	r := jsonReader{s: string(b)}
	v, err := r.value("")
	if err != nil {
		return nil, err
	}
	r.space()
	if r.i != len(r.s) {
		return nil, errors.New("render workflow: trailing data after the JSON")
	}
	return v, nil
}

type jsonReader struct {
	s string
	i int
	// items and elems are scratch stacks: a mapping's entries and a list's
	// elements gather there and are copied out once, at their final size.
	items []yamlv2.MapItem
	elems []any
	// scratch is where a string with escapes is decoded before it is
	// copied out once.
	scratch []byte
}

// box returns a mapping key in an interface: the keys of a workflow's
// JSON are mostly Argo's and Kubernetes' field names, boxed once here rather
// than at every occurrence.
func box(k string) any {
	if b, ok := boxedKeys[k]; ok {
		return b
	}
	return k
}

var boxedKeys = func() map[string]any {
	m := map[string]any{}
	for _, k := range strings.Fields(`name value parameters arguments inputs outputs container args command
		image templates dag tasks template depends when valueFrom path artifacts s3 key archive none metadata
		labels annotations spec entrypoint podSpecPatch volumes emptyDir volumeMounts mountPath env resources
		limits requests retryStrategy limit retryPolicy backoff duration factor maxDuration withItems withParam
		parallelism hooks exit expression apiVersion kind generateName optional default resource action
		manifest setOwnerReference jsonPath flags secret secretName configMap persistentVolumeClaim claimName
		nodeSelector tolerations affinity activeDeadlineSeconds initContainers securityContext imagePullPolicy
		script source workingDir continueOn failed memoize serviceAccountName globalName enum description`) {
		m[k] = any(k)
	}
	return m
}()

var errJSON = errors.New("render workflow: malformed JSON")

func (r *jsonReader) space() {
	for r.i < len(r.s) && (r.s[r.i] == ' ' || r.s[r.i] == '\n' || r.s[r.i] == '\t' || r.s[r.i] == '\r') {
		r.i++
	}
}

// value reads one JSON value; key is the mapping key it belongs to, for
// pruning.
func (r *jsonReader) value(key string) (any, error) {
	r.space()
	if r.i >= len(r.s) {
		return nil, errJSON
	}
	switch c := r.s[r.i]; {
	case c == '{':
		return r.object(key)
	case c == '[':
		return r.array()
	case c == '"':
		return r.str()
	case c == 't' && len(r.s) >= r.i+4 && r.s[r.i:r.i+4] == "true":
		r.i += 4
		return true, nil
	case c == 'f' && len(r.s) >= r.i+5 && r.s[r.i:r.i+5] == "false":
		r.i += 5
		return false, nil
	case c == 'n' && len(r.s) >= r.i+4 && r.s[r.i:r.i+4] == "null":
		r.i += 4
		return nil, nil
	default:
		start := r.i
		for r.i < len(r.s) && (r.s[r.i] == '-' || r.s[r.i] == '+' || r.s[r.i] == '.' || r.s[r.i] == 'e' || r.s[r.i] == 'E' || (r.s[r.i] >= '0' && r.s[r.i] <= '9')) {
			r.i++
		}
		num := r.s[start:r.i]
		if i, err := strconv.ParseInt(num, 10, 0); err == nil {
			return int(i), nil
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return nil, errJSON
		}
		return f, nil
	}
}

// object reads a mapping, dropping what prune drops: null values, empty
// names, and empty mappings under the prunable keys.
func (r *jsonReader) object(key string) (any, error) {
	r.i++ // {
	base := len(r.items)
	r.space()
	if r.i < len(r.s) && r.s[r.i] == '}' {
		r.i++
		return yamlv2.MapSlice(nil), nil
	}
	for {
		r.space()
		k, err := r.str()
		if err != nil {
			return nil, err
		}
		r.space()
		if r.i >= len(r.s) || r.s[r.i] != ':' {
			return nil, errJSON
		}
		r.i++
		v, err := r.value(k)
		if err != nil {
			return nil, err
		}
		if keep(k, v) {
			r.items = append(r.items, yamlv2.MapItem{Key: box(k), Value: v})
		}
		r.space()
		if r.i >= len(r.s) {
			return nil, errJSON
		}
		if r.s[r.i] == '}' {
			r.i++
			break
		}
		if r.s[r.i] != ',' {
			return nil, errJSON
		}
		r.i++
	}
	m := make(yamlv2.MapSlice, len(r.items)-base)
	copy(m, r.items[base:])
	r.items = r.items[:base]
	sortKeys(m)
	return m, nil
}

// keep tells whether an entry survives pruning.
func keep(k string, v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return !(k == "name" && x == "")
	case yamlv2.MapSlice:
		return len(x) > 0 || !prunable[k]
	}
	return true
}

func (r *jsonReader) array() (any, error) {
	r.i++ // [
	base := len(r.elems)
	r.space()
	if r.i < len(r.s) && r.s[r.i] == ']' {
		r.i++
		return []any{}, nil
	}
	for {
		v, err := r.value("")
		if err != nil {
			return nil, err
		}
		r.elems = append(r.elems, v)
		r.space()
		if r.i >= len(r.s) {
			return nil, errJSON
		}
		if r.s[r.i] == ']' {
			r.i++
			l := make([]any, len(r.elems)-base)
			copy(l, r.elems[base:])
			r.elems = r.elems[:base]
			return l, nil
		}
		if r.s[r.i] != ',' {
			return nil, errJSON
		}
		r.i++
	}
}

// str reads a JSON string; one without escapes is a slice of the input.
func (r *jsonReader) str() (string, error) {
	if r.i >= len(r.s) || r.s[r.i] != '"' {
		return "", errJSON
	}
	r.i++
	start := r.i
	for r.i < len(r.s) {
		switch r.s[r.i] {
		case '"':
			s := r.s[start:r.i]
			r.i++
			return s, nil
		case '\\':
			return r.escaped(start)
		}
		r.i++
	}
	return "", errJSON
}

// escaped reads the rest of a string that has escapes.
func (r *jsonReader) escaped(start int) (string, error) {
	buf := append(r.scratch[:0], r.s[start:r.i]...)
	defer func() { r.scratch = buf[:0] }()
	for r.i < len(r.s) {
		c := r.s[r.i]
		switch {
		case c == '"':
			r.i++
			return string(buf), nil
		case c != '\\':
			buf = append(buf, c)
			r.i++
			continue
		}
		if r.i+1 >= len(r.s) {
			return "", errJSON
		}
		e := r.s[r.i+1]
		r.i += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			ru, ok := r.hex4()
			if !ok {
				return "", errJSON
			}
			if utf16.IsSurrogate(ru) {
				if r.i+1 < len(r.s) && r.s[r.i] == '\\' && r.s[r.i+1] == 'u' {
					r.i += 2
					lo, ok := r.hex4()
					if !ok {
						return "", errJSON
					}
					ru = utf16.DecodeRune(ru, lo)
				} else {
					ru = utf8.RuneError
				}
			}
			buf = utf8.AppendRune(buf, ru)
		default:
			return "", errJSON
		}
	}
	return "", errJSON
}

func (r *jsonReader) hex4() (rune, bool) {
	if r.i+4 > len(r.s) {
		return 0, false
	}
	v, err := strconv.ParseUint(r.s[r.i:r.i+4], 16, 32)
	if err != nil {
		return 0, false
	}
	r.i += 4
	return rune(v), true
}

// sortKeys orders a mapping's keys as yaml.v2 orders a map's string keys:
// letters by code point and after anything else, runs of digits by their
// value ("a2" before "a10"), a prefix first.
func sortKeys(m yamlv2.MapSlice) {
	// Insertion sort: mappings are small, and the JSON encoder already
	// writes most in order.
	for i := 1; i < len(m); i++ {
		for j := i; j > 0 && keyLess(m[j].Key.(string), m[j-1].Key.(string)); j-- {
			m[j], m[j-1] = m[j-1], m[j]
		}
	}
}

func keyLess(a, b string) bool {
	ar, br := []rune(a), []rune(b)
	for i := 0; i < len(ar) && i < len(br); i++ {
		if ar[i] == br[i] {
			continue
		}
		al, bl := unicode.IsLetter(ar[i]), unicode.IsLetter(br[i])
		if al && bl {
			return ar[i] < br[i]
		}
		if al || bl {
			return bl
		}
		// Digits (or other characters): compare the numbers that start here.
		var an, bn int64
		if ar[i] == '0' || br[i] == '0' {
			for j := i - 1; j >= 0 && unicode.IsDigit(ar[j]); j-- {
				if ar[j] != '0' {
					an, bn = 1, 1
					break
				}
			}
		}
		ai, bi := i, i
		for ; ai < len(ar) && unicode.IsDigit(ar[ai]); ai++ {
			an = an*10 + int64(ar[ai]-'0')
		}
		for ; bi < len(br) && unicode.IsDigit(br[bi]); bi++ {
			bn = bn*10 + int64(br[bi]-'0')
		}
		if an != bn {
			return an < bn
		}
		if ai != bi {
			return ai < bi
		}
		return ar[i] < br[i]
	}
	return len(ar) < len(br)
}
