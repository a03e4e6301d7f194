package versioning

import (
	"context"
	"errors"
	"fmt"

	"github.com/kubeline/kubeline/runtime/store"
)

// commit makes av a version all or nothing across the object store and
// the records: upload stores its content at av.Key, then av is recorded
// (numbered), then its index object is written. When a step after the
// upload fails, what was written is removed again — the record when the
// index failed, the content unless a record of the same content stands —
// so a failed creation leaves neither orphan content nor a version whose
// index is missing. created is false when av's content was already a
// version (av is then that version).
func (v *Versioner) commit(ctx context.Context, av *store.ArtifactVersion, upload func() error) (created bool, err error) {
	if err := upload(); err != nil {
		v.removeContent(ctx, *av)
		return false, fmt.Errorf("store %s %s: %w", av.Kind, av.Name, err)
	}
	created, err = v.Records.CreateArtifactVersion(ctx, av)
	if err == nil && created {
		if err = v.writeIndex(ctx, *av); err != nil {
			if derr := v.Records.DropArtifactVersion(ctx, av.Kind, av.Name, av.Version); derr != nil {
				err = errors.Join(err, derr)
			}
		}
	}
	if err != nil {
		v.removeContent(ctx, *av)
		return false, err
	}
	return created, nil
}

// removeContent deletes av's content (an object, or a tree under key/)
// unless a recorded version holds the same content. Only a record found
// keeps it: with the records unreadable too, the content goes.
func (v *Versioner) removeContent(ctx context.Context, av store.ArtifactVersion) {
	if _, err := v.Records.FindArtifactVersion(ctx, av.Kind, av.Name, av.Digest); err == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if objs, err := v.Objects.List(ctx, av.Key+"/"); err == nil {
		for _, o := range objs {
			_ = v.Objects.Delete(ctx, o.Key)
		}
	}
	_ = v.Objects.Delete(ctx, av.Key)
}
