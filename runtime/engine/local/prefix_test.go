package local

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPrefixWriter: a step's output reaches the logs as whole lines, each
// prefixed with the step's name, however the writes split them; a line
// not yet ended waits for its end.
func TestPrefixWriter(t *testing.T) {
	cases := []struct {
		name   string
		writes []string
		want   string
	}{
		{"one line", []string{"hello\n"}, "s(0:a): hello\n"},
		{"split line", []string{"hel", "lo\nwor", "ld\n"}, "s(0:a): hello\ns(0:a): world\n"},
		{"lines in one write", []string{"a\n\nb\nc"}, "s(0:a): a\ns(0:a): \ns(0:a): b\n"},
		{"no end", []string{"partial"}, ""},
		{"carriage return kept", []string{"x\r\n"}, "s(0:a): x\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			w := &prefixWriter{r: &run{e: &Engine{opts: Options{Logs: &logs}}}, prefix: "s(0:a)"}
			for _, s := range tc.writes {
				if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", s, n, err)
				}
			}
			if d := cmp.Diff(tc.want, logs.String()); d != "" {
				t.Errorf("logs (-want +got):\n%s", d)
			}
		})
	}
}
