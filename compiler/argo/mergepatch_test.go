package argo

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMergeMainContainer: the deletions of optional entries join the main
// container of the template's own patch (resources), so that the patch has
// one containers member; a patch without containers gets them as members
// of their own.
func TestMergeMainContainer(t *testing.T) {
	env := `"env":[{"name":"A"}]`
	for _, c := range []struct {
		name, patch, want string
		rest              []string
	}{
		{"none", "", "", []string{env}},
		{"no containers", `{"nodeSelector":{"a":"b"}}`, `{"nodeSelector":{"a":"b"}}`, []string{env}},
		{"resources", `{"containers":[{"name":"main","resources":{"limits":{"cpu":"1"}}}]}`,
			`{"containers":[{"name":"main","resources":{"limits":{"cpu":"1"}},"env":[{"name":"A"}]}]}`, nil},
		{"other container", `{"containers":[{"name":"side","image":"x"}]}`,
			`{"containers":[{"image":"x","name":"side"},{"name":"main","env":[{"name":"A"}]}]}`, nil},
	} {
		got, rest, err := mergeMainContainer(c.patch, []string{env}, "")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != c.want || !cmp.Equal(rest, c.rest) {
			t.Errorf("%s: got %s %q, want %s %q", c.name, got, rest, c.want, c.rest)
		}
		if got != "" && !json.Valid([]byte(got)) {
			t.Errorf("%s: %s is not JSON", c.name, got)
		}
	}
	got, _, err := mergeMainContainer(`{"containers":[{"name":"main"}]}`, []string{env}, `{"name":"wait"}`)
	if want := `{"containers":[{"name":"wait"},{"name":"main","env":[{"name":"A"}]}]}`; err != nil || got != want {
		t.Errorf("with the wait container: got %s (%v), want %s", got, err, want)
	}
	if _, _, err := mergeMainContainer(`{"containers":`, []string{env}, ""); err == nil {
		t.Error("a patch that is not JSON: no error")
	}
}
