package kfp

import (
	"reflect"
	"strings"
	"sync"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/kubeline/kubeline/compiler/spec"
)

// The kubernetes platform config of an executor is a proto message
// (kfp_kubernetes.KubernetesExecutorConfig) that the pinned KFP module does not
// ship; kubeline declares it as Go structs (platform.go) and decodes it from
// YAML here with the proto-JSON rules: a field by its lowerCamel JSON name or
// its proto name, integers as numbers or strings, every problem reported at
// its path and line:column, unknown fields refused.

// structField is one decodable field of a struct.
type structField struct {
	index int
	json  string // lowerCamel JSON name
	proto string // proto field name
	oneof string // oneof group, if any
}

var structFields sync.Map // reflect.Type -> []structField

func fieldsOf(t reflect.Type) []structField {
	if fs, ok := structFields.Load(t); ok {
		return fs.([]structField)
	}
	var fs []structField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		fs = append(fs, structField{index: i, json: name, proto: snake(name), oneof: f.Tag.Get("oneof")})
	}
	structFields.Store(t, fs)
	return fs
}

// snake turns a lowerCamel JSON name into the proto field name.
func snake(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsUpper(r) {
			b.WriteByte('_')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// protoName is the proto message a Go type declares (its name, unless the
// Go name differs).
func protoName(t reflect.Type) string {
	if n, ok := protoNames[t.Name()]; ok {
		return n
	}
	return t.Name()
}

var protoNames = map[string]string{
	"KubernetesConfig":         "KubernetesExecutorConfig",
	"InputParam":               "InputParameterSpec",
	"TaskOutputParam":          "TaskOutputParameterSpec",
	"RuntimeValue":             "RuntimeValue",
	"SecretKeyToEnv":           "SecretKeyToEnvMap",
	"ConfigMapKeyToEnv":        "ConfigMapKeyToEnvMap",
	"SharedMemory":             "EnabledSharedMemory",
	"InitContainerEnv":         "EnvVar",
	"InitContainerVolumeMount": "VolumeMount",
	"InitContainerResources":   "ResourceRequirements",
}

// decodeStruct decodes n into v (a pointer to a struct), adding every problem
// to errs.
func decodeStruct(n *yaml.Node, path string, v any, errs *spec.Errors) {
	sd := structDecoder{errs: errs}
	sd.value(n, path, reflect.ValueOf(v).Elem())
}

type structDecoder struct{ errs *spec.Errors }

func (d structDecoder) value(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	null := n.Kind == yaml.ScalarNode && n.Tag == "!!null"
	switch v.Kind() {
	case reflect.Pointer:
		if null {
			return
		}
		e := reflect.New(v.Type().Elem())
		d.value(n, path, e.Elem())
		v.Set(e)
	case reflect.Struct:
		d.structure(n, path, v)
	case reflect.Slice:
		if null {
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.errs.Add(path, spec.PosOf(n), "expected a list, got %s", spec.NodeKind(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.value(c, spec.Index(path, i), s.Index(i))
		}
		v.Set(s)
	case reflect.Map:
		if null {
			return
		}
		if n.Kind != yaml.MappingNode {
			d.errs.Add(path, spec.PosOf(n), "expected a mapping, got %s", spec.NodeKind(n))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			e := reflect.New(v.Type().Elem()).Elem()
			d.value(n.Content[i+1], spec.Named(path, k), e)
			m.SetMapIndex(reflect.ValueOf(k), e)
		}
		v.Set(m)
	case reflect.Interface: // google.protobuf.Struct or Value
		x, err := spec.Value(n)
		if err != nil {
			d.errs.AddErr(path, spec.PosOf(n), err)
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode || null {
			d.errs.Add(path, spec.PosOf(n), "expected a string, got %s", spec.NodeKind(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
			d.errs.Add(path, spec.PosOf(n), "expected true or false, got %s", spec.NodeKind(n))
			return
		}
		v.SetBool(b)
	case reflect.Int32, reflect.Int64:
		s, ok := numberText(n)
		if !ok {
			d.errs.Add(path, spec.PosOf(n), "expected an integer, got %s", spec.NodeKind(n))
			return
		}
		i, err := parseInt(s, v.Type().Bits(), false)
		if err != nil {
			d.errs.AddErr(path, spec.PosOf(n), err)
			return
		}
		v.SetInt(i.(int64))
	default:
		panic("kfp: no proto-JSON decoding for " + v.Type().String())
	}
}

func (d structDecoder) structure(n *yaml.Node, path string, v reflect.Value) {
	t := v.Type()
	if n.Kind != yaml.MappingNode {
		d.errs.Add(path, spec.PosOf(n), "expected a mapping (%s), got %s", protoName(t), spec.NodeKind(n))
		return
	}
	fs := fieldsOf(t)
	seen := map[string]bool{}
	oneofs := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, vn := n.Content[i], n.Content[i+1]
		p := spec.Key(path, k.Value)
		var f *structField
		for j := range fs {
			if fs[j].json == k.Value || fs[j].proto == k.Value {
				f = &fs[j]
				break
			}
		}
		switch {
		case f == nil:
			d.errs.Add(p, spec.PosOf(k), "unknown field %q of %s", k.Value, protoName(t))
			continue
		case seen[f.json]:
			d.errs.Add(p, spec.PosOf(k), "field %s given twice", f.json)
			continue
		case f.oneof != "" && oneofs[f.oneof] != "":
			d.errs.Add(p, spec.PosOf(k), "%s and %s are one of %s: set only one", oneofs[f.oneof], f.json, f.oneof)
			continue
		}
		seen[f.json] = true
		if f.oneof != "" {
			oneofs[f.oneof] = f.json
		}
		d.value(vn, p, v.Field(f.index))
	}
}
