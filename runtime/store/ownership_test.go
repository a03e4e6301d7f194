package store

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func testOwnership(t *testing.T, s *Store) {
	ctx := context.Background()
	for _, g := range []string{"a", "b"} {
		if err := s.CreateGroup(ctx, &Group{Name: g, Pool: "default"}); err != nil {
			t.Fatal(err)
		}
	}
	// A dataset is claimed by the group of its first version; the other
	// group can neither add a version nor reuse the content's version.
	v := ArtifactVersion{Kind: KindDataset, Name: "d", Digest: "x1", Key: "k", URI: "u", Group: "a", Owner: "ann"}
	if _, err := s.CreateArtifactVersion(ctx, &v); err != nil || v.Group != "a" || v.Owner != "ann" {
		t.Fatalf("first version: %+v %v", v, err)
	}
	for _, digest := range []string{"x1", "x2"} {
		other := ArtifactVersion{Kind: KindDataset, Name: "d", Digest: digest, Key: "k", URI: "u", Group: "b", Owner: "bob"}
		if _, err := s.CreateArtifactVersion(ctx, &other); !errors.Is(err, ErrTaken) || !errors.Is(err, ErrConflict) {
			t.Fatalf("group b adding %s to a's dataset: %v, want ErrTaken", digest, err)
		}
	}
	same := ArtifactVersion{Kind: KindDataset, Name: "d", Digest: "x3", Key: "k", URI: "u", Group: "a", Owner: "amy"}
	if _, err := s.CreateArtifactVersion(ctx, &same); err != nil || same.Version != 2 || same.Owner != "amy" {
		t.Fatalf("a second member's version: %+v %v", same, err)
	}
	latest, err := s.GetArtifactVersion(ctx, KindDataset, "d", 0)
	if err != nil || latest.Version != 2 || latest.Group != "a" || latest.Owner != "amy" {
		t.Fatalf("latest %+v %v", latest, err)
	}
	if h, err := s.Holding(ctx, KindDataset, "d"); err != nil || h.Owner != "ann" || h.Group != "a" {
		t.Fatalf("holding of d: %+v %v (the first owner stays)", h, err)
	}
	free := ArtifactVersion{Kind: KindModel, Name: "m", Digest: "y", Key: "k", URI: "u"}
	if _, err := s.CreateArtifactVersion(ctx, &free); err != nil || free.Group != DefaultGroup {
		t.Fatalf("a version without a group is the default group's: %+v %v", free, err)
	}
	for _, bad := range []string{"a@v1", "a/b", "", ".x", "a\x00b", "a\nb"} {
		v := ArtifactVersion{Kind: KindModel, Name: bad, Digest: "z", Key: "k", URI: "u"}
		if _, err := s.CreateArtifactVersion(ctx, &v); !errors.Is(err, ErrInvalid) {
			t.Errorf("model name %q: %v, want ErrInvalid", bad, err)
		}
	}
	// Lists filter by group.
	list := func(kind string, groups []string) []string {
		rs, err := s.ListResources(ctx, kind, groups)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, r := range rs {
			out = append(out, r.Group+"/"+r.Name)
		}
		return out
	}
	if d := cmp.Diff([]string{"a/d"}, list(KindDataset, []string{"a"})); d != "" {
		t.Errorf("datasets of a (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{}, list(KindDataset, []string{"b"})); d != "" {
		t.Errorf("datasets of b (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"default/m"}, list(KindModel, []string{DefaultGroup})); d != "" {
		t.Errorf("models of the default group (-want +got):\n%s", d)
	}
	if _, err := s.PublishModel(ctx, "m", 1, "ml"); err != nil {
		t.Fatal(err)
	}
	for groups, want := range map[string]int{"a": 0, "default": 1} {
		es, err := s.Catalog(ctx, []string{groups})
		if err != nil || len(es) != want {
			t.Errorf("catalog of %s: %+v %v, want %d entries", groups, es, err, want)
		}
	}
	// Own: first wins, the same group gets the holding back, disown
	// frees the name.
	if h, err := s.Own(ctx, Ownership{Kind: KindDeployment, ID: "x", Group: "b", Owner: "bob"}); err != nil || h.Owner != "bob" {
		t.Fatalf("own: %+v %v", h, err)
	}
	if h, err := s.Own(ctx, Ownership{Kind: KindDeployment, ID: "x", Group: "b", Owner: "bea"}); err != nil || h.Owner != "bob" {
		t.Fatalf("own by the same group: %+v %v", h, err)
	}
	if _, err := s.Own(ctx, Ownership{Kind: KindDeployment, ID: "x", Group: "a", Owner: "ann"}); !errors.Is(err, ErrTaken) {
		t.Fatalf("own by another group: %v", err)
	}
	held, err := s.Held(ctx, KindDeployment, []string{"a"})
	if err != nil || len(held) != 0 {
		t.Fatalf("deployments of a: %v %v", held, err)
	}
	if err := s.AddCluster(ctx, &Cluster{Name: "c", Group: "b", Owner: "bob"}); err != nil {
		t.Fatal(err)
	}
	if c, err := s.GetCluster(ctx, "c"); err != nil || c.Group != "b" || c.Owner != "bob" {
		t.Fatalf("cluster: %+v %v", c, err)
	}
	got, err := s.GroupHoldings(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]int{"deployments": 1, "clusters": 1}, got); d != "" {
		t.Errorf("holdings of b (-want +got):\n%s", d)
	}
	if err := s.Disown(ctx, KindDeployment, "x"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveCluster(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GroupHoldings(ctx, "b"); len(got) != 0 {
		t.Errorf("holdings of b after release: %v", got)
	}
	if _, err := s.Own(ctx, Ownership{Kind: KindDeployment, ID: "x", Group: "a", Owner: "ann"}); err != nil {
		t.Fatalf("own a disowned name: %v", err)
	}
	if got, _ := s.GroupHoldings(ctx, "a"); got["datasets"] != 1 || got["deployments"] != 1 {
		t.Errorf("holdings of a: %v", got)
	}
}
