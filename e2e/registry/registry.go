package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// List is the image list file: named images and the default one.
type List struct {
	Images []Image `json:"images"`
	// Default is served for every name no image claims.
	Default *Image `json:"default,omitempty"`
}

// Image is one image: its names (repository:tag, without the registry
// host: "kubeline/kubeline:e2e"; "library/" is added to one-word Docker Hub
// names), its layers (uncompressed tar files, base first) and its config.
type Image struct {
	Names  []string `json:"names"`
	Layers []string `json:"layers"`
	Config Config   `json:"config"`
}

// Config is the part of an OCI image config a pod's container uses.
type Config struct {
	User       string   `json:"User,omitempty"`
	Env        []string `json:"Env,omitempty"`
	Entrypoint []string `json:"Entrypoint,omitempty"`
	Cmd        []string `json:"Cmd,omitempty"`
	WorkingDir string   `json:"WorkingDir,omitempty"`
}

const (
	mediaManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaConfig   = "application/vnd.oci.image.config.v1+json"
	mediaLayer    = "application/vnd.oci.image.layer.v1.tar"
)

// blob is content the registry serves by digest: bytes in memory or a file.
type blob struct {
	data []byte
	path string
	size int64
}

// Registry serves the images of a List.
type Registry struct {
	images   map[string]string // repository:tag -> manifest digest
	fallback string            // manifest digest of the default image
	blobs    map[string]blob   // digest -> content (manifests too)
}

// New reads every layer once (for its digest) and renders the manifests.
func New(l List) (*Registry, error) {
	r := &Registry{images: map[string]string{}, blobs: map[string]blob{}}
	for _, img := range l.Images {
		d, err := r.add(img)
		if err != nil {
			return nil, err
		}
		for _, n := range img.Names {
			r.images[normalise(n)] = d
		}
	}
	if l.Default != nil {
		d, err := r.add(*l.Default)
		if err != nil {
			return nil, err
		}
		r.fallback = d
	}
	return r, nil
}

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

// add registers img's layers, config and manifest; it returns the
// manifest's digest.
func (r *Registry) add(img Image) (string, error) {
	var layers []descriptor
	var diffIDs []string
	for _, path := range img.Layers {
		d, size, err := fileDigest(path)
		if err != nil {
			return "", fmt.Errorf("layer of %v: %w", img.Names, err)
		}
		r.blobs[d] = blob{path: path, size: size}
		layers = append(layers, descriptor{MediaType: mediaLayer, Digest: d, Size: size})
		diffIDs = append(diffIDs, d) // uncompressed: the layer is its own diff
	}
	cfg := map[string]any{
		"architecture": "amd64", "os": "linux", "config": img.Config,
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	}
	cd, cb := r.addJSON(cfg)
	manifest := map[string]any{
		"schemaVersion": 2, "mediaType": mediaManifest,
		"config": descriptor{MediaType: mediaConfig, Digest: cd, Size: int64(len(cb))},
		"layers": layers,
	}
	md, _ := r.addJSON(manifest)
	return md, nil
}

func (r *Registry) addJSON(v any) (string, []byte) {
	b, _ := json.Marshal(v)
	d := digest(b)
	r.blobs[d] = blob{data: b, size: int64(len(b))}
	return d, b
}

// ServeHTTP answers GET and HEAD of /v2/, /v2/NAME/manifests/REF and
// /v2/NAME/blobs/DIGEST.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		http.Error(w, "read-only registry", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	path := strings.TrimPrefix(req.URL.Path, "/v2/")
	if path == "" || path == req.URL.Path {
		if req.URL.Path == "/v2/" || req.URL.Path == "/v2" {
			w.WriteHeader(http.StatusOK)
			return
		}
		http.NotFound(w, req)
		return
	}
	if name, ref, ok := cut(path, "/manifests/"); ok {
		d := r.manifest(name, ref)
		if d == "" {
			http.Error(w, `{"errors":[{"code":"MANIFEST_UNKNOWN"}]}`, http.StatusNotFound)
			return
		}
		r.serve(w, req, d, mediaManifest)
		return
	}
	if _, d, ok := cut(path, "/blobs/"); ok {
		if _, known := r.blobs[d]; !known {
			http.Error(w, `{"errors":[{"code":"BLOB_UNKNOWN"}]}`, http.StatusNotFound)
			return
		}
		r.serve(w, req, d, "application/octet-stream")
		return
	}
	http.NotFound(w, req)
}

// manifest is the manifest digest for NAME and a tag or digest reference.
func (r *Registry) manifest(name, ref string) string {
	if strings.HasPrefix(ref, "sha256:") {
		if b, ok := r.blobs[ref]; ok && b.data != nil {
			return ref
		}
		return ""
	}
	if d, ok := r.images[normalise(name+":"+ref)]; ok {
		return d
	}
	return r.fallback
}

func (r *Registry) serve(w http.ResponseWriter, req *http.Request, d, mediaType string) {
	b := r.blobs[d]
	w.Header().Set("Docker-Content-Digest", d)
	w.Header().Set("Content-Type", mediaType)
	if b.data != nil {
		w.Header().Set("Content-Length", fmt.Sprint(b.size))
		if req.Method == http.MethodGet {
			w.Write(b.data)
		}
		return
	}
	f, err := os.Open(b.path)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	http.ServeContent(w, req, "", time.Time{}, f)
}

// cut splits "NAME/SEP/REST" at the last SEP.
func cut(path, sep string) (string, string, bool) {
	i := strings.LastIndex(path, sep)
	if i <= 0 || i+len(sep) == len(path) {
		return "", "", false
	}
	return path[:i], path[i+len(sep):], true
}

// normalise names a Docker Hub official image as containerd asks for it:
// "python:3.11" -> "library/python:3.11".
func normalise(name string) string {
	if !strings.Contains(name, "/") {
		return "library/" + name
	}
	return name
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func fileDigest(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", path, err)
	}
	if n == 0 {
		return "", 0, errors.New(path + " is empty")
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), n, nil
}
