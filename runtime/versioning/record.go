package versioning

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/store"
)

// TaskParam is the input parameter carrying a step's KFP task name.
const TaskParam = "kubeline-task"

// Recorded is what Record found in a run.
type Recorded struct {
	// Versions the run produced: new ones and existing ones whose content
	// it reproduced (Created false).
	Produced []ProducedVersion
	// Used are the versions the run imported.
	Used    []store.VersionLink
	Metrics []store.Metric
}

// ProducedVersion is one version a run's output became.
type ProducedVersion struct {
	store.ArtifactVersion
	Created bool
}

// Record reads what a finished run left: the versions it imported (the
// content URIs Resolve put in), its metrics (system.Metrics outputs), and —
// only when the run Succeeded — its dataset and model outputs: an output
// whose metadata names a resource (kubeline.io/dataset or kubeline.io/model),
// or that outputs maps ("TASK.OUTPUT" → "dataset:NAME" or "model:NAME"),
// becomes that resource's next version, or links to the existing version
// with the same content. Failed and stopped runs create no version.
func (v *Versioner) Record(ctx context.Context, runID string, wf *wfv1.Workflow, outputs map[string]string) (*Recorded, error) {
	tmp, err := os.MkdirTemp(v.TempDir, "kubeline-version-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	rec := &Recorded{}
	succeeded := wf.Status.Phase == wfv1.WorkflowSucceeded
	ids := make([]string, 0, len(wf.Status.Nodes))
	for id := range wf.Status.Nodes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		n := wf.Status.Nodes[id]
		if n.Type != wfv1.NodeTypePod || n.Outputs == nil || n.Phase != wfv1.NodeSucceeded {
			continue
		}
		task := taskName(n)
		for i, a := range n.Outputs.Artifacts {
			if a.S3 == nil || a.S3.Key == "" {
				continue
			}
			dir := filepath.Join(tmp, fmt.Sprintf("%s-%d", id, i))
			if err := v.recordOutput(ctx, rec, dir, runID, task, a, succeeded, outputs); err != nil {
				return rec, fmt.Errorf("record output %s of task %s: %w", a.Name, task, err)
			}
		}
	}
	return rec, nil
}

func taskName(n wfv1.NodeStatus) string {
	if n.Inputs != nil {
		for _, p := range n.Inputs.Parameters {
			if p.Name == TaskParam && p.Value != nil {
				return p.Value.String()
			}
		}
	}
	return n.DisplayName
}

