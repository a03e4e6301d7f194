package kfp

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
	"gopkg.in/yaml.v3"

	"github.com/kubeline/kubeline/compiler/spec"
)

// The proto-JSON mapping writes a number as a JSON number or as a string
// (64-bit integers are written as strings: activeDeadlineSeconds: '20'), and an
// enum as its name or its number. Parsers must accept every form; these
// functions do, for YAML scalars, and say what was expected otherwise.

// intBits is the width of an integer kind and whether it is unsigned.
func intBits(k protoreflect.Kind) (bits int, unsigned bool) {
	switch k {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return 32, false
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return 32, true
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return 64, true
	}
	return 64, false
}

// numberText returns the text of a scalar that may hold a number: a YAML
// number, or a string (quoted or not). ok is false for anything else.
func numberText(n *yaml.Node) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" || n.Tag == "!!bool" {
		return "", false
	}
	return strings.TrimSpace(n.Value), true
}

// parseInt parses a proto-JSON integer of the given width: a decimal integer,
// or a number in exponent or fraction form whose value is an integer ("1e3",
// "2.0"), as a JSON number or a string.
func parseInt(s string, bits int, unsigned bool) (any, error) {
	if unsigned {
		if u, err := strconv.ParseUint(s, 10, bits); err == nil {
			return u, nil
		} else if isRange(err) {
			return nil, fmt.Errorf("%s is out of range for a uint%d", s, bits)
		}
	} else {
		if i, err := strconv.ParseInt(s, 10, bits); err == nil {
			return i, nil
		} else if isRange(err) {
			return nil, fmt.Errorf("%s is out of range for an int%d", s, bits)
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, fmt.Errorf("expected an integer, got %q", s)
	}
	if f != math.Trunc(f) {
		return nil, fmt.Errorf("expected an integer, got %v", f)
	}
	lo, hi := -math.Ldexp(1, bits-1), math.Ldexp(1, bits-1)
	if unsigned {
		lo, hi = 0, math.Ldexp(1, bits)
	}
	if f < lo || f >= hi {
		return nil, fmt.Errorf("%s is out of range for an integer of %d bits", s, bits)
	}
	if unsigned {
		return uint64(f), nil
	}
	return int64(f), nil
}

func isRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// parseFloat parses a proto-JSON float or double: a number, or a string
// holding a number, "NaN", "Infinity" or "-Infinity".
func parseFloat(s string) (float64, error) {
	switch s {
	case "NaN":
		return math.NaN(), nil
	case "Infinity":
		return math.Inf(1), nil
	case "-Infinity":
		return math.Inf(-1), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if isRange(err) {
			return 0, fmt.Errorf("%s is out of range for a double", s)
		}
		return 0, fmt.Errorf("expected a number, got %q", s)
	}
	return f, nil
}

// parseEnum resolves an enum given by name or by number.
func parseEnum(n *yaml.Node, ed protoreflect.EnumDescriptor) (protoreflect.EnumValueDescriptor, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return nil, fmt.Errorf("expected one of %s, got %s", enumNames(ed), spec.NodeKind(n))
	}
	if v := ed.Values().ByName(protoreflect.Name(n.Value)); v != nil {
		return v, nil
	}
	if n.Tag == "!!int" || n.Tag == "!!str" {
		if i, err := parseInt(strings.TrimSpace(n.Value), 32, false); err == nil {
			if v := ed.Values().ByNumber(protoreflect.EnumNumber(i.(int64))); v != nil {
				return v, nil
			}
			return nil, fmt.Errorf("unknown value %s: expected one of %s (or their numbers)", n.Value, enumNames(ed))
		}
	}
	return nil, fmt.Errorf("unknown value %q: expected one of %s (or their numbers)", n.Value, enumNames(ed))
}
