package apiserver

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/kubeline/kubeline/compiler/argo"
	"github.com/kubeline/kubeline/runtime/store"
)

// The container image catalog (seed "Container Images"): standard images an
// operator offers every group, and each group's own entries, which hide a
// standard one of the same name for that group. Specs name them as
// image://NAME; compiling a run, recurring run, pipeline or IDE resolves
// them in the group's catalog (imagesFor), so the workflow names a plain
// image. Members of a group see and add its entries; only an entry's owner
// or an operator removes it; operators manage the standard ones.

type imageBody struct {
	Name      string   `json:"name"`
	Image     string   `json:"image"`
	Framework string   `json:"framework"`
	Version   string   `json:"version"`
	GPU       bool     `json:"gpu"`
	Command   []string `json:"command"`
	// Group is the group the entry goes to (the caller's first when
	// empty); Standard makes an operator-wide standard image instead.
	Group    string `json:"group"`
	Standard bool   `json:"standard"`
	// Replace replaces the group's entry of that name.
	Replace bool `json:"replace"`
}

func (s *Server) imageRoutes(h func(string, func(*http.Request) (any, error))) {
	h("GET "+kv1+"/images", s.listImages)
	h("POST "+kv1+"/images", s.addImage)
	h("GET "+kv1+"/images/standard/{name}", func(r *http.Request) (any, error) { return s.getImage(r, "") })
	h("DELETE "+kv1+"/images/standard/{name}", func(r *http.Request) (any, error) { return s.removeImage(r, "") })
	h("GET "+kv1+"/images/{group}/{name}", func(r *http.Request) (any, error) { return s.getImage(r, r.PathValue("group")) })
	h("DELETE "+kv1+"/images/{group}/{name}", func(r *http.Request) (any, error) { return s.removeImage(r, r.PathValue("group")) })
}

func imageJSON(i store.Image) map[string]any {
	m := map[string]any{"name": i.Name, "image": i.Image, "framework": i.Framework, "version": i.Version, "gpu": i.GPU,
		"command": nonNil(i.Command), "standard": i.Standard(), "created_at": timestamp(i.CreatedAt)}
	if !i.Standard() {
		m["group"], m["owner"] = i.Group, i.Owner
	}
	if i.Source != "" {
		m["source"], m["build"] = i.Source, i.Build
	}
	return m
}

// listImages lists the standard images and the entries of the caller's
// groups (?group= narrows to one group's catalog as its specs see it).
func (s *Server) listImages(r *http.Request) (any, error) {
	var (
		all []store.Image
		err error
	)
	if g := r.URL.Query().Get("group"); g != "" { // authorize checked the caller is in it
		var cat map[string]store.Image
		if cat, err = s.store.ImageCatalog(r.Context(), g); err == nil {
			for _, i := range cat {
				all = append(all, i)
			}
			sortImages(all)
		}
	} else {
		all, err = s.store.ListImages(r.Context(), s.groupsOf(r.Context()))
	}
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, i := range all {
		out = append(out, imageJSON(i))
	}
	return map[string]any{"images": out, "total_size": len(out)}, nil
}

func sortImages(is []store.Image) {
	slices.SortFunc(is, func(a, b store.Image) int {
		return cmp.Or(strings.Compare(a.Group, b.Group), strings.Compare(a.Name, b.Name))
	})
}

func (s *Server) addImage(r *http.Request) (any, error) {
	var b imageBody
	if err := decode(r, &b); err != nil {
		return nil, err
	}
	if err := validName("image.name", b.Name); err != nil {
		return nil, err
	}
	if b.Image == "" {
		return nil, badRequest("image.image is required: the image reference (REGISTRY/REPOSITORY:TAG)")
	}
	if _, isCatalog := argo.CatalogName(b.Image); isCatalog {
		return nil, badRequest("image.image: %q names the catalog: give an image reference", b.Image)
	}
	if err := checkNames("image.image", b.Image, "image.framework", b.Framework, "image.version", b.Version); err != nil {
		return nil, err
	}
	i := store.Image{Name: b.Name, Image: b.Image, Framework: b.Framework, Version: b.Version, GPU: b.GPU, Command: b.Command}
	c := callerOf(r.Context())
	if c != nil {
		i.Owner = c.Name
	}
	switch {
	case b.Standard && b.Group != "":
		return nil, badRequest("image: give group or standard, not both")
	case b.Standard && s.multiUser && (c == nil || !c.operator()):
		return nil, forbidden("only an operator adds standard images")
	case !b.Standard:
		g, err := s.groupFor(r.Context(), "image.group", b.Group)
		if err != nil {
			return nil, err
		}
		i.Group = groupOf(g)
		if b.Replace {
			if err := s.mayReplaceImage(r.Context(), i); err != nil {
				return nil, err
			}
		}
	}
	if err := s.store.PutImage(r.Context(), &i, b.Replace); err != nil {
		return nil, err
	}
	return imageJSON(i), nil
}

// mayReplaceImage: a group's entry is replaced only by its owner or an
// operator.
func (s *Server) mayReplaceImage(ctx context.Context, i store.Image) error {
	c := callerOf(ctx)
	if !s.multiUser || c == nil {
		return nil
	}
	res, err := s.resourceOf(ctx, store.KindImage, i.ID())
	if isMissing(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !c.manages(res) {
		return forbidden("only the owner of image %s or an operator may replace it (owner: %s)", i.ID(), res.owner)
	}
	return nil
}

func (s *Server) getImage(r *http.Request, group string) (any, error) {
	i, err := s.store.GetImage(r.Context(), group, r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	return imageJSON(i), nil
}

func (s *Server) removeImage(r *http.Request, group string) (any, error) {
	if err := s.store.DeleteImage(r.Context(), group, r.PathValue("name")); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

// imagesFor is the image catalog a group's specs compile with.
func (s *Server) imagesFor(ctx context.Context, group string) (map[string]store.Image, map[string]string, error) {
	cat, err := s.store.ImageCatalog(ctx, groupOf(group))
	if err != nil {
		return nil, nil, err
	}
	return cat, store.ImageRefs(cat), nil
}
