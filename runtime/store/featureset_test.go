package store

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testFeatureSets: a featureset is declared once, held by its group, listed
// by group, versioned like datasets (kind featureset, and code too), and
// deleted only while it has no versions.
func testFeatureSets(t *testing.T, s *Store) {
	ctx := context.Background()
	f := &FeatureSet{Name: "fs", Spec: `{"features":[{"name":"age","type":"int"}]}`, Group: "vision", Owner: "ann"}
	require.NoError(t, s.CreateFeatureSet(ctx, f))
	assert.True(t, errors.Is(s.CreateFeatureSet(ctx, &FeatureSet{Name: "fs", Spec: "{}", Group: "vision"}), ErrConflict), "declared twice")
	require.ErrorIs(t, s.CreateFeatureSet(ctx, &FeatureSet{Name: "a@v1", Spec: "{}"}), ErrInvalid)
	require.NoError(t, s.CreateFeatureSet(ctx, &FeatureSet{Name: "other", Spec: "{}", Group: "audio", Owner: "bob"}))

	got, err := s.GetFeatureSet(ctx, "fs")
	require.NoError(t, err)
	assert.Equal(t, []string{f.Spec, "vision", "ann"}, []string{got.Spec, got.Group, got.Owner})
	_, err = s.GetFeatureSet(ctx, "nope")
	assert.ErrorIs(t, err, ErrNotFound)

	names := func(groups []string) []string {
		fs, err := s.ListFeatureSets(ctx, groups)
		require.NoError(t, err)
		var out []string
		for _, f := range fs {
			out = append(out, f.Name)
		}
		return out
	}
	assert.Equal(t, []string{"fs", "other"}, names(nil))
	assert.Equal(t, []string{"fs"}, names([]string{"vision"}))
	assert.Empty(t, names([]string{}))

	// Versions of featuresets and code number like datasets'; another
	// group cannot version a held featureset.
	for _, kind := range []string{KindFeatureSet, KindCode} {
		v := ArtifactVersion{Kind: kind, Name: "fs", Digest: "d1", Key: "k", URI: "u", Group: "vision"}
		created, err := s.CreateArtifactVersion(ctx, &v)
		require.NoError(t, err, kind)
		assert.True(t, created && v.Version == 1, "%s: %+v", kind, v)
	}
	taken := ArtifactVersion{Kind: KindFeatureSet, Name: "fs", Digest: "d2", Key: "k", URI: "u", Group: "audio"}
	_, err = s.CreateArtifactVersion(ctx, &taken)
	assert.ErrorIs(t, err, ErrTaken)

	assert.ErrorIs(t, s.DeleteFeatureSet(ctx, "fs"), ErrConflict, "a featureset with versions was deleted")
	require.NoError(t, s.DeleteFeatureSet(ctx, "other"))
	assert.ErrorIs(t, s.DeleteFeatureSet(ctx, "other"), ErrNotFound)
	_, err = s.Holding(ctx, KindFeatureSet, "other")
	assert.ErrorIs(t, err, ErrNotFound, "the name stayed held")
}
