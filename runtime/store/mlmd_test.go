package store

import (
	"context"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testMLMDIDs: ids are given once per (scope, key), stay the same, are
// unique across scopes, survive concurrent callers, and map back to keys.
func testMLMDIDs(t *testing.T, s *Store) {
	ctx := context.Background()
	a, err := s.MLMDIDs(ctx, "run-a", []string{"ctx", "exec/1", "exec/2"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.MLMDIDs(ctx, "run-a", []string{"exec/2", "ctx", "exec/1", "exec/3"})
	if err != nil {
		t.Fatal(err)
	}
	for k, id := range a {
		if again[k] != id {
			t.Errorf("%s: id %d, then %d", k, id, again[k])
		}
	}
	var wg sync.WaitGroup
	results := make([]map[string]int64, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], _ = s.MLMDIDs(ctx, "run-b", []string{"ctx", "exec/1", "art/x"})
		}()
	}
	wg.Wait()
	for i, r := range results {
		if diff := cmp.Diff(results[0], r); diff != "" || len(r) != 3 {
			t.Errorf("concurrent caller %d got other ids (-first +got):\n%s", i, diff)
		}
	}
	seen := map[int64]MLMDKey{}
	for scope, m := range map[string]map[string]int64{"run-a": again, "run-b": results[0]} {
		for k, id := range m {
			if prev, dup := seen[id]; dup || id <= 0 {
				t.Errorf("id %d of %s/%s: not positive or also %v", id, scope, k, prev)
			}
			seen[id] = MLMDKey{scope, k}
		}
	}
	ids := make([]int64, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	keys, err := s.MLMDKeys(ctx, append(ids, 999999))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(seen, keys); diff != "" {
		t.Errorf("keys of ids (-want +got):\n%s", diff)
	}
	in, err := s.MLMDIDsIn(ctx, []string{"run-a", "run-b", "run-c"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]map[string]int64{"run-a": again, "run-b": results[0]}, in); diff != "" {
		t.Errorf("ids of runs (-want +got):\n%s", diff)
	}
}
