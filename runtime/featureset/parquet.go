package featureset

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// checkParquet compares a Parquet file's schema with the features: every
// declared feature a flat column of a matching type, no other column.
// Parquet's types are declared in its footer, so no row is read.
func checkParquet(path string, features []Feature) ([]Problem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("check features: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("check features: %w", err)
	}
	pf, err := parquet.OpenFile(f, fi.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return []Problem{{Msg: fmt.Sprintf("Parquet: %v", err)}}, nil
	}
	c := newColumns(features)
	var names []string
	for _, field := range pf.Schema().Fields() {
		name := field.Name()
		names = append(names, name)
		typ, ok := c.types[name]
		switch {
		case !ok:
			c.add(name, "not a declared feature (Parquet schema)")
		case !field.Leaf() || field.Repeated():
			c.add(name, "declared %s, the Parquet column is nested or repeated", typ)
		default:
			if got := parquetType(field.Type()); got != typ && !(typ == "float" && got == "int") {
				c.add(name, "declared %s, the Parquet column is %s", typ, describe(field.Type()))
			}
		}
	}
	for _, ft := range features {
		if !slices.Contains(names, ft.Name) {
			c.add(ft.Name, "declared %s, missing from the Parquet schema", ft.Type)
		}
	}
	return c.probs, nil
}

// parquetType maps a Parquet column type onto a feature type ("" when
// none fits).
func parquetType(t parquet.Type) string {
	lt := ""
	if l := t.LogicalType(); l != nil {
		lt = strings.ToUpper(l.String())
	}
	switch t.Kind() {
	case parquet.Boolean:
		return "bool"
	case parquet.Int32, parquet.Int64:
		if strings.HasPrefix(lt, "TIMESTAMP") || strings.HasPrefix(lt, "DATE") {
			return "timestamp"
		}
		return "int"
	case parquet.Int96:
		return "timestamp"
	case parquet.Float, parquet.Double:
		return "float"
	case parquet.ByteArray:
		if lt == "" || strings.HasPrefix(lt, "STRING") || strings.HasPrefix(lt, "ENUM") || strings.HasPrefix(lt, "JSON") {
			return "string"
		}
	}
	return ""
}

func describe(t parquet.Type) string {
	if l := t.LogicalType(); l != nil {
		return fmt.Sprintf("%s (%s)", t.Kind(), l)
	}
	return t.Kind().String()
}
