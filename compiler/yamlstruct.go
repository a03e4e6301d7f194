package compiler

import (
	"encoding"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	yamlv2 "go.yaml.in/yaml/v2"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// structTree builds, from the workflow's Go values, the tree yamlTree reads
// from their JSON (yamlv2.MapSlice in yaml.v2's key order, []any, string,
// int, float64, bool; pruned as yamlTree prunes), without writing and
// reading the JSON: struct fields are encoded by encoding/json's rules
// (json tags, omitempty, embedded structs), a type with its own JSON or text
// form (json.Marshaler, encoding.TextMarshaler) through encoding/json and
// read back. ok is false for what it does not follow (a tag's ",string",
// fields whose names collide, a map with keys that are not strings): Marshal
// then takes the JSON path. TestStructTreeMatchesJSON holds it to yamlTree.
func structTree(v any) (tree any, ok bool) { return buildTree(v, nil) }

// buildTree is structTree with the tree's mappings and lists cut from
// arena (allocated when arena is nil).
func buildTree(v any, arena *treeArena) (tree any, ok bool) {
	t := treeBuilder{arena: arena}
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return nil, true
	}
	tree = t.value(rv, infoOf(rv.Type()), "")
	return tree, t.err == nil
}

type treeBuilder struct {
	arena *treeArena
	err   error
	jr    jsonReader
	items []yamlv2.MapItem
}

var errStructTree = jsonError("render workflow: a value structTree does not follow")

type jsonError string

func (e jsonError) Error() string { return string(e) }

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	anyStringType     = reflect.TypeFor[wfv1.AnyString]()
	intOrStringType   = reflect.TypeFor[intstr.IntOrString]()
)

// typeInfo is what encoding a type takes, worked out once per type: the
// graph from a type reaches every type below it, so a walk asks the cache
// only for what an interface holds.
type typeInfo struct {
	// byJSON: the type has its own JSON or text form (on its value, or on
	// its pointer when addrJSON and the value is addressable).
	byJSON, addrJSON bool
	elem             *typeInfo // pointer, slice, array, map value
	fields           structFields
}

var (
	infoMu sync.Mutex
	infos  = map[reflect.Type]*typeInfo{}
)

func infoOf(t reflect.Type) *typeInfo {
	infoMu.Lock()
	defer infoMu.Unlock()
	return buildInfo(t)
}

func buildInfo(t reflect.Type) *typeInfo {
	if i := infos[t]; i != nil {
		return i
	}
	i := &typeInfo{}
	infos[t] = i
	own := func(t reflect.Type) bool {
		switch t {
		case anyStringType, intOrStringType, reflect.PointerTo(anyStringType), reflect.PointerTo(intOrStringType):
			return false // value writes these itself
		}
		return t.Implements(marshalerType) || t.Implements(textMarshalerType)
	}
	switch t.Kind() {
	case reflect.Pointer:
		i.byJSON = own(t)
	case reflect.Interface:
	default:
		i.byJSON = own(t)
		i.addrJSON = !i.byJSON && own(reflect.PointerTo(t))
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		i.elem = buildInfo(t.Elem())
	case reflect.Struct:
		i.fields = fieldsOf(t)
		for j := range i.fields.list {
			i.fields.list[j].info = buildInfo(i.fields.list[j].typ)
		}
	}
	return i
}

// value is the tree of v; key is the mapping key it belongs to (for
// pruning).
func (t *treeBuilder) value(v reflect.Value, info *typeInfo, key string) any {
	if t.err != nil {
		return nil
	}
	typ := v.Type()
	switch typ {
	case anyStringType:
		return t.str(v.String())
	case intOrStringType:
		ios := v.Interface().(intstr.IntOrString)
		if ios.Type == intstr.Int {
			return int(ios.IntVal)
		}
		return t.str(ios.StrVal)
	}
	switch {
	case info.byJSON && (typ.Kind() != reflect.Pointer || !v.IsNil()):
		return t.viaJSON(v.Interface(), key)
	case info.addrJSON && v.CanAddr():
		return t.viaJSON(v.Addr().Interface(), key)
	}
	switch typ.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return t.value(v.Elem(), info.elem, key)
	case reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return t.value(v.Elem(), infoOf(v.Elem().Type()), key)
	case reflect.Struct:
		return t.object(v, info)
	case reflect.Map:
		return t.mapping(v, info, key)
	case reflect.Slice:
		if v.IsNil() {
			return nil
		}
		if typ.Elem().Kind() == reflect.Uint8 {
			return t.viaJSON(v.Interface(), key)
		}
		return t.list(v, info)
	case reflect.Array:
		return t.list(v, info)
	case reflect.String:
		return t.str(v.String())
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return int(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if v.Uint() <= math.MaxInt64 {
			return int(v.Uint())
		}
	}
	return t.viaJSON(v.Interface(), key)
}

