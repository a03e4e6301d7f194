package versioning

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
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

// Record reads what a finished run left: the versions it used — imported
// (the content URIs Resolve put in) or received as a parameter (code://
// versions a step reads at $KUBELINE_CODE_DIR) — its metrics
// (system.Metrics outputs), and — only when the run Succeeded — its
// outputs named for a resource: an output whose metadata names one
// (kubeline.io/dataset, kubeline.io/model, kubeline.io/featureset), or that
// outputs maps ("TASK.OUTPUT" → "dataset:NAME", "model:NAME" or
// "featureset:NAME"), becomes that resource's next version, or links to
// the existing version with the same content. A featureset's version is
// made only when its data matches the declared features (else Record fails
// naming the columns) and records the dataset versions the run used.
// Failed and stopped runs create no version.
func (v *Versioner) Record(ctx context.Context, runID string, wf *wfv1.Workflow, outputs map[string]string) (*Recorded, error) {
	tmp, err := os.MkdirTemp(v.TempDir, "kubeline-version-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	rec := &Recorded{}
	ids := make([]string, 0, len(wf.Status.Nodes))
	for id := range wf.Status.Nodes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	// 1. What the run used and measured, and the outputs that may become
	// versions.
	var made []output
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
			o := output{dir: filepath.Join(tmp, fmt.Sprintf("%s-%d", id, i)), task: task, art: a}
			ok, err := v.recordUse(ctx, rec, runID, &o)
			if err != nil {
				return rec, fmt.Errorf("record output %s of task %s: %w", a.Name, task, err)
			}
			if ok {
				made = append(made, o)
			}
		}
	}
	if err := v.recordParams(ctx, rec, runID, wf, ids); err != nil {
		return rec, err
	}
	if wf.Status.Phase != wfv1.WorkflowSucceeded {
		return rec, nil
	}
	// 2. The versions it made.
	for _, o := range made {
		if err := v.recordMade(ctx, rec, runID, o, outputs); err != nil {
			return rec, fmt.Errorf("record output %s of task %s: %w", o.art.Name, o.task, err)
		}
	}
	return rec, nil
}

