package compiler

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompiledSize holds kubeline to ARCHITECTURE.md's key decision 1: the
// corpus compiled by kubeline is at most one third the size of what Kubeflow's
// own compiler emits for the same pipelines.
func TestCompiledSize(t *testing.T) {
	var ours, theirs int
	seen := map[string]bool{}
	for _, f := range corpusFiles(t) {
		base := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
		ref, err := os.ReadFile(filepath.Join(corpus, "kfp-compiled", base+".yaml"))
		if err != nil || seen[base] {
			continue // no reference compilation, or counted already (.zip/.json twins)
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		wf, err := Compile(filepath.Base(f), data, Options{})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out, err := Marshal(wf)
		if err != nil {
			t.Fatal(err)
		}
		seen[base] = true
		ours += len(out)
		theirs += len(ref)
	}
	if len(seen) < 140 {
		t.Fatalf("compared %d pipelines, want 140+", len(seen))
	}
	t.Logf("%d pipelines: kubeline %d bytes, KFP %d bytes (%.1f%%)", len(seen), ours, theirs, 100*float64(ours)/float64(theirs))
	if ours*3 > theirs {
		t.Fatalf("compiled corpus is %d bytes, more than one third of KFP's %d", ours, theirs)
	}
}