// str is a string as the JSON round trip leaves it: invalid UTF-8 becomes
// U+FFFD, byte by byte.
func (t *treeBuilder) str(s string) any {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// viaJSON is v's tree by encoding/json and yamlTree's reader.
func (t *treeBuilder) viaJSON(v any, key string) any {
	b, err := json.Marshal(v)
	if err != nil {
		t.err = err
		return nil
	}
	t.jr.s, t.jr.i = string(b), 0
	out, err := t.jr.value(key)
	if err != nil {
		t.err = err
	}
	return out
}

func (t *treeBuilder) list(v reflect.Value, info *typeInfo) any {
	l := t.arena.list(v.Len())
	for i := range l {
		l[i] = t.value(v.Index(i), info.elem, "")
	}
	return l
}

func (t *treeBuilder) mapping(v reflect.Value, info *typeInfo, key string) any {
	if v.IsNil() {
		return nil
	}
	if v.Type().Key().Kind() != reflect.String || v.Type().Key().Implements(textMarshalerType) {
		return t.viaJSON(v.Interface(), key)
	}
	m := t.arena.mapSlice(v.Len())[:0]
	for it := v.MapRange(); it.Next(); {
		k := t.str(it.Key().String()).(string)
		e := t.value(it.Value(), info.elem, k)
		if keep(k, e) {
			m = append(m, yamlv2.MapItem{Key: box(k), Value: e})
		}
	}
	sortKeys(m)
	return m
}

func (t *treeBuilder) object(v reflect.Value, info *typeInfo) any {
	fields := info.fields
	if !fields.ok {
		t.err = errStructTree
		return nil
	}
	// The entries gather on the builder's stack and are copied out once,
	// at their number (a struct has many more fields than it sets).
	base := len(t.items)
	for i := range fields.list {
		f := &fields.list[i]
		fv, ok := fieldByIndex(v, f.index)
		if !ok || (f.omitEmpty && isEmptyValue(fv)) {
			continue
		}
		e := t.value(fv, f.info, f.name)
		if keep(f.name, e) {
			t.items = append(t.items, yamlv2.MapItem{Key: f.key, Value: e})
		}
	}
	m := t.arena.mapSlice(len(t.items) - base)
	copy(m, t.items[base:])
	clear(t.items[base:])
	t.items = t.items[:base]
	if !fields.sorted {
		sortKeys(m)
	}
	return m
}

// fieldByIndex follows index through embedded structs; ok is false past a
// nil embedded pointer (encoding/json leaves its fields out).
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

// isEmptyValue is encoding/json's omitempty test.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

type structField struct {
	name      string
	key       any // name, boxed once
	index     []int
	typ       reflect.Type
	info      *typeInfo
	omitEmpty bool
}

type structFields struct {
	list []structField
	// sorted: the fields are in yaml.v2's key order already.
	sorted bool
	// ok is false for a ",string" or ",omitzero" tag or two fields with
	// the same name.
	ok bool
}

// fieldsOf lists a struct's JSON fields as encoding/json does, embedded
// structs' fields in place of the struct.
func fieldsOf(t reflect.Type) structFields {
	var fs structFields
	fs.ok = collectFields(t, nil, &fs.list, map[reflect.Type]bool{})
	seen := map[string]bool{}
	for i := range fs.list {
		if seen[fs.list[i].name] {
			fs.ok = false
		}
		seen[fs.list[i].name] = true
		fs.list[i].key = box(fs.list[i].name)
	}
	m := make(yamlv2.MapSlice, len(fs.list))
	for i, f := range fs.list {
		m[i].Key = f.name
	}
	sortKeys(m)
	fs.sorted = true
	for i, f := range fs.list {
		fs.sorted = fs.sorted && m[i].Key == f.name
	}
	return fs
}

func collectFields(t reflect.Type, index []int, out *[]structField, visiting map[reflect.Type]bool) bool {
	if visiting[t] {
		return false
	}
	visiting[t] = true
	defer delete(visiting, t)
	ok := true
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		idx := append(index[:len(index):len(index)], i)
		ft := sf.Type
		if sf.Anonymous {
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if !sf.IsExported() && ft.Kind() != reflect.Struct {
				continue
			}
			if name == "" && ft.Kind() == reflect.Struct {
				ok = collectFields(ft, idx, out, visiting) && ok
				continue
			}
		} else if !sf.IsExported() {
			continue
		}
		if strings.Contains(","+opts+",", ",string,") || strings.Contains(","+opts+",", ",omitzero,") || !validTagName(name) {
			ok = false
		}
		if name == "" {
			name = sf.Name
		}
		*out = append(*out, structField{name: name, index: idx, typ: sf.Type, omitEmpty: strings.Contains(","+opts+",", ",omitempty,")})
	}
	return ok
}

// validTagName is encoding/json's isValidTag for the names this builder
// takes as they are (others: the JSON path decides).
func validTagName(s string) bool {
	for _, c := range s {
		if !(c == '-' || c == '_' || c == '.' || c == '/' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
