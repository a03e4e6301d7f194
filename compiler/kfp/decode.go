package kfp

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"
	"gopkg.in/yaml.v3"

	"github.com/kubeline/kubeline/compiler/spec"
)

// newerField is a field the SDK writes that the served proto predates. keep
// receives its value (already converted to plain Go values) and its position.
type newerField struct {
	message protoreflect.FullName
	name    string
}

// strictDecoder sets a proto message from a YAML tree by its descriptor, with
// the proto-JSON rules (fields by JSON or proto name, numbers and enums in
// every form the mapping allows), collecting every problem at its path and
// line:column. It writes the message directly: no JSON in between.
type strictDecoder struct {
	errs  *spec.Errors
	newer map[newerField]func(path string, pos *spec.Pos, v any)
	// base and at are the spec path of the node being decoded, kept as
	// elements and written out only for an error.
	base string
	at   []pathElem
}

// pathElem is one element of a spec path: a field, a map entry or an index.
type pathElem struct {
	kind  byte // '.', '[' (named entry) or '#' (index)
	name  string
	index int
}

func (d *strictDecoder) push(e pathElem) { d.at = append(d.at, e) }
func (d *strictDecoder) pop()            { d.at = d.at[:len(d.at)-1] }

// path is the spec path of the node being decoded.
func (d *strictDecoder) path() string {
	p := d.base
	for _, e := range d.at {
		switch e.kind {
		case '.':
			p = spec.Key(p, e.name)
		case '[':
			p = spec.Named(p, e.name)
		default:
			p = spec.Index(p, e.index)
		}
	}
	return p
}

// decodeProto checks n against m's descriptor and sets m from it.
func (d *strictDecoder) decodeProto(n *yaml.Node, path string, m proto.Message) {
	d.base, d.at = path, d.at[:0]
	d.message(n, m.ProtoReflect())
}

func (d *strictDecoder) message(n *yaml.Node, m protoreflect.Message) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	md := m.Descriptor()
	switch md.FullName() {
	case "google.protobuf.Value", "google.protobuf.Struct", "google.protobuf.ListValue":
		d.wellKnown(n, m)
		return
	case "google.protobuf.Duration", "google.protobuf.Timestamp":
		s, ok := d.scalarString(n)
		if !ok {
			return
		}
		b, _ := json.Marshal(s)
		if err := protojson.Unmarshal(b, m.Interface()); err != nil {
			d.errs.Add(d.path(), spec.PosOf(n), "invalid %s %q", md.Name(), s)
		}
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errs.Add(d.path(), spec.PosOf(n), "expected a mapping, got %s", spec.NodeKind(n))
		return
	}
	fields := md.Fields()
	var seen []protoreflect.FieldNumber
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, vn := n.Content[i], n.Content[i+1]
		fd := fields.ByJSONName(k.Value)
		if fd == nil {
			fd = fields.ByName(protoreflect.Name(k.Value))
		}
		if fd == nil {
			if keep, ok := d.newer[newerField{md.FullName(), k.Value}]; ok {
				v, err := spec.Value(vn)
				if err != nil {
					d.errs.AddErr(spec.Key(d.path(), k.Value), spec.PosOf(vn), err)
					continue
				}
				keep(d.path(), spec.PosOf(vn), v)
				continue
			}
			d.errs.Add(spec.Key(d.path(), k.Value), spec.PosOf(k), "unknown field %q of %s", k.Value, md.Name())
			continue
		}
		if dup(seen, fd.Number()) {
			d.errs.Add(spec.Key(d.path(), k.Value), spec.PosOf(k), "field %s given twice", fd.JSONName())
			continue
		}
		seen = append(seen, fd.Number())
		if fd.FullName() == "ml_pipelines.PipelineSpec.deployment_spec" {
			// A Struct in the IR, decoded strictly on its own into
			// Pipeline.Deployment; as a Struct it would be built for nothing.
			continue
		}
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			if other := m.WhichOneof(od); other != nil && other != fd {
				d.errs.Add(spec.Key(d.path(), k.Value), spec.PosOf(k), "%s and %s are one of %s: set only one", other.JSONName(), fd.JSONName(), od.Name())
				continue
			}
		}
		d.push(pathElem{kind: '.', name: k.Value})
		d.field(vn, m, fd)
		d.pop()
	}
}

func dup(seen []protoreflect.FieldNumber, n protoreflect.FieldNumber) bool {
	for _, s := range seen {
		if s == n {
			return true
		}
	}
	return false
}

