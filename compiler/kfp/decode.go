package kfp

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"

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
}

// decodeProto checks n against m's descriptor and sets m from it.
func (d *strictDecoder) decodeProto(n *yaml.Node, path string, m proto.Message) {
	d.message(n, path, m.ProtoReflect())
}

func (d *strictDecoder) message(n *yaml.Node, path string, m protoreflect.Message) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	md := m.Descriptor()
	switch md.FullName() {
	case "google.protobuf.Value", "google.protobuf.Struct", "google.protobuf.ListValue":
		d.wellKnown(n, path, m)
		return
	case "google.protobuf.Duration", "google.protobuf.Timestamp":
		s, ok := d.scalarString(n, path)
		if !ok {
			return
		}
		b, _ := json.Marshal(s)
		if err := protojson.Unmarshal(b, m.Interface()); err != nil {
			d.errs.Add(path, spec.PosOf(n), "invalid %s %q", md.Name(), s)
		}
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errs.Add(path, spec.PosOf(n), "expected a mapping, got %s", spec.NodeKind(n))
		return
	}
	fields := md.Fields()
	var seen []protoreflect.FieldNumber
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, vn := n.Content[i], n.Content[i+1]
		p := spec.Key(path, k.Value)
		fd := fields.ByJSONName(k.Value)
		if fd == nil {
			fd = fields.ByName(protoreflect.Name(k.Value))
		}
		if fd == nil {
			if keep, ok := d.newer[newerField{md.FullName(), k.Value}]; ok {
				v, err := spec.Value(vn)
				if err != nil {
					d.errs.AddErr(p, spec.PosOf(vn), err)
					continue
				}
				keep(path, spec.PosOf(vn), v)
				continue
			}
			d.errs.Add(p, spec.PosOf(k), "unknown field %q of %s", k.Value, md.Name())
			continue
		}
		if dup(seen, fd.Number()) {
			d.errs.Add(p, spec.PosOf(k), "field %s given twice", fd.JSONName())
			continue
		}
		seen = append(seen, fd.Number())
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			if other := m.WhichOneof(od); other != nil && other != fd {
				d.errs.Add(p, spec.PosOf(k), "%s and %s are one of %s: set only one", other.JSONName(), fd.JSONName(), od.Name())
				continue
			}
		}
		d.field(vn, p, m, fd)
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
func (d *strictDecoder) wellKnown(n *yaml.Node, path string, m protoreflect.Message) {
	v, err := spec.Value(n)
	if err != nil {
		d.errs.AddErr(path, spec.PosOf(n), err)
		return
	}
	var x proto.Message
	switch m.Descriptor().FullName() {
	case "google.protobuf.Struct":
		if v == nil {
			return
		}
		obj, ok := v.(map[string]any)
		if !ok {
			d.errs.Add(path, spec.PosOf(n), "expected a mapping, got %s", spec.NodeKind(n))
			return
		}
		x, err = structpb.NewStruct(obj)
	case "google.protobuf.ListValue":
		list, ok := v.([]any)
		if !ok {
			d.errs.Add(path, spec.PosOf(n), "expected a list, got %s", spec.NodeKind(n))
			return
		}
		x, err = structpb.NewList(list)
	default:
		x, err = structpb.NewValue(v)
	}
	if err != nil {
		d.errs.AddErr(path, spec.PosOf(n), err)
		return
	}
	proto.Merge(m.Interface(), x)
}

func (d *strictDecoder) field(n *yaml.Node, path string, m protoreflect.Message, fd protoreflect.FieldDescriptor) {
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
			d.errs.Add(path, spec.PosOf(n), "expected a mapping, got %s", spec.NodeKind(n))
			return
		}
		mp := m.Mutable(fd).Map()
		kd, vd := fd.MapKey(), fd.MapValue()
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn, vn := n.Content[i], n.Content[i+1]
			p := spec.Named(path, kn.Value)
			key, ok := d.scalar(kn, p, kd)
			if !ok {
				continue
			}
			if vd.Kind() == protoreflect.MessageKind {
				d.message(vn, p, mp.Mutable(key.MapKey()).Message())
				continue
			}
			if v, ok := d.scalar(vn, p, vd); ok {
				mp.Set(key.MapKey(), v)
			}
		}
	case fd.IsList():
		if null {
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.errs.Add(path, spec.PosOf(n), "expected a list, got %s", spec.NodeKind(n))
			return
		}
		l := m.Mutable(fd).List()
		for i, c := range n.Content {
			p := spec.Index(path, i)
			if fd.Kind() == protoreflect.MessageKind {
				d.message(c, p, l.AppendMutable().Message())
				continue
			}
			if v, ok := d.scalar(c, p, fd); ok {
				l.Append(v)
			}
		}
	case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
		if null && fd.Message().FullName() != "google.protobuf.Value" {
			return
		}
		d.message(n, path, m.Mutable(fd).Message())
	default:
		if null && fd.HasPresence() {
			return
		}
		if v, ok := d.scalar(n, path, fd); ok {
			m.Set(fd, v)
		}
	}
}

// scalar reads a singular non-message value of kind fd.Kind().
func (d *strictDecoder) scalar(n *yaml.Node, path string, fd protoreflect.FieldDescriptor) (protoreflect.Value, bool) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	fail := func(err error) (protoreflect.Value, bool) {
		d.errs.AddErr(path, spec.PosOf(n), err)
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
		s, ok := d.scalarString(n, path)
		return protoreflect.ValueOfString(s), ok
	case protoreflect.BytesKind:
		s, ok := d.scalarString(n, path)
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
			d.errs.Add(path, spec.PosOf(n), "expected true or false, got %s", spec.NodeKind(n))
			return protoreflect.Value{}, false
		}
		return protoreflect.ValueOfBool(b), true
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		s, ok := numberText(n)
		if !ok {
			d.errs.Add(path, spec.PosOf(n), "expected a number, got %s", spec.NodeKind(n))
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
			d.errs.Add(path, spec.PosOf(n), "expected an integer, got %s", spec.NodeKind(n))
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

func (d *strictDecoder) scalarString(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.errs.Add(path, spec.PosOf(n), "expected a string, got %s", spec.NodeKind(n))
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
