package spec

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

// TestParseReusing: file after file, each released before the next is
// read, ParseReusing returns the trees Parse returns — in memory the earlier
// files used (the arena is reused, so a node the reset left behind would
// show in a later tree) — and release clears the tree it gives back. The
// edge cases include files the block reader gives up on part way.
func TestParseReusing(t *testing.T) {
	files, _ := filepath.Glob("../../../shared/kfp-corpus/ir/valid/*.yaml")
	more, _ := filepath.Glob("../../../shared/kfp-corpus/ir/valid/*/*.yaml")
	files = append(files, more...)
	if len(files) < 140 {
		t.Fatalf("found %d corpus files", len(files))
	}
	var inputs [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, data)
	}
	for _, c := range blockCases {
		inputs = append(inputs, []byte(c))
	}
	// Interleave big and small files so that chunks are reused partly.
	for i := 0; i < len(files); i += 7 {
		inputs = append(inputs, []byte(blockCases[i%len(blockCases)]), inputs[i])
	}
	reused := 0
	var last *yaml.Node
	for i, data := range inputs {
		want, wantErr := Parse(data)
		got, release, err := DefaultLimits.ParseReusing(data)
		if diff := cmp.Diff(errText(wantErr), errText(err)); diff != "" {
			t.Fatalf("input %d: errors differ (-Parse +ParseReusing):\n%s", i, diff)
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("input %d (-Parse +ParseReusing):\n%s", i, cmp.Diff(want, got))
		}
		if len(got) > 0 {
			if got[0].Node == last {
				reused++
			}
			root := got[0].Node
			release()
			last = root
			// The block reader reads every corpus file (so its tree is the
			// arena's); yaml.v3's trees, for the others, are not.
			if i < len(files) && (root.Kind != 0 || root.Tag != "" || root.Content != nil) {
				t.Fatalf("input %d: release left the root node as it was: %+v", i, *root)
			}
			continue
		}
		release()
	}
	if reused < len(files)/2 {
		t.Fatalf("only %d of %d trees were cut from memory an earlier tree used", reused, len(inputs))
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
