package apiserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/kubeline/kubeline/runtime/coderepo"
	"github.com/kubeline/kubeline/runtime/featureset"
	"github.com/kubeline/kubeline/runtime/store"
	"github.com/kubeline/kubeline/runtime/versioning"
)

// CodeVersions makes code versions from git repositories
// (runtime/versioning.Versioner).
type CodeVersions interface {
	CreateCode(ctx context.Context, name string, src coderepo.Source) (versioning.ProducedVersion, error)
}

// resourcePaths are the path segments of the versioned kinds' routes.
var resourcePaths = map[string]string{store.KindDataset: "datasets", store.KindModel: "models", store.KindCode: "code", store.KindFeatureSet: "featuresets"}

// codeFeatureRoutes adds the routes of code versions made from git and of
// declared featuresets (their versions are served by versionRoutes).
func (s *Server) codeFeatureRoutes(h func(string, func(*http.Request) (any, error))) {
	h("POST "+kv1+"/code/{name}/versions", s.createCodeVersion)
	h("POST "+kv1+"/featuresets", s.createFeatureSet)
	h("GET "+kv1+"/featuresets/{name}", s.getFeatureSet)
	h("DELETE "+kv1+"/featuresets/{name}", s.deleteFeatureSet)
}

type codeVersionBody struct {
	// GitURL is the repository to clone; Ref its branch, tag or commit.
	GitURL string `json:"git_url"`
	Ref    string `json:"ref"`
}

// createCodeVersion makes the next version of code {name} from a commit of
// a git repository the server clones. A multi-user server clones only
// http(s):// and git:// URLs: it never reads a host path on a user's
// behalf, nor uses its own ssh keys for one.
func (s *Server) createCodeVersion(r *http.Request) (any, error) {
	cv, ok := s.versions.(CodeVersions)
	if !ok {
		return nil, badRequest("this server keeps no versions")
	}
	var b codeVersionBody
	if err := decode(r, &b); err != nil {
		return nil, err
	}
	name := r.PathValue("name")
	if err := store.CheckResourceName(store.KindCode, name); err != nil {
		return nil, badRequest("%v", errors.Unwrap(err))
	}
	src := coderepo.Source{Location: b.GitURL, Ref: b.Ref}
	switch {
	case b.GitURL == "":
		return nil, badRequest("git_url is required: the repository to clone (upload a directory with versions:upload?archive=tar)")
	case s.multiUser && !cloneable(b.GitURL):
		return nil, badRequest("git_url %q: a multi-user server clones only http://, https:// and git:// repositories (never a path on its host, nor with its own ssh keys)", b.GitURL)
	}
	ctx, err := s.uploadScope(r, store.KindCode)
	if err != nil {
		return nil, err
	}
	pv, err := cv.CreateCode(ctx, name, src)
	if errors.Is(err, versioning.ErrCodeSource) {
		return nil, badRequest("code %s: %v", name, err)
	}
	if err != nil {
		return nil, err
	}
	res := artifactVersionJSON(pv.ArtifactVersion)
	res["created"] = pv.Created
	return res, nil
}

func cloneable(url string) bool {
	for _, p := range []string{"https://", "http://", "git://"} {
		if strings.HasPrefix(url, p) {
			return true
		}
	}
	return false
}

// createFeatureSet declares a featureset: the body is its kind: FeatureSet
// document (YAML or JSON), in spec.group (which the caller must be in) or
// the caller's first group.
func (s *Server) createFeatureSet(r *http.Request) (any, error) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, bodyError(r, err)
	}
	spec, err := featureset.Decode(data)
	if err != nil {
		return nil, badRequest("%v", err)
	}
	group, err := s.groupFor(r.Context(), "spec.group", spec.Group)
	if err != nil {
		return nil, err
	}
	owner := ""
	if c := callerOf(r.Context()); c != nil {
		owner = c.Name
	}
	spec.Group = ""
	f := &store.FeatureSet{Name: spec.Name, Spec: spec.JSON(), Group: group, Owner: owner}
	if err := s.store.CreateFeatureSet(r.Context(), f); err != nil {
		if errors.Is(err, store.ErrTaken) {
			return nil, fmt.Errorf("featureset %s: %w", spec.Name, store.ErrConflict) // the same answer as a declared one
		}
		return nil, err
	}
	return featureSetJSON(*f, spec, 0), nil
}

func featureSetJSON(f store.FeatureSet, spec featureset.Spec, latest int) map[string]any {
	features := []map[string]any{}
	for _, ft := range spec.Features {
		features = append(features, map[string]any{"name": ft.Name, "type": ft.Type, "description": ft.Description})
	}
	return map[string]any{"name": f.Name, "group": f.Group, "owner": f.Owner, "description": spec.Description, "features": features,
		"datasets": spec.Datasets, "latest_version": latest, "created_at": f.CreatedAt}
}

func (s *Server) getFeatureSet(r *http.Request) (any, error) {
	f, err := s.store.GetFeatureSet(r.Context(), r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	spec, err := featureset.FromJSON(f.Spec)
	if err != nil {
		return nil, err
	}
	latest := 0
	if v, err := s.store.GetArtifactVersion(r.Context(), store.KindFeatureSet, f.Name, 0); err == nil {
		latest = v.Version
	}
	return featureSetJSON(f, spec, latest), nil
}

// listFeatureSets lists the featuresets of the caller's groups.
func (s *Server) listFeatureSets(r *http.Request) (any, error) {
	fs, err := s.store.ListFeatureSets(r.Context(), s.groupsOf(r.Context()))
	if err != nil {
		return nil, err
	}
	rs, err := s.store.ListResources(r.Context(), store.KindFeatureSet, s.groupsOf(r.Context()))
	if err != nil {
		return nil, err
	}
	latest := map[string]int{}
	for _, r := range rs {
		latest[r.Name] = r.Latest
	}
	out := []map[string]any{}
	for _, f := range fs {
		spec, err := featureset.FromJSON(f.Spec)
		if err != nil {
			return nil, err
		}
		out = append(out, featureSetJSON(f, spec, latest[f.Name]))
	}
	return map[string]any{"featuresets": out, "total_size": len(out)}, nil
}

func (s *Server) deleteFeatureSet(r *http.Request) (any, error) {
	if err := s.store.DeleteFeatureSet(r.Context(), r.PathValue("name")); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}
