package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func testArtifactVersions(t *testing.T, s *Store) {
	ctx := context.Background()
	mk := func(name, digest, run string) (ArtifactVersion, bool) {
		t.Helper()
		v := ArtifactVersion{Kind: "model", Name: name, Digest: digest, Key: "kubeline/versions/models/" + name + "/" + digest, URI: "file:///x/" + digest, RunID: run, Task: "train", Metadata: map[string]any{"framework": "sk"}}
		created, err := s.CreateArtifactVersion(ctx, &v)
		if err != nil {
			t.Fatal(err)
		}
		return v, created
	}
	if v, created := mk("m", "aaa", "r1"); !created || v.Version != 1 {
		t.Fatalf("first version: %d created %v", v.Version, created)
	}
	if v, created := mk("m", "bbb", "r2"); !created || v.Version != 2 {
		t.Fatalf("second version: %d created %v", v.Version, created)
	}
	// Identical content is the existing version, not a new one.
	if v, created := mk("m", "aaa", "r3"); created || v.Version != 1 || v.RunID != "r1" {
		t.Fatalf("identical content: %+v created %v", v, created)
	}
	if v, _ := mk("other", "aaa", "r4"); v.Version != 1 {
		t.Fatalf("another model numbers from 1: %d", v.Version)
	}
	latest, err := s.GetArtifactVersion(ctx, "model", "m", 0)
	if err != nil || latest.Version != 2 || latest.Metadata["framework"] != "sk" {
		t.Fatalf("latest: %+v %v", latest, err)
	}
	if _, err := s.GetArtifactVersion(ctx, "model", "m", 9); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing version: %v", err)
	}
	if _, err := s.CreateArtifactVersion(ctx, &ArtifactVersion{Kind: "image", Name: "x"}); err == nil {
		t.Fatal("an unknown kind was accepted")
	}
	// Concurrent creations of different content get distinct numbers.
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			v := ArtifactVersion{Kind: "dataset", Name: "d", Digest: fmt.Sprint("d", i), Key: "k", URI: "u"}
			if _, err := s.CreateArtifactVersion(ctx, &v); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	vs, err := s.ListArtifactVersions(ctx, "dataset", "d")
	if err != nil {
		t.Fatal(err)
	}
	var nums []int
	for _, v := range vs {
		nums = append(nums, v.Version)
	}
	if d := cmp.Diff([]int{1, 2, 3, 4, 5, 6}, nums); d != "" {
		t.Fatalf("concurrent versions: %s", d)
	}
	res, err := s.ListResources(ctx, "model", nil)
	if err != nil || len(res) != 2 || res[0].Name != "m" || res[0].Latest != 2 || res[1].Name != "other" {
		t.Fatalf("resources %+v %v", res, err)
	}
	for _, l := range []VersionLink{{Kind: "model", Name: "m", Version: 1, RunID: "r1", Key: "k1", Produced: true},
		{Kind: "dataset", Name: "d", Version: 1, RunID: "r1", Key: "k0"}, {Kind: "model", Name: "m", Version: 1, RunID: "r3", Key: "k3", Produced: true}} {
		if err := s.AddLink(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	links, err := s.Links(ctx, "model", "m", 1)
	if err != nil || len(links) != 2 || links[1].RunID != "r3" || !links[1].Produced {
		t.Fatalf("links of m@v1: %+v %v", links, err)
	}
	if all, _ := s.Links(ctx, "", "", 0); len(all) != 3 {
		t.Fatalf("all links: %d", len(all))
	}
	runLinks, err := s.RunLinks(ctx, "r1")
	if err != nil || len(runLinks) != 2 || runLinks[0].Key != "k1" || runLinks[1].Key != "k0" || runLinks[1].Produced {
		t.Fatalf("links of run r1: %+v %v", runLinks, err)
	}
	if err := s.AddMetrics(ctx, []Metric{{RunID: "r1", Task: "eval", Artifact: "metrics", Name: "acc", Value: 0.5},
		{RunID: "r1", Task: "eval", Artifact: "metrics", Name: "acc", Value: 0.75}, {RunID: "r1", Task: "eval", Artifact: "metrics", Name: "loss", Value: 0.1}}); err != nil {
		t.Fatal(err)
	}
	ms, err := s.RunMetrics(ctx, "r1")
	if err != nil || len(ms) != 2 || ms[0].Name != "acc" || ms[0].Value != 0.75 {
		t.Fatalf("metrics %+v %v", ms, err)
	}
}

func testCatalog(t *testing.T, s *Store) {
	ctx := context.Background()
	v := ArtifactVersion{Kind: "model", Name: "m", Digest: "d1", Key: "k", URI: "u"}
	if _, err := s.CreateArtifactVersion(ctx, &v); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PublishModel(ctx, "m", 2, "ml"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("publishing a missing version: %v", err)
	}
	if _, err := s.CatalogEntryOf(ctx, "m", 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("before publishing: %v", err)
	}
	if e, err := s.PublishModel(ctx, "m", 1, "ml"); err != nil || e.PublishedBy != "ml" {
		t.Fatalf("publish: %+v %v", e, err)
	}
	if _, err := s.PublishModel(ctx, "m", 1, "ml"); !errors.Is(err, ErrConflict) {
		t.Fatalf("publishing twice: %v", err)
	}
	es, err := s.Catalog(ctx, nil)
	if err != nil || len(es) != 1 || es[0].Name != "m" || es[0].Version != 1 {
		t.Fatalf("catalog %+v %v", es, err)
	}
	if _, err := s.CatalogEntryOf(ctx, "m", 1); err != nil {
		t.Fatal(err)
	}
}

func testClusters(t *testing.T, s *Store) {
	ctx := context.Background()
	for _, c := range []Cluster{{Name: "b", Context: "ctx-b", Namespace: "team-b"}, {Name: "a", Kubeconfig: "/k", Namespace: "team-a"}} {
		if err := s.AddCluster(ctx, &c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddCluster(ctx, &Cluster{Name: "a"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("a taken name: %v", err)
	}
	cs, err := s.ListClusters(ctx)
	if err != nil || len(cs) != 2 || cs[0].Name != "a" || cs[1].Context != "ctx-b" {
		t.Fatalf("clusters %+v %v", cs, err)
	}
	if c, err := s.GetCluster(ctx, "a"); err != nil || c.Kubeconfig != "/k" || c.Namespace != "team-a" {
		t.Fatalf("a: %+v %v", c, err)
	}
	if err := s.RemoveCluster(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetCluster(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("removed: %v", err)
	}
	if err := s.RemoveCluster(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("removed twice: %v", err)
	}
}
