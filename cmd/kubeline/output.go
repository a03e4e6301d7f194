package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// formatFlag is -o/--output: one of a command's formats (table, json, yaml
// on every command that prints data; some add their own).
type formatFlag struct {
	value   *string
	allowed []string
}

func (f formatFlag) String() string { return *f.value }

func (f formatFlag) Type() string { return strings.Join(f.allowed, "|") }

func (f formatFlag) Set(v string) error {
	if !slices.Contains(f.allowed, v) {
		return fmt.Errorf("want %s, got %q", orList(f.allowed), v)
	}
	*f.value = v
	return nil
}

// addOutputFlag adds -o/--output with the allowed formats; the first is
// the default.
func addOutputFlag(c *cobra.Command, v *string, allowed ...string) {
	*v = allowed[0]
	c.Flags().VarP(formatFlag{v, allowed}, "output", "o", "output format: "+orList(allowed))
}

func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// printOutput prints v as JSON or YAML, or as the table draws it.
func printOutput(w io.Writer, format string, v any, table func(*tableWriter)) error {
	switch format {
	case "json":
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(w, string(b))
		return err
	case "yaml":
		b, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	t := &tableWriter{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	table(t)
	return t.tw.Flush()
}

// tableWriter aligns columns.
type tableWriter struct{ tw *tabwriter.Writer }

func (t *tableWriter) row(cells ...string) { fmt.Fprintln(t.tw, strings.Join(cells, "\t")) }

func (t *tableWriter) line(format string, args ...any) { fmt.Fprintf(t.tw, format+"\n", args...) }