// output is one output artifact of a run's step: where it is read to.
type output struct {
	dir, task string
	art       wfv1.Artifact
	meta      stepArtifact
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

// recordUse records a version an output imported and the metrics it
// holds; ok says whether it is a kubeline step's artifact (with metadata).
func (v *Versioner) recordUse(ctx context.Context, rec *Recorded, runID string, o *output) (ok bool, err error) {
	key := o.art.S3.Key
	meta, ok, err := v.readMeta(ctx, o.dir, key)
	if err != nil || !ok {
		return false, err
	}
	meta.name = o.art.Name
	o.meta = meta
	if kind, name, digest, ok := v.versionOfURI(meta.URI); ok {
		if err := v.linkUse(ctx, rec, store.VersionLink{Kind: kind, Name: name, RunID: runID, Task: o.task, Key: key}, digest); err != nil {
			return false, err
		}
	}
	if meta.Type == "system.Metrics" {
		var ms []store.Metric
		for k, val := range meta.Metadata {
			if f, ok := val.(float64); ok {
				ms = append(ms, store.Metric{RunID: runID, Task: o.task, Artifact: o.art.Name, Name: k, Value: f})
			}
		}
		sort.Slice(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
		if err := v.Records.AddMetrics(ctx, ms); err != nil {
			return false, err
		}
		rec.Metrics = append(rec.Metrics, ms...)
	}
	return true, nil
}

// linkUse records that the run used the version of l's resource with
// digest (one of another group's does not exist for it).
func (v *Versioner) linkUse(ctx context.Context, rec *Recorded, l store.VersionLink, digest string) error {
	used, err := v.Records.FindArtifactVersion(ctx, l.Kind, l.Name, digest)
	if err == nil && !sees(ctx, used.Group) {
		err = fmt.Errorf("%s %s with sha256 %s: %w", l.Kind, l.Name, digest, store.ErrNotFound)
	}
	if err != nil {
		return err
	}
	l.Version = used.Version
	if err := v.Records.AddLink(ctx, l); err != nil {
		return err
	}
	rec.Used = append(rec.Used, l)
	return nil
}

// recordParams records the versions steps received as input parameters
// (a code version's content URI, which the launcher gave the step as
// $KUBELINE_CODE_DIR), each once per task: an importer that already
// recorded the version through its output is not counted again. The link's
// key is ParamKey(node, parameter).
func (v *Versioner) recordParams(ctx context.Context, rec *Recorded, runID string, wf *wfv1.Workflow, ids []string) error {
	linked := map[string]bool{}
	for _, l := range rec.Used {
		linked[fmt.Sprintf("%s/%s/%s@%d", l.Task, l.Kind, l.Name, l.Version)] = true
	}
	for _, id := range ids {
		n := wf.Status.Nodes[id]
		if n.Type != wfv1.NodeTypePod || n.Inputs == nil || (n.Phase != wfv1.NodeSucceeded && n.Phase != wfv1.NodeFailed) {
			continue
		}
		task := taskName(n)
		for _, p := range n.Inputs.Parameters {
			if p.Value == nil {
				continue
			}
			kind, name, digest, ok := v.versionOfURI(p.Value.String())
			if !ok {
				continue
			}
			if old, err := v.Records.FindArtifactVersion(ctx, kind, name, digest); err == nil && linked[fmt.Sprintf("%s/%s/%s@%d", task, kind, name, old.Version)] {
				continue
			}
			l := store.VersionLink{Kind: kind, Name: name, RunID: runID, Task: task, Key: ParamKey(id, p.Name)}
			if err := v.linkUse(ctx, rec, l, digest); err != nil {
				return fmt.Errorf("record parameter %s of task %s: %w", p.Name, task, err)
			}
			linked[fmt.Sprintf("%s/%s/%s@%d", task, kind, name, rec.Used[len(rec.Used)-1].Version)] = true
		}
	}
	return nil
}

// ParamKey is the key of a version link through a step's input parameter
// (not an artifact): param:NODE/PARAMETER. runtime/lineage reads it back.
func ParamKey(node, param string) string { return "param:" + node + "/" + param }

// recordMade makes an output named for a resource its version.
func (v *Versioner) recordMade(ctx context.Context, rec *Recorded, runID string, o output, outputs map[string]string) error {
	kind, name, err := resourceOf(o.meta, o.task+"."+o.art.Name, outputs)
	if err != nil || kind == "" {
		return err
	}
	if kind == store.KindFeatureSet {
		o.meta.from = usedDatasets(rec.Used)
	}
	pv, err := v.createVersion(ctx, o.dir, kind, name, runID, o.task, o.art.S3.Key, o.meta)
	if err != nil {
		return err
	}
	rec.Produced = append(rec.Produced, pv)
	return v.Records.AddLink(ctx, store.VersionLink{Kind: kind, Name: name, Version: pv.Version, RunID: runID, Task: o.task, Key: o.art.S3.Key, Produced: true})
}

// usedDatasets are the dataset versions a run used (dataset://NAME@vN).
func usedDatasets(used []store.VersionLink) []string {
	var out []string
	for _, l := range used {
		ref := fmt.Sprintf("dataset://%s@v%d", l.Name, l.Version)
		if l.Kind == store.KindDataset && !slices.Contains(out, ref) {
			out = append(out, ref)
		}
	}
	slices.Sort(out)
	return out
}

// resourceOf says which resource an output versions, if any: the run's
// mapping for TASK.OUTPUT first, then the artifact's metadata.
func resourceOf(a stepArtifact, output string, outputs map[string]string) (kind, name string, err error) {
	if m, ok := outputs[output]; ok {
		kind, name, ok = strings.Cut(m, ":")
		if !ok || !outputKind(kind) || name == "" {
			return "", "", fmt.Errorf("output mapping %s=%s: want dataset:NAME, model:NAME or featureset:NAME", output, m)
		}
		return kind, name, nil
	}
	for _, c := range []struct{ kind, key string }{{"dataset", MetaDataset}, {"model", MetaModel}, {"featureset", MetaFeatureSet}} {
		if n, ok := a.Metadata[c.key].(string); ok && n != "" {
			return c.kind, n, nil
		}
	}
	return "", "", nil
}

// createVersion digests the output's data and makes it a version: the
// existing one with that content, or a new one whose content is uploaded
// first (a failed upload creates no version). A featureset's data must
// match its declared features.
func (v *Versioner) createVersion(ctx context.Context, dir, kind, name, runID, task, key string, meta stepArtifact) (ProducedVersion, error) {
	if err := store.CheckResourceName(kind, name); err != nil {
		return ProducedVersion{}, err
	}
	data := filepath.Join(dir, "data")
	if err := v.Objects.Download(ctx, key+"/data", data); err != nil {
		return ProducedVersion{}, fmt.Errorf("read %s for %s %s: %w", key, kind, name, err)
	}
	md := map[string]any{}
	for k, val := range meta.Metadata {
		md[k] = val
	}
	if kind == store.KindFeatureSet {
		if err := v.checkFeatures(ctx, name, task+"."+meta.name, data, md, meta.from); err != nil {
			return ProducedVersion{}, err
		}
	}
	return v.store(ctx, store.ArtifactVersion{Kind: kind, Name: name, RunID: runID, Task: task, SourceKey: key, Metadata: md}, data)
}

// store makes the content at path version av (its kind, name, metadata
// and origin filled in), all or nothing (commit), unless a version of the
// resource has the same digest: that one is returned (Created false).
// av.Digest, when set, names the version instead of the content's digest
// (code from git: its commit and tree).
func (v *Versioner) store(ctx context.Context, av store.ArtifactVersion, path string) (ProducedVersion, error) {
	if err := v.outsideStore(path); err != nil {
		return ProducedVersion{}, err
	}
	digest, size, err := digestTree(path)
	if err != nil {
		return ProducedVersion{}, fmt.Errorf("digest %s: %w", path, err)
	}
	if av.Digest == "" {
		av.Digest = digest
	}
	av.Size = size
	if old, err := v.existing(ctx, av.Kind, av.Name, av.Digest); err != nil || old != nil {
		return ProducedVersion{ArtifactVersion: *old}, err
	}
	av.Key = artifact.VersionKey(av.Kind, av.Name, av.Digest)
	av.URI = v.Objects.URI(av.Key)
	if av.Metadata == nil {
		av.Metadata = map[string]any{}
	}
	sc, _ := ScopeOf(ctx)
	av.Group, av.Owner = sc.Group, sc.Owner
	created, err := v.commit(ctx, &av, func() error { return v.Objects.Upload(ctx, av.Key, path) })
	if err != nil {
		return ProducedVersion{}, err
	}
	return ProducedVersion{ArtifactVersion: av, Created: created}, nil
}

// CreateFrom makes a version of a dataset, model, code or featureset from
// a local file or directory (how a raw dataset gets its first version), or
// returns the existing version with the same content. A featureset's data
// must match its declared features.
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
	if metadata == nil {
		metadata = map[string]any{}
	}
	if kind == store.KindFeatureSet {
		if err := v.checkFeatures(ctx, name, filepath.Base(path), path, metadata, nil); err != nil {
			return ProducedVersion{}, err
		}
	}
	abs, _ := filepath.Abs(path)
	return v.store(ctx, store.ArtifactVersion{Kind: kind, Name: name, SourceKey: abs, Metadata: metadata}, path)
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

// outsideStore refuses content that holds a directory store's own tree
// (versioning $KUBELINE_HOME, say): its upload would copy into itself
// without end.
func (v *Versioner) outsideStore(path string) error {
	var root string
	switch d := v.Objects.(type) {
	case artifact.Dir:
		root = d.Root
	case *artifact.Dir:
		root = d.Root
	default:
		return nil
	}
	p, err1 := filepath.Abs(path)
	r, err2 := filepath.Abs(root)
	if err1 != nil || err2 != nil {
		return nil
	}
	if rel, err := filepath.Rel(p, r); err == nil && filepath.IsLocal(rel) || p == r {
		return fmt.Errorf("%s holds the artifact store %s: version a directory outside it: %w", path, root, store.ErrInvalid)
	}
	return nil
}
