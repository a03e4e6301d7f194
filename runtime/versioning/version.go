package versioning

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/engine"
	"github.com/kubeline/kubeline/runtime/store"
)

// Metadata keys that name the resource an output artifact versions.
const (
	MetaDataset    = "kubeline.io/dataset"
	MetaModel      = "kubeline.io/model"
	MetaFeatureSet = "kubeline.io/featureset"
)

// VersionRecords is where versions and their links are recorded
// (runtime/store implements it). CreateArtifactVersion must number a new
// digest with the resource's next version and return the existing version
// (created false) for a digest it already has.
type VersionRecords interface {
	CreateArtifactVersion(ctx context.Context, v *store.ArtifactVersion) (created bool, err error)
	GetArtifactVersion(ctx context.Context, kind, name string, n int) (store.ArtifactVersion, error)
	FindArtifactVersion(ctx context.Context, kind, name, digest string) (store.ArtifactVersion, error)
	AddLink(ctx context.Context, l store.VersionLink) error
	AddMetrics(ctx context.Context, ms []store.Metric) error
	// DropArtifactVersion undoes a creation that could not be completed.
	DropArtifactVersion(ctx context.Context, kind, name string, n int) error
	// GetFeatureSet returns a declared featureset, whose features its
	// versions' data must match.
	GetFeatureSet(ctx context.Context, name string) (store.FeatureSet, error)
}

// Versioner keeps datasets, models, code and featuresets versioned: before a run it resolves
// the version URIs the run names (dataset://NAME@v2, model://NAME@latest) to
// the versions' content; after a run it turns the run's dataset and model
// outputs into versions and records which versions the run used and
// produced, and the run's metrics. Version content is immutable and
// content-addressed: kubeline/versions/KINDs/NAME/SHA256.
type Versioner struct {
	Objects artifact.Store
	Records VersionRecords
	// TempDir holds downloads while digests are computed ("" = os.TempDir).
	TempDir string
}

// Resolve rewrites every version URI in wf — its arguments and the argument
// values of its DAG tasks and steps — into the URI of that version's
// content, so importers read the version. An unknown version is an error
// naming it; nothing is rewritten then.
func (v *Versioner) Resolve(ctx context.Context, wf *wfv1.Workflow) error {
	var vals []*wfv1.Parameter
	for i := range wf.Spec.Arguments.Parameters {
		vals = append(vals, &wf.Spec.Arguments.Parameters[i])
	}
	for ti := range wf.Spec.Templates {
		t := &wf.Spec.Templates[ti]
		if t.DAG != nil {
			for i := range t.DAG.Tasks {
				for j := range t.DAG.Tasks[i].Arguments.Parameters {
					vals = append(vals, &t.DAG.Tasks[i].Arguments.Parameters[j])
				}
			}
		}
		for _, g := range t.Steps {
			for i := range g.Steps {
				for j := range g.Steps[i].Arguments.Parameters {
					vals = append(vals, &g.Steps[i].Arguments.Parameters[j])
				}
			}
		}
	}
	resolved := map[*wfv1.Parameter]string{}
	var keys []string
	var errs []error
	for _, p := range vals {
		if p.Value == nil {
			continue
		}
		kind, name, n, ok, err := artifact.ParseVersionURI(p.Value.String())
		if !ok {
			continue
		}
		if err == nil {
			var ver store.ArtifactVersion
			if ver, err = v.Records.GetArtifactVersion(ctx, kind, name, n); err == nil && !sees(ctx, ver.Group) {
				err = store.MissingVersion(kind, name, n) // another group's: to this run it does not exist
			}
			if err == nil {
				resolved[p] = v.Objects.URI(ver.Key)
				keys = append(keys, ver.Key)
				continue
			}
		}
		errs = append(errs, fmt.Errorf("parameter %s: %w", p.Name, err))
	}
	if len(errs) > 0 {
		return fmt.Errorf("resolve versions: %w", errors.Join(errs...))
	}
	for p, uri := range resolved {
		p.Value = wfv1.AnyStringPtr(uri)
	}
	if len(keys) > 0 { // what a confined engine lets the run read besides its own artifacts
		sort.Strings(keys)
		b, _ := json.Marshal(slices.Compact(keys))
		if wf.Annotations == nil {
			wf.Annotations = map[string]string{}
		}
		wf.Annotations[engine.AnnotationReadableKeys] = string(b)
	}
	return nil
}

