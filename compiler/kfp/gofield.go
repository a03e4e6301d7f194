package kfp

import (
	"reflect"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// goStringField returns the Go field of m's generated struct that holds
// fd when it is a plain string or []string (not in a oneof, not optional):
// the decoder sets those directly, where protoreflect's Set and Append
// convert every string through reflection (allocating twice per string).
func goStringField(m protoreflect.Message, fd protoreflect.FieldDescriptor) (reflect.Value, bool) {
	if fd.Kind() != protoreflect.StringKind || fd.IsMap() || fd.ContainingOneof() != nil {
		return reflect.Value{}, false
	}
	rv := reflect.ValueOf(m.Interface())
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return reflect.Value{}, false
	}
	st := rv.Elem()
	key := goFieldKey{st.Type(), fd.Number()}
	i, ok := goFields.Load(key)
	if !ok {
		i = findGoField(st.Type(), fd)
		goFields.Store(key, i)
	}
	if i.(int) < 0 {
		return reflect.Value{}, false
	}
	return st.Field(i.(int)), true
}

type goFieldKey struct {
	t reflect.Type
	n protoreflect.FieldNumber
}

var goFields sync.Map // goFieldKey -> field index, -1 for none

var stringsType = reflect.TypeFor[[]string]()

// findGoField finds fd's field by its protobuf tag ("bytes,NUMBER,...").
func findGoField(t reflect.Type, fd protoreflect.FieldDescriptor) int {
	num := strconv.Itoa(int(fd.Number()))
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		parts := strings.Split(f.Tag.Get("protobuf"), ",")
		if len(parts) < 2 || parts[1] != num {
			continue
		}
		if fd.IsList() && f.Type == stringsType || !fd.IsList() && f.Type.Kind() == reflect.String {
			return i
		}
		return -1
	}
	return -1
}
