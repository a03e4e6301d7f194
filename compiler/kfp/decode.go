package kfp

import (
	"encoding/json"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"gopkg.in/yaml.v3"

	"github.com/kubeline/kubeline/compiler/spec"
)

// newerField is a field the SDK writes that the served proto predates. keep
// receives its value (already converted to plain Go values) and its position.
type newerField struct {
	message protoreflect.FullName
	name    string
}

// strictDecoder converts a YAML tree to plain values while checking it against a
// proto descriptor, collecting every problem.
type strictDecoder struct {
	errs  *spec.Errors
	newer map[newerField]func(path string, pos *spec.Pos, v any)
}

// decodeProto checks n against m's descriptor and unmarshals it into m.
func (d *strictDecoder) decodeProto(n *yaml.Node, path string, m proto.Message) {
	before := len(*d.errs)
	v := d.message(n, path, m.ProtoReflect().Descriptor())
	if len(*d.errs) > before {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		d.errs.AddErr(path, spec.PosOf(n), fmt.Errorf("encode as JSON: %w", err))
		return
	}
	if err := protojson.Unmarshal(b, m); err != nil {
		d.errs.AddErr(path, spec.PosOf(n), fmt.Errorf("decode: %w", err))
	}
}

func isWellKnownAny(md protoreflect.MessageDescriptor) bool {
	switch md.FullName() {
	case "google.protobuf.Value", "google.protobuf.Struct", "google.protobuf.ListValue":
		return true
	}
	return false
}

func (d *strictDecoder) message(n *yaml.Node, path string, md protoreflect.MessageDescriptor) any {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if isWellKnownAny(md) {
		v, err := spec.Value(n)
		if err != nil {
			d.errs.AddErr(path, spec.PosOf(n), err)
		}
		if md.FullName() == "google.protobuf.Struct" {
			if _, ok := v.(map[string]any); !ok && v != nil {
				d.errs.Add(path, spec.PosOf(n), "expected a mapping, got %s", spec.NodeKind(n))
			}
		}
		return v
	}
	switch md.FullName() {
	case "google.protobuf.Duration", "google.protobuf.Timestamp":
		return d.scalarString(n, path)
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.errs.Add(path, spec.PosOf(n), "expected a mapping, got %s", spec.NodeKind(n))
		return nil
	}
	out := make(map[string]any, len(n.Content)/2)
	fields := md.Fields()
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
		if _, dup := out[fd.JSONName()]; dup {
			d.errs.Add(p, spec.PosOf(k), "field %s given twice", fd.JSONName())
			continue
		}
		out[fd.JSONName()] = d.field(vn, p, fd)
	}
	return out
}

func (d *strictDecoder) field(n *yaml.Node, path string, fd protoreflect.FieldDescriptor) any {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch {
	case fd.IsMap():
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil
		}
		if n.Kind != yaml.MappingNode {
			d.errs.Add(path, spec.PosOf(n), "expected a mapping, got %s", spec.NodeKind(n))
			return nil
		}
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			m[k] = d.single(n.Content[i+1], spec.Named(path, k), fd.MapValue())
		}
		return m
	case fd.IsList():
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil
		}
		if n.Kind != yaml.SequenceNode {
			d.errs.Add(path, spec.PosOf(n), "expected a list, got %s", spec.NodeKind(n))
			return nil
		}
		l := make([]any, len(n.Content))
		for i, c := range n.Content {
			l[i] = d.single(c, spec.Index(path, i), fd)
		}
		return l
	}
	return d.single(n, path, fd)
}

func (d *strictDecoder) single(n *yaml.Node, path string, fd protoreflect.FieldDescriptor) any {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return d.message(n, path, fd.Message())
	case protoreflect.EnumKind:
		v, err := parseEnum(n, fd.Enum())
		if err != nil {
			d.errs.AddErr(path, spec.PosOf(n), err)
			return nil
		}
		return string(v.Name())
	case protoreflect.StringKind, protoreflect.BytesKind:
		return d.scalarString(n, path)
	case protoreflect.BoolKind:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
			d.errs.Add(path, spec.PosOf(n), "expected true or false, got %s", spec.NodeKind(n))
			return nil
		}
		return b
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		s, ok := numberText(n)
		if !ok {
			d.errs.Add(path, spec.PosOf(n), "expected a number, got %s", spec.NodeKind(n))
			return nil
		}
		f, err := parseFloat(s)
		if err != nil {
			d.errs.AddErr(path, spec.PosOf(n), err)
			return nil
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return s // JSON has no such numbers; protojson reads the string form
		}
		return f
	default: // integers
		s, ok := numberText(n)
		if !ok {
			d.errs.Add(path, spec.PosOf(n), "expected an integer, got %s", spec.NodeKind(n))
			return nil
		}
		bits, unsigned := intBits(fd.Kind())
		v, err := parseInt(s, bits, unsigned)
		if err != nil {
			d.errs.AddErr(path, spec.PosOf(n), err)
			return nil
		}
		return v
	}
}

func (d *strictDecoder) scalarString(n *yaml.Node, path string) any {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.errs.Add(path, spec.PosOf(n), "expected a string, got %s", spec.NodeKind(n))
		return nil
	}
	return n.Value
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
