package compiler

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kubeflow/pipelines/api/v2alpha1/go/pipelinespec"
	"google.golang.org/protobuf/reflect/protoreflect"
	"gopkg.in/yaml.v3"

	"github.com/kubeline/kubeline/compiler/kfp"
	"github.com/kubeline/kubeline/compiler/spec"
)

// TestProtoJSONForms is a property test of the proto-JSON mapping: every
// corpus file, rewritten with each integer, float and enum field in its other
// form (a number as a string and a string as a number, an enum name as its
// number), compiles to the same workflow as the file as written.
func TestProtoJSONForms(t *testing.T) {
	total := 0
	for _, f := range corpusFiles(t) {
		if !strings.HasSuffix(f, ".yaml") {
			continue
		}
		rel := strings.TrimPrefix(f, corpus+"/")
		if _, ok := expectedFailures[rel]; ok {
			continue
		}
		t.Run(rel, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want := compileYAML(t, filepath.Base(f), data)
			docs, err := spec.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			flipped := 0
			var buf bytes.Buffer
			enc := yaml.NewEncoder(&buf)
			for _, d := range docs {
				flipped += flipDocument(d)
				if err := enc.Encode(d.Node); err != nil {
					t.Fatal(err)
				}
			}
			total += flipped
			if flipped == 0 {
				return
			}
			got := compileYAML(t, filepath.Base(f), buf.Bytes())
			if diff := cmp.Diff(strings.Split(want, "\n"), strings.Split(got, "\n")); diff != "" {
				t.Errorf("%d fields in their other proto-JSON form compile differently (-as written +flipped):\n%s\nflipped file:\n%s", flipped, diff, buf.String())
			}
		})
	}
	t.Logf("%d numeric and enum fields flipped", total)
	if total < 500 {
		t.Fatalf("flipped %d numeric and enum fields in the corpus, want 500+ (is the walk finding them?)", total)
	}
}

func compileYAML(t *testing.T, name string, data []byte) string {
	t.Helper()
	wf, err := Compile(name, data, Options{})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	out, err := Marshal(wf)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// flipDocument flips the numeric and enum scalars of a KFP document and
// returns how many it flipped.
func flipDocument(d spec.Document) int {
	switch d.Kind {
	case spec.KindPipeline:
		n := flipMessage(d.Node, (&pipelinespec.PipelineSpec{}).ProtoReflect().Descriptor())
		if dn := spec.Lookup(d.Node, "deploymentSpec"); dn != nil {
			n += flipMessage(dn, (&pipelinespec.PipelineDeploymentConfig{}).ProtoReflect().Descriptor())
		}
		return n
	case spec.KindPlatform:
		execs := spec.Lookup(spec.Lookup(spec.Lookup(spec.Lookup(d.Node, "platforms"), "kubernetes"), "deploymentSpec"), "executors")
		n := 0
		if execs != nil {
			for i := 1; i < len(execs.Content); i += 2 {
				n += flipStruct(execs.Content[i], reflect.TypeOf(kfp.KubernetesConfig{}))
			}
		}
		return n
	}
	return 0
}

func flipMessage(n *yaml.Node, md protoreflect.MessageDescriptor) int {
	if n == nil || n.Kind != yaml.MappingNode {
		return 0
	}
	count := 0
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		fd := md.Fields().ByJSONName(k)
		if fd == nil {
			fd = md.Fields().ByName(protoreflect.Name(k))
		}
		if fd == nil {
			continue
		}
		switch {
		case fd.IsMap():
			if v.Kind == yaml.MappingNode {
				for j := 1; j < len(v.Content); j += 2 {
					count += flipSingle(v.Content[j], fd.MapValue())
				}
			}
		case fd.IsList():
			if v.Kind == yaml.SequenceNode {
				for _, c := range v.Content {
					count += flipSingle(c, fd)
				}
			}
		default:
			count += flipSingle(v, fd)
		}
	}
	return count
}

func flipSingle(v *yaml.Node, fd protoreflect.FieldDescriptor) int {
	switch fd.Kind() {
	case protoreflect.MessageKind:
		switch fd.Message().FullName() {
		case "google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue",
			"google.protobuf.Duration", "google.protobuf.Timestamp":
			return 0
		}
		return flipMessage(v, fd.Message())
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByName(protoreflect.Name(v.Value)); ev != nil && v.Kind == yaml.ScalarNode {
			setNumber(v, strconv.Itoa(int(ev.Number())))
			return 1
		}
	case protoreflect.BoolKind, protoreflect.StringKind, protoreflect.BytesKind:
	default:
		return flipNumber(v)
	}
	return 0
}

// flipNumber writes a number scalar as a string and a string as a number.
func flipNumber(v *yaml.Node) int {
	if v.Kind != yaml.ScalarNode {
		return 0
	}
	switch v.Tag {
	case "!!int", "!!float":
		v.Tag, v.Style = "!!str", yaml.SingleQuotedStyle
	case "!!str":
		v.Tag, v.Style = "", 0
	default:
		return 0
	}
	return 1
}

func setNumber(v *yaml.Node, s string) { v.Value, v.Tag, v.Style = s, "!!int", 0 }

// flipStruct flips the integer fields of a kfp platform config.
func flipStruct(n *yaml.Node, t reflect.Type) int {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	count := 0
	switch {
	case n.Kind == yaml.SequenceNode:
		for _, c := range n.Content {
			count += flipStruct(c, t)
		}
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		for i := 0; i+1 < len(n.Content); i += 2 {
			for j := 0; j < t.NumField(); j++ {
				name, _, _ := strings.Cut(t.Field(j).Tag.Get("json"), ",")
				if name == n.Content[i].Value {
					count += flipStruct(n.Content[i+1], t.Field(j).Type)
				}
			}
		}
	case n.Kind == yaml.ScalarNode && (t.Kind() == reflect.Int32 || t.Kind() == reflect.Int64):
		count += flipNumber(n)
	}
	return count
}
