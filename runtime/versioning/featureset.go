package versioning

import (
	"context"
	"errors"
	"fmt"

	"github.com/kubeline/kubeline/runtime/featureset"
	"github.com/kubeline/kubeline/runtime/store"
)

// ErrUndeclared is a featureset version of a featureset nobody declared
// (kind: FeatureSet) in the version's group.
var ErrUndeclared = fmt.Errorf("no such featureset is declared: %w", store.ErrNotFound)

// checkFeatures checks the data at path (what names it in errors) against
// featureset name's declared features, and records them in md; from are
// the dataset versions it was extracted from (recorded too).
func (v *Versioner) checkFeatures(ctx context.Context, name, what, path string, md map[string]any, from []string) error {
	fs, err := v.Records.GetFeatureSet(ctx, name)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !sees(ctx, fs.Group)) {
		return fmt.Errorf("featureset %s: %w (declare it first: kubeline featuresets create -f FILE)", name, ErrUndeclared)
	}
	if err != nil {
		return err
	}
	spec, err := featureset.FromJSON(fs.Spec)
	if err != nil {
		return fmt.Errorf("featureset %s: %w", name, err)
	}
	if err := featureset.Check(path, spec.Features); err != nil {
		return fmt.Errorf("featureset %s: output %s: %w", name, what, err)
	}
	names := make([]string, len(spec.Features))
	for i, f := range spec.Features {
		names[i] = f.Name + ":" + f.Type
	}
	md["kubeline.io/features"] = names
	if len(from) > 0 {
		md["kubeline.io/extracted-from"] = from
	} else if len(spec.Datasets) > 0 {
		md["kubeline.io/extracted-from"] = spec.Datasets
	}
	return nil
}
