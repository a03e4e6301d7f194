package artifact

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Version content and index objects: the part of dataset and model
// versioning (runtime/versioning) that lives in the artifact store alone,
// so a step in a pod resolves model://NAME@vN without the metadata store.

var versionURI = regexp.MustCompile(`^(dataset|model|code|featureset)://([A-Za-z0-9][A-Za-z0-9._-]*)(?:@(v[0-9]+|[0-9]+|latest))?$`)

// VersionedKinds are the kinds of resource kubeline versions, each with its
// URI scheme (KIND://NAME@vN): datasets and models, code (a repository's
// commit or a directory's content) and featuresets (data checked against
// declared features).
var VersionedKinds = []string{"dataset", "model", "code", "featureset"}

// Versioned reports whether kind is one of VersionedKinds.
func Versioned(kind string) bool {
	for _, k := range VersionedKinds {
		if k == kind {
			return true
		}
	}
	return false
}

// ParseVersionURI reads dataset://NAME@vN, model://NAME@latest,
// code://NAME@v2, featureset://NAME@v1 (or @N, or no suffix for the
// latest). n is 0 for the latest. ok is false for a URI of another scheme;
// a URI of a versioned kind's scheme that does not parse is an error.
func ParseVersionURI(s string) (kind, name string, n int, ok bool, err error) {
	scheme, _, found := strings.Cut(s, "://")
	if !found || !Versioned(scheme) {
		return "", "", 0, false, nil
	}
	m := versionURI.FindStringSubmatch(s)
	if m == nil {
		return "", "", 0, true, fmt.Errorf("version URI %q: want %s://NAME@vN or %s://NAME@latest", s, scheme, scheme)
	}
	if m[3] != "" && m[3] != "latest" {
		n, _ = strconv.Atoi(strings.TrimPrefix(m[3], "v"))
		if n < 1 {
			return "", "", 0, true, fmt.Errorf("version URI %q: versions start at v1", s)
		}
	}
	return m[1], m[2], n, true, nil
}

// VersionKey is where a version's content lives.
func VersionKey(kind, name, digest string) string {
	return "kubeline/versions/" + kind + "s/" + name + "/" + digest
}

// VersionOfKey recognises the key of a version's content (VersionKey) at
// the end of a key or URI: …kubeline/versions/KINDs/NAME/SHA256.
func VersionOfKey(key string) (kind, name, digest string, ok bool) {
	i := strings.LastIndex(key, "kubeline/versions/")
	if i < 0 || (i > 0 && key[i-1] != '/') {
		return "", "", "", false
	}
	parts := strings.Split(key[i+len("kubeline/versions/"):], "/")
	if len(parts) != 3 || parts[1] == "" || len(parts[2]) != 64 || strings.HasSuffix(parts[2], ".json") {
		return "", "", "", false
	}
	kind = strings.TrimSuffix(parts[0], "s")
	if !Versioned(kind) || parts[0] != kind+"s" {
		return "", "", "", false
	}
	return kind, parts[1], parts[2], true
}

// VersionIndex is the object kubeline/versions/KINDs/NAME/vN.json, written
// when a version is created, so steps that cannot reach the metadata store
// (a pod resolving model://NAME@v2) find the version's content in the
// artifact store alone.
type VersionIndex struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Version int    `json:"version"`
	Digest  string `json:"sha256"`
	Key     string `json:"key"`
	URI     string `json:"uri"`
}

// VersionIndexKey is where version n's index object lives.
func VersionIndexKey(kind, name string, n int) string {
	return fmt.Sprintf("kubeline/versions/%ss/%s/v%d.json", kind, name, n)
}

// ReadVersionIndex finds version n (0: the latest) of a resource through
// its index objects in the artifact store.
func ReadVersionIndex(ctx context.Context, objects Store, kind, name string, n int) (VersionIndex, error) {
	var idx VersionIndex
	key := VersionIndexKey(kind, name, n)
	if n == 0 {
		objs, err := objects.List(ctx, fmt.Sprintf("kubeline/versions/%ss/%s/v", kind, name))
		if err != nil {
			return idx, err
		}
		best := 0
		for _, o := range objs {
			var k int
			if _, err := fmt.Sscanf(o.Key[strings.LastIndex(o.Key, "/")+1:], "v%d.json", &k); err == nil && k > best {
				best, key = k, o.Key
			}
		}
		if best == 0 {
			return idx, fmt.Errorf("%s %s has no version: %w", kind, name, ErrNotFound)
		}
	}
	rc, _, err := objects.Get(ctx, key)
	if err != nil {
		return idx, err
	}
	defer rc.Close()
	if err := json.NewDecoder(rc).Decode(&idx); err != nil {
		return idx, fmt.Errorf("read %s: %w", key, err)
	}
	return idx, nil
}
