package local

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/runtime/engine"
	"github.com/kubeline/kubeline/runtime/launcher"
)

// cacheVersion changes when what a step produces for the same inputs may
// change (the launcher's or the builtin executor's behaviour), so old cache
// entries are not reused.
const cacheVersion = "kubeline-step-cache-v1"

// cacheKey identifies a step for KFP caching: the run's group, the
// component interface, the command, the image, the input values and the
// content of the input artifacts — not the task's name, so the same component with the same inputs
// hits the cache from any task and any run.
func (p *pod) cacheKey(inv *launcher.Invocation) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	_ = enc.Encode(cacheVersion)
	_ = enc.Encode(p.r.wf.Labels[engine.LabelGroup]) // a group's steps never reuse another group's outputs
	_ = enc.Encode(inv.Component)
	_ = enc.Encode(inv.Command)
	_ = enc.Encode(p.tmpl.Container.Image)
	names := make([]string, 0, len(inv.Inputs))
	for k := range inv.Inputs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		_ = enc.Encode([2]string{k, inv.Inputs[k]})
	}
	in := filepath.Join(p.dir, "in")
	_ = filepath.WalkDir(in, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(in, path)
		_ = enc.Encode(rel)
		if f, err := os.Open(path); err == nil {
			_, _ = io.Copy(h, f)
			f.Close()
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))
}

func (p *pod) cacheFile(key string) string {
	return filepath.Join(p.r.e.opts.Home, "cache", key[:2], key+".json")
}

// cached returns the outputs of an earlier identical step, if caching is on.
func (p *pod) cached(inv *launcher.Invocation) (string, *wfv1.Outputs, bool) {
	if !inv.Cache {
		return "", nil, false
	}
	key := p.cacheKey(inv)
	b, err := os.ReadFile(p.cacheFile(key))
	if err != nil {
		return key, nil, false
	}
	var outs wfv1.Outputs
	if json.Unmarshal(b, &outs) != nil {
		return key, nil, false
	}
	return key, &outs, true
}

// storeCache remembers a successful step's outputs. Its artifacts stay where
// the step put them in the store; a cache hit points at the same keys.
func (p *pod) storeCache(inv *launcher.Invocation, outs *wfv1.Outputs) {
	if outs == nil {
		outs = &wfv1.Outputs{}
	}
	key := p.cacheKey(inv)
	b, err := json.Marshal(outs)
	if err != nil {
		return
	}
	f := p.cacheFile(key)
	if os.MkdirAll(filepath.Dir(f), 0o755) == nil {
		tmp := f + ".tmp"
		if os.WriteFile(tmp, b, 0o644) == nil {
			_ = os.Rename(tmp, f)
		}
	}
}