// wellKnown sets a google.protobuf.Struct, Value or ListValue from any YAML.
func (d *strictDecoder) wellKnown(n *yaml.Node, m protoreflect.Message) {
	if x := d.wellKnownValue(n, m.Descriptor()); x != nil {
		proto.Merge(m.Interface(), x)
	}
}

func isWellKnownAny(md protoreflect.MessageDescriptor) bool {
	switch md.FullName() {
	case "google.protobuf.Value", "google.protobuf.Struct", "google.protobuf.ListValue":
		return true
	}
	return false
}

// wellKnownValue builds a google.protobuf.Struct, Value or ListValue (md) from
// any YAML; nil after an error or for a null Struct.
func (d *strictDecoder) wellKnownValue(n *yaml.Node, md protoreflect.MessageDescriptor) proto.Message {
	v, err := spec.Value(n)
	if err != nil {
		d.errs.AddErr(d.path(), spec.PosOf(n), err)
		return nil
	}
	var x proto.Message
	switch md.FullName() {
	case "google.protobuf.Struct":
		if v == nil {
			return nil
		}
		obj, ok := v.(map[string]any)
		if !ok {
			d.errs.Add(d.path(), spec.PosOf(n), "expected a mapping, got %s", spec.NodeKind(n))
			return nil
		}
		x, err = structpb.NewStruct(obj)
	case "google.protobuf.ListValue":
		list, ok := v.([]any)
		if !ok {
			d.errs.Add(d.path(), spec.PosOf(n), "expected a list, got %s", spec.NodeKind(n))
			return nil
		}
		x, err = structpb.NewList(list)
	default:
		x, err = structpb.NewValue(v)
	}
	if err != nil {
		d.errs.AddErr(d.path(), spec.PosOf(n), err)
		return nil
	}
	return x
}

func (d *strictDecoder) field(n *yaml.Node, m protoreflect.Message, fd protoreflect.FieldDescriptor) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	null := n.Kind == yaml.ScalarNode && n.Tag == "!!null"
	switch {
	case fd.IsMap():
		if null {
			return
		}
		if n.Kind != yaml.MappingNode {
			d.errs.Add(d.path(), spec.PosOf(n), "expected a mapping, got %s", spec.NodeKind(n))
			return
		}
		mp := m.Mutable(fd).Map()
		kd, vd := fd.MapKey(), fd.MapValue()
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn, vn := n.Content[i], n.Content[i+1]
			d.push(pathElem{kind: '[', name: kn.Value})
			if key, ok := d.scalar(kn, kd); ok {
				switch {
				case vd.Kind() == protoreflect.MessageKind && isWellKnownAny(vd.Message()):
					if x := d.wellKnownValue(vn, vd.Message()); x != nil {
						mp.Set(key.MapKey(), protoreflect.ValueOfMessage(x.ProtoReflect()))
					}
				case vd.Kind() == protoreflect.MessageKind:
					d.message(vn, mp.Mutable(key.MapKey()).Message())
				default:
					if v, ok := d.scalar(vn, vd); ok {
						mp.Set(key.MapKey(), v)
					}
				}
			}
			d.pop()
		}
	case fd.IsList():
		if null {
			return
		}
		d.list(n, m, fd)
	case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
		if null && fd.Message().FullName() != "google.protobuf.Value" {
			return
		}
		if isWellKnownAny(fd.Message()) {
			if x := d.wellKnownValue(n, fd.Message()); x != nil {
				m.Set(fd, protoreflect.ValueOfMessage(x.ProtoReflect()))
			}
			return
		}
		d.message(n, m.Mutable(fd).Message())
	default:
		if null && fd.HasPresence() {
			return
		}
		if f, ok := goStringField(m, fd); ok {
			if s, ok := d.scalarString(n); ok {
				f.SetString(s)
			}
			return
		}
		if v, ok := d.scalar(n, fd); ok {
			m.Set(fd, v)
		}
	}
}

