package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fetch GETs (or HEADs) path and returns the status, the digest header and
// the body.
func fetch(t *testing.T, srv *httptest.Server, method, path string) (int, string, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Docker-Content-Digest"), b
}

func layer(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "layer.tar")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type manifestDoc struct {
	Config descriptor   `json:"config"`
	Layers []descriptor `json:"layers"`
}

func TestRegistryServesNamedAndDefaultImages(t *testing.T) {
	base, tool := layer(t, "base layer"), layer(t, "tool layer")
	reg, err := New(List{
		Images:  []Image{{Names: []string{"kubeline/kubeline:e2e"}, Layers: []string{base, tool}, Config: Config{User: "65532"}}},
		Default: &Image{Layers: []string{base}},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(reg)
	defer srv.Close()

	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return "sha256:" + hex.EncodeToString(h[:]) }
	cases := []struct {
		name, path string
		layers     []string // contents of the layers the manifest lists
		user       string
	}{
		{"named image", "/v2/kubeline/kubeline/manifests/e2e", []string{"base layer", "tool layer"}, "65532"},
		{"other tag: default", "/v2/kubeline/kubeline/manifests/latest", []string{"base layer"}, ""},
		{"hub official image: default", "/v2/library/python/manifests/3.11?ns=docker.io", []string{"base layer"}, ""},
		{"nested repository: default", "/v2/ubi9/python-311/manifests/latest", []string{"base layer"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, d, b := fetch(t, srv, http.MethodGet, c.path)
			if code != http.StatusOK || d != sum(string(b)) {
				t.Fatalf("GET %s: %d, digest %s for %s", c.path, code, d, b)
			}
			var m manifestDoc
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range m.Layers {
				code, ld, lb := fetch(t, srv, http.MethodGet, "/v2/any/blobs/"+l.Digest)
				if code != http.StatusOK || ld != l.Digest || sum(string(lb)) != l.Digest || int64(len(lb)) != l.Size {
					t.Errorf("layer %s: %d %s size %d", l.Digest, code, ld, len(lb))
				}
				got = append(got, string(lb))
			}
			if d := cmp.Diff(c.layers, got); d != "" {
				t.Errorf("layers (-want +got):\n%s", d)
			}
			_, _, cb := fetch(t, srv, http.MethodGet, "/v2/any/blobs/"+m.Config.Digest)
			var cfg struct {
				Config Config `json:"config"`
				RootFS struct {
					DiffIDs []string `json:"diff_ids"`
				} `json:"rootfs"`
			}
			if err := json.Unmarshal(cb, &cfg); err != nil {
				t.Fatal(err)
			}
			if cfg.Config.User != c.user || len(cfg.RootFS.DiffIDs) != len(c.layers) {
				t.Errorf("config %s", cb)
			}
			// The manifest by its digest, as containerd fetches it after resolving.
			if code, d2, b2 := fetch(t, srv, http.MethodGet, "/v2/x/manifests/"+d); code != http.StatusOK || d2 != d || string(b2) != string(b) {
				t.Errorf("manifest by digest: %d %s", code, d2)
			}
			if code, d2, b2 := fetch(t, srv, http.MethodHead, c.path); code != http.StatusOK || d2 != d || len(b2) != 0 {
				t.Errorf("HEAD: %d %s %q", code, d2, b2)
			}
		})
	}
}

func TestRegistryRefuses(t *testing.T) {
	reg, err := New(List{Images: []Image{{Names: []string{"pause:3.10"}, Layers: []string{layer(t, "pause")}}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(reg)
	defer srv.Close()
	cases := []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/v2/", http.StatusOK},
		{http.MethodGet, "/v2/library/pause/manifests/3.10", http.StatusOK},
		{http.MethodGet, "/v2/library/alpine/manifests/3.20", http.StatusNotFound}, // no default image
		{http.MethodGet, "/v2/x/manifests/sha256:0000", http.StatusNotFound},
		{http.MethodGet, "/v2/x/blobs/sha256:0000", http.StatusNotFound},
		{http.MethodPost, "/v2/x/blobs/uploads/", http.StatusMethodNotAllowed},
		{http.MethodGet, "/other", http.StatusNotFound},
	}
	for _, c := range cases {
		if code, _, _ := fetch(t, srv, c.method, c.path); code != c.want {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, code, c.want)
		}
	}
	if _, err := New(List{Images: []Image{{Names: []string{"x:1"}, Layers: []string{filepath.Join(t.TempDir(), "missing.tar")}}}}); err == nil {
		t.Error("a missing layer file was accepted")
	}
}
