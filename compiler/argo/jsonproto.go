package argo

import (
	"encoding/base64"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"
)

// sortedJSON writes m as compact JSON with every object's keys sorted: the
// text compactJSON's protojson-then-encoding/json round trip produces, written
// in one pass. ok is false for messages holding a well-known type it does not
// write (Any, Duration, Timestamp, wrappers, ...).
func sortedJSON(m proto.Message) (string, bool) {
	w := jsonWriters.Get().(*jsonWriter)
	defer w.release()
	if !w.message(m.ProtoReflect()) {
		return "", false
	}
	return string(w.b), true
}

// jsonWriter writes sortedJSON's text. Its buffer and the stacks its
// messages and maps gather their entries on are kept across uses (a
// pool), so writing allocates only the result.
type jsonWriter struct {
	b      []byte
	fields []jsonField
	keys   []mapEntry
	add    func(protoreflect.FieldDescriptor, protoreflect.Value) bool
	addKey func(protoreflect.MapKey, protoreflect.Value) bool
}

type jsonField struct {
	name string
	fd   protoreflect.FieldDescriptor
	v    protoreflect.Value
}

type mapEntry struct {
	name string
	v    protoreflect.Value
}

var jsonWriters = sync.Pool{New: func() any {
	w := &jsonWriter{}
	// Bound once: a closure made at every Range call escapes to the heap.
	w.add = func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		w.fields = append(w.fields, jsonField{fd.JSONName(), fd, v})
		return true
	}
	w.addKey = func(k protoreflect.MapKey, v protoreflect.Value) bool {
		w.keys = append(w.keys, mapEntry{k.String(), v})
		return true
	}
	return w
}}

// release clears what the writer holds and puts it back in the pool (a
// buffer grown past 64 KiB is dropped).
func (w *jsonWriter) release() {
	clear(w.fields[:cap(w.fields)])
	clear(w.keys[:cap(w.keys)])
	w.b, w.fields, w.keys = w.b[:0], w.fields[:0], w.keys[:0]
	if cap(w.b) > 64<<10 {
		w.b = nil
	}
	jsonWriters.Put(w)
}

func (w *jsonWriter) message(m protoreflect.Message) bool {
	switch m.Descriptor().FullName() {
	case "google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue":
		return w.wellKnown(m.Interface())
	}
	if m.Descriptor().FullName().Parent() == "google.protobuf" {
		return false
	}
	// The fields gather on the writer's stack above base; the fields of
	// messages inside them go above (a grown stack leaves these in place).
	base := len(w.fields)
	m.Range(w.add)
	fields := w.fields[base:len(w.fields):len(w.fields)]
	defer func() { w.fields = w.fields[:base] }()
	slices.SortFunc(fields, func(a, b jsonField) int { return strings.Compare(a.name, b.name) })
	w.b = append(w.b, '{')
	for i, f := range fields {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.str(f.name)
		w.b = append(w.b, ':')
		if !w.field(f.fd, f.v) {
			return false
		}
	}
	w.b = append(w.b, '}')
	return true
}

func (w *jsonWriter) field(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
	switch {
	case fd.IsMap():
		// Values are taken as Range gives them: Get converts its key
		// (an allocation per entry). They gather on the writer's stack
		// as a message's fields do.
		base := len(w.keys)
		v.Map().Range(w.addKey)
		entries := w.keys[base:len(w.keys):len(w.keys)]
		defer func() { w.keys = w.keys[:base] }()
		slices.SortFunc(entries, func(a, b mapEntry) int { return strings.Compare(a.name, b.name) })
		w.b = append(w.b, '{')
		for j, e := range entries {
			if j > 0 {
				w.b = append(w.b, ',')
			}
			w.str(e.name)
			w.b = append(w.b, ':')
			if !w.single(fd.MapValue(), e.v) {
				return false
			}
		}
		w.b = append(w.b, '}')
		return true
	case fd.IsList():
		l := v.List()
		w.b = append(w.b, '[')
		for i := 0; i < l.Len(); i++ {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			if !w.single(fd, l.Get(i)) {
				return false
			}
		}
		w.b = append(w.b, ']')
		return true
	}
	return w.single(fd, v)
}