func (v *Versioner) recordOutput(ctx context.Context, rec *Recorded, dir, runID, task string, a wfv1.Artifact, succeeded bool, outputs map[string]string) error {
	key := a.S3.Key
	meta, ok, err := v.readMeta(ctx, dir, key)
	if err != nil || !ok {
		return err
	}
	if kind, name, digest, ok := v.versionOfURI(meta.URI); ok {
		used, err := v.Records.FindArtifactVersion(ctx, kind, name, digest)
		if err == nil && !sees(ctx, used.Group) {
			err = fmt.Errorf("%s %s with sha256 %s: %w", kind, name, digest, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		l := store.VersionLink{Kind: kind, Name: name, Version: used.Version, RunID: runID, Task: task, Key: key}
		if err := v.Records.AddLink(ctx, l); err != nil {
			return err
		}
		rec.Used = append(rec.Used, l)
	}
	if meta.Type == "system.Metrics" {
		var ms []store.Metric
		for k, val := range meta.Metadata {
			if f, ok := val.(float64); ok {
				ms = append(ms, store.Metric{RunID: runID, Task: task, Artifact: a.Name, Name: k, Value: f})
			}
		}
		sort.Slice(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
		if err := v.Records.AddMetrics(ctx, ms); err != nil {
			return err
		}
		rec.Metrics = append(rec.Metrics, ms...)
	}
	kind, name, err := resourceOf(meta, task+"."+a.Name, outputs)
	if err != nil || kind == "" || !succeeded {
		return err
	}
	pv, err := v.createVersion(ctx, dir, kind, name, runID, task, key, meta)
	if err != nil {
		return err
	}
	rec.Produced = append(rec.Produced, pv)
	return v.Records.AddLink(ctx, store.VersionLink{Kind: kind, Name: name, Version: pv.Version, RunID: runID, Task: task, Key: key, Produced: true})
}

// resourceOf says which resource an output versions, if any: the run's
// mapping for TASK.OUTPUT first, then the artifact's metadata.
func resourceOf(a stepArtifact, output string, outputs map[string]string) (kind, name string, err error) {
	if m, ok := outputs[output]; ok {
		kind, name, ok = strings.Cut(m, ":")
		if !ok || (kind != "dataset" && kind != "model") || name == "" {
			return "", "", fmt.Errorf("output mapping %s=%s: want dataset:NAME or model:NAME", output, m)
		}
		return kind, name, nil
	}
	for _, c := range []struct{ kind, key string }{{"dataset", MetaDataset}, {"model", MetaModel}} {
		if n, ok := a.Metadata[c.key].(string); ok && n != "" {
			return c.kind, n, nil
		}
	}
	return "", "", nil
}

// createVersion digests the output's data and makes it a version: the
// existing one with that content, or a new one whose content is uploaded
// first (a failed upload creates no version).
func (v *Versioner) createVersion(ctx context.Context, dir, kind, name, runID, task, key string, meta stepArtifact) (ProducedVersion, error) {
	if err := store.CheckResourceName(kind, name); err != nil {
		return ProducedVersion{}, err
	}
	data := filepath.Join(dir, "data")
	if err := v.Objects.Download(ctx, key+"/data", data); err != nil {
		return ProducedVersion{}, fmt.Errorf("read %s for %s %s: %w", key, kind, name, err)
	}
	digest, size, err := digestTree(data)
	if err != nil {
		return ProducedVersion{}, fmt.Errorf("digest %s: %w", key, err)
	}
	if old, err := v.existing(ctx, kind, name, digest); err != nil || old != nil {
		return ProducedVersion{ArtifactVersion: *old}, err
	}
	vkey := artifact.VersionKey(kind, name, digest)
	md := map[string]any{}
	for k, val := range meta.Metadata {
		md[k] = val
	}
	sc, _ := ScopeOf(ctx)
	av := store.ArtifactVersion{Kind: kind, Name: name, Digest: digest, Size: size, Key: vkey, URI: v.Objects.URI(vkey),
		RunID: runID, Task: task, SourceKey: key, Metadata: md, Group: sc.Group, Owner: sc.Owner}
	created, err := v.commit(ctx, &av, func() error { return v.Objects.Upload(ctx, vkey, data) })
	if err != nil {
		return ProducedVersion{}, err
	}
	return ProducedVersion{ArtifactVersion: av, Created: created}, nil
}

// CreateFrom makes a version of a dataset or model from a local file or
// directory (how a raw dataset gets its first version), or returns the
// existing version with the same content.
func (v *Versioner) CreateFrom(ctx context.Context, kind, name, path string, metadata map[string]any) (ProducedVersion, error) {
	if _, _, _, ok, err := artifact.ParseVersionURI(kind + "://" + name); !ok || err != nil {
		return ProducedVersion{}, fmt.Errorf("%s name %q: use letters, digits, '.', '_' and '-'", kind, name)
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return ProducedVersion{}, fmt.Errorf("%s does not exist", path)
		}
		return ProducedVersion{}, fmt.Errorf("read %s: %w", path, err)
	}
	digest, size, err := digestTree(path)
	if err != nil {
		return ProducedVersion{}, fmt.Errorf("digest %s: %w", path, err)
	}
	if old, err := v.existing(ctx, kind, name, digest); err != nil || old != nil {
		return ProducedVersion{ArtifactVersion: *old}, err
	}
	vkey := artifact.VersionKey(kind, name, digest)
	if metadata == nil {
		metadata = map[string]any{}
	}
	abs, _ := filepath.Abs(path)
	sc, _ := ScopeOf(ctx)
	av := store.ArtifactVersion{Kind: kind, Name: name, Digest: digest, Size: size, Key: vkey, URI: v.Objects.URI(vkey), SourceKey: abs,
		Metadata: metadata, Group: sc.Group, Owner: sc.Owner}
	created, err := v.commit(ctx, &av, func() error { return v.Objects.Upload(ctx, vkey, path) })
	if err != nil {
		return ProducedVersion{}, err
	}
	return ProducedVersion{ArtifactVersion: av, Created: created}, nil
}

// existing returns the version of a resource that already has digest, nil
// when there is none. A resource held by a group other than ctx's scope's
// is store.ErrTaken: its versions are not this scope's to reuse.
func (v *Versioner) existing(ctx context.Context, kind, name, digest string) (*store.ArtifactVersion, error) {
	old, err := v.Records.FindArtifactVersion(ctx, kind, name, digest)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		return &old, err
	case !sees(ctx, old.Group):
		return &old, fmt.Errorf("%s %q: %w", kind, name, store.ErrTaken)
	}
	return &old, nil
}