// versionOfURI recognises the content URI of a version.
func (v *Versioner) versionOfURI(uri string) (kind, name, digest string, ok bool) {
	prefix := strings.TrimSuffix(v.Objects.URI("kubeline/versions/x"), "kubeline/versions/x")
	rest, found := strings.CutPrefix(uri, prefix)
	if !found || !strings.HasPrefix(rest, "kubeline/versions/") {
		return "", "", "", false
	}
	return artifact.VersionOfKey(rest)
}

// digestTree is the SHA-256 of a file's content, or of a tree's sorted
// "PATH\x00SHA256\n" lines; size is the total of its files.
func digestTree(path string) (digest string, size int64, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", 0, err
	}
	if !fi.IsDir() {
		return fileDigest(path)
	}
	var lines []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		sum, n, err := fileDigest(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(path, p)
		lines = append(lines, filepath.ToSlash(rel)+"\x00"+sum+"\n")
		size += n
		return nil
	})
	if err != nil {
		return "", 0, err
	}
	sort.Strings(lines)
	h := sha256.New()
	for _, l := range lines {
		io.WriteString(h, l)
	}
	return hex.EncodeToString(h.Sum(nil)), size, nil
}

func fileDigest(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// stepArtifact is what a kubeline step wrote in an artifact's metadata.json.
type stepArtifact struct {
	Type     string         `json:"type"`
	URI      string         `json:"uri"`
	Metadata map[string]any `json:"metadata"`
	// name is the output's name; from the dataset versions a featureset
	// was extracted from (neither is in the file).
	name string
	from []string
}

// readMeta reads KEY/metadata.json; ok is false when the artifact has none
// (it was not written by a kubeline step).
func (v *Versioner) readMeta(ctx context.Context, tmp, key string) (stepArtifact, bool, error) {
	var a stepArtifact
	p := filepath.Join(tmp, "metadata.json")
	if err := v.Objects.Download(ctx, key+"/metadata.json", p); err != nil {
		if errors.Is(err, artifact.ErrNotFound) {
			return a, false, nil
		}
		return a, false, fmt.Errorf("read metadata of %s: %w", key, err)
	}
	b, err := os.ReadFile(p)
	if err == nil {
		err = json.Unmarshal(b, &a)
	}
	if err != nil {
		return a, false, fmt.Errorf("read metadata of %s: %w", key, err)
	}
	return a, true, nil
}

func (v *Versioner) writeIndex(ctx context.Context, av store.ArtifactVersion) error {
	b, _ := json.Marshal(artifact.VersionIndex{Kind: av.Kind, Name: av.Name, Version: av.Version, Digest: av.Digest, Key: av.Key, URI: av.URI})
	if _, err := v.Objects.Put(ctx, artifact.VersionIndexKey(av.Kind, av.Name, av.Version), strings.NewReader(string(b)), int64(len(b))); err != nil {
		return fmt.Errorf("index %s %s@v%d: %w", av.Kind, av.Name, av.Version, err)
	}
	return nil
}

// Materialize downloads a version's content into dir/SHA256 (once; a
// second call finds it there) and returns the directory a predictor reads
// its model from: the content itself when it is a tree, else the directory
// holding it as the file "model".
func (v *Versioner) Materialize(ctx context.Context, av store.ArtifactVersion, dir string) (string, error) {
	root := filepath.Join(dir, av.Digest)
	if fi, err := os.Stat(filepath.Join(root, "model")); err == nil {
		if fi.IsDir() {
			return filepath.Join(root, "model"), nil
		}
		return root, nil
	}
	tmp := root + ".partial"
	os.RemoveAll(tmp)
	if err := v.Objects.Download(ctx, av.Key, filepath.Join(tmp, "model")); err != nil {
		return "", fmt.Errorf("fetch %s %s@v%d: %w", av.Kind, av.Name, av.Version, err)
	}
	if err := os.Rename(tmp, root); err != nil {
		return "", err
	}
	return v.Materialize(ctx, av, dir)
}