func (w *jsonWriter) single(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return w.message(v.Message())
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			w.str(string(ev.Name()))
		} else {
			w.number(float64(v.Enum()))
		}
	case protoreflect.StringKind:
		w.str(v.String())
	case protoreflect.BytesKind:
		w.str(base64.StdEncoding.EncodeToString(v.Bytes()))
	case protoreflect.BoolKind:
		w.b = strconv.AppendBool(w.b, v.Bool())
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		w.str(strconv.FormatInt(v.Int(), 10)) // proto-JSON writes 64-bit integers as strings
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		w.str(strconv.FormatUint(v.Uint(), 10))
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		w.number(float64(v.Int()))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		w.number(float64(v.Uint()))
	case protoreflect.FloatKind:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
		// protojson writes the float32's shortest form; reading it back
		// gives the float64 encoding/json writes.
		g, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'g', -1, 32), 64)
		w.number(g)
	case protoreflect.DoubleKind:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
		w.number(f)
	default:
		return false
	}
	return true
}

// wellKnown writes a google.protobuf.Struct, Value or ListValue as the JSON
// it stands for.
func (w *jsonWriter) wellKnown(m proto.Message) bool {
	switch x := m.(type) {
	case *structpb.Struct:
		keys := make([]string, 0, len(x.GetFields()))
		for k := range x.GetFields() {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		w.b = append(w.b, '{')
		for i, k := range keys {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.str(k)
			w.b = append(w.b, ':')
			if !w.wellKnown(x.GetFields()[k]) {
				return false
			}
		}
		w.b = append(w.b, '}')
	case *structpb.ListValue:
		w.b = append(w.b, '[')
		for i, v := range x.GetValues() {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			if !w.wellKnown(v) {
				return false
			}
		}
		w.b = append(w.b, ']')
	case *structpb.Value:
		switch k := x.GetKind().(type) {
		case *structpb.Value_NullValue, nil:
			w.b = append(w.b, "null"...)
		case *structpb.Value_NumberValue:
			if math.IsNaN(k.NumberValue) || math.IsInf(k.NumberValue, 0) {
				return false
			}
			w.number(k.NumberValue)
		case *structpb.Value_StringValue:
			w.str(k.StringValue)
		case *structpb.Value_BoolValue:
			w.b = strconv.AppendBool(w.b, k.BoolValue)
		case *structpb.Value_StructValue:
			if k.StructValue == nil {
				w.b = append(w.b, "{}"...)
				return true
			}
			return w.wellKnown(k.StructValue)
		case *structpb.Value_ListValue:
			if k.ListValue == nil {
				w.b = append(w.b, "[]"...)
				return true
			}
			return w.wellKnown(k.ListValue)
		}
	default:
		return false
	}
	return true
}

// number writes f as encoding/json writes a float64.
func (w *jsonWriter) number(f float64) {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(w.b)
	w.b = strconv.AppendFloat(w.b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(w.b) - start
		if n >= 4 && w.b[len(w.b)-4] == 'e' && w.b[len(w.b)-3] == '-' && w.b[len(w.b)-2] == '0' {
			w.b[len(w.b)-2] = w.b[len(w.b)-1]
			w.b = w.b[:len(w.b)-1]
		}
	}
}

const hexDigits = "0123456789abcdef"

// str writes s as encoding/json writes a string (HTML characters escaped).
func (w *jsonWriter) str(s string) {
	w.b = append(w.b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			w.b = append(w.b, s[start:i]...)
			switch c {
			case '\\', '"':
				w.b = append(w.b, '\\', c)
			case '\b':
				w.b = append(w.b, '\\', 'b')
			case '\f':
				w.b = append(w.b, '\\', 'f')
			case '\n':
				w.b = append(w.b, '\\', 'n')
			case '\r':
				w.b = append(w.b, '\\', 'r')
			case '\t':
				w.b = append(w.b, '\\', 't')
			default:
				w.b = append(w.b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			w.b = append(w.b, s[start:i]...)
			w.b = append(w.b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			w.b = append(w.b, s[start:i]...)
			w.b = append(w.b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	w.b = append(w.b, s[start:]...)
	w.b = append(w.b, '"')
}
