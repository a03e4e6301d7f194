package argo

import (
	"fmt"
	"strings"
)

// ImageScheme prefixes an image named by the image catalog: image://NAME in
// a container's image field is replaced by the catalog's reference at
// compile time, so the workflow names a plain image.
const ImageScheme = "image://"

// CatalogName returns NAME of an image://NAME reference, and whether ref is
// one.
func CatalogName(ref string) (string, bool) {
	return strings.CutPrefix(ref, ImageScheme)
}

// ResolveImage is the image a container runs: ref itself, or for
// image://NAME the catalog's reference of NAME. An unknown name is an error
// that lists the names there are.
func ResolveImage(ref string, images map[string]string) (string, error) {
	name, ok := CatalogName(ref)
	if !ok {
		return ref, nil
	}
	if got, ok := images[name]; ok && name != "" {
		return got, nil
	}
	if len(images) == 0 {
		return "", fmt.Errorf("%s names the image catalog, and this compilation has none (compile with a kubeline server or store that has the image)", ref)
	}
	return "", fmt.Errorf("%s is not in the image catalog (it has %s): add it with kubeline images add %s IMAGE", ref,
		strings.Join(sortedKeys(images), ", "), name)
}

// catalogImage resolves a step's image for the task at path; its executor's
// image field is at expath.
func (c *compiler) catalogImage(ref, path, expath string) string {
	if c.opts.DeferImages {
		return ref
	}
	got, err := ResolveImage(ref, c.opts.Images)
	if err != nil {
		c.errs.Add(path, nil, "%s.container.image: %v", expath, err)
		return ref
	}
	return got
}