// list sets the repeated field fd of m from the sequence n.
func (d *strictDecoder) list(n *yaml.Node, m protoreflect.Message, fd protoreflect.FieldDescriptor) {
	if n.Kind != yaml.SequenceNode {
		d.errs.Add(d.path(), spec.PosOf(n), "expected a list, got %s", spec.NodeKind(n))
		return
	}
	if f, ok := goStringField(m, fd); ok && f.Len() == 0 {
		d.stringList(n, fd, f)
		return
	}
	l := m.Mutable(fd).List()
	for i, c := range n.Content {
		d.push(pathElem{kind: '#', index: i})
		if fd.Kind() == protoreflect.MessageKind && isWellKnownAny(fd.Message()) {
			if x := d.wellKnownValue(c, fd.Message()); x != nil {
				l.Append(protoreflect.ValueOfMessage(x.ProtoReflect()))
			}
		} else if fd.Kind() == protoreflect.MessageKind {
			d.message(c, l.AppendMutable().Message())
		} else if v, ok := d.scalar(c, fd); ok {
			l.Append(v)
		}
		d.pop()
	}
}

// stringList sets the []string field f (fd) from the sequence n.
func (d *strictDecoder) stringList(n *yaml.Node, fd protoreflect.FieldDescriptor, f reflect.Value) {
	ss := make([]string, 0, len(n.Content))
	for i, c := range n.Content {
		d.push(pathElem{kind: '#', index: i})
		if v, ok := d.scalar(c, fd); ok {
			ss = append(ss, v.String())
		}
		d.pop()
	}
	if len(ss) > 0 {
		f.Set(reflect.ValueOf(ss))
	}
}

// scalar reads a singular non-message value of kind fd.Kind().
func (d *strictDecoder) scalar(n *yaml.Node, fd protoreflect.FieldDescriptor) (protoreflect.Value, bool) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	fail := func(err error) (protoreflect.Value, bool) {
		d.errs.AddErr(d.path(), spec.PosOf(n), err)
		return protoreflect.Value{}, false
	}
	switch k := fd.Kind(); k {
	case protoreflect.EnumKind:
		v, err := parseEnum(n, fd.Enum())
		if err != nil {
			return fail(err)
		}
		return protoreflect.ValueOfEnum(v.Number()), true
	case protoreflect.StringKind:
		s, ok := d.scalarString(n)
		return protoreflect.ValueOfString(s), ok
	case protoreflect.BytesKind:
		s, ok := d.scalarString(n)
		if !ok {
			return protoreflect.Value{}, false
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			if b, err = base64.URLEncoding.DecodeString(s); err != nil {
				return fail(fmt.Errorf("expected base64 bytes, got %q", s))
			}
		}
		return protoreflect.ValueOfBytes(b), true
	case protoreflect.BoolKind:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
			d.errs.Add(d.path(), spec.PosOf(n), "expected true or false, got %s", spec.NodeKind(n))
			return protoreflect.Value{}, false
		}
		return protoreflect.ValueOfBool(b), true
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		s, ok := numberText(n)
		if !ok {
			d.errs.Add(d.path(), spec.PosOf(n), "expected a number, got %s", spec.NodeKind(n))
			return protoreflect.Value{}, false
		}
		f, err := parseFloat(s)
		if err != nil {
			return fail(err)
		}
		if k == protoreflect.FloatKind {
			if !math.IsInf(f, 0) && math.Abs(f) > math.MaxFloat32 {
				return fail(fmt.Errorf("%s is out of range for a float", s))
			}
			return protoreflect.ValueOfFloat32(float32(f)), true
		}
		return protoreflect.ValueOfFloat64(f), true
	default: // integers
		s, ok := numberText(n)
		if !ok {
			d.errs.Add(d.path(), spec.PosOf(n), "expected an integer, got %s", spec.NodeKind(n))
			return protoreflect.Value{}, false
		}
		bits, unsigned := intBits(k)
		v, err := parseInt(s, bits, unsigned)
		if err != nil {
			return fail(err)
		}
		switch {
		case unsigned && bits == 32:
			return protoreflect.ValueOfUint32(uint32(v.(uint64))), true
		case unsigned:
			return protoreflect.ValueOfUint64(v.(uint64)), true
		case bits == 32:
			return protoreflect.ValueOfInt32(int32(v.(int64))), true
		}
		return protoreflect.ValueOfInt64(v.(int64)), true
	}
}

func (d *strictDecoder) scalarString(n *yaml.Node) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.errs.Add(d.path(), spec.PosOf(n), "expected a string, got %s", spec.NodeKind(n))
		return "", false
	}
	return n.Value, true
}

func enumNames(ed protoreflect.EnumDescriptor) string {
	vals := ed.Values()
	s := ""
	for i := 0; i < vals.Len(); i++ {
		if i > 0 {
			s += ", "
		}
		s += string(vals.Get(i).Name())
	}
	return s
}
