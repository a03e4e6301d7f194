package kfp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeline/kubeline/compiler/spec"
)

const corpus = "../../../shared/kfp-corpus"

func loadFile(t testing.TB, path string) (*Pipeline, error) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data, err = spec.Unpack(filepath.Base(path), data)
	if err != nil {
		return nil, err
	}
	docs, err := spec.Parse(data)
	if err != nil {
		return nil, err
	}
	return Load(docs)
}

func TestLoadCorpusValid(t *testing.T) {
	var files []string
	for _, dir := range []string{"ir/valid", "ir/argo_compatibility"} {
		filepath.WalkDir(filepath.Join(corpus, dir), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, p)
			}
			return nil
		})
	}
	if len(files) < 150 {
		t.Fatalf("found %d corpus files under %s, want 150+", len(files), corpus)
	}
	for _, f := range files {
		t.Run(strings.TrimPrefix(f, corpus+"/"), func(t *testing.T) {
			if _, err := loadFile(t, f); err != nil {
				t.Errorf("load: %v", err)
			}
		})
	}
}

func TestLoadCorpusInvalid(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join(corpus, "ir/invalid"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			_, err := loadFile(t, filepath.Join(corpus, "ir/invalid", e.Name()))
			if err == nil {
				t.Fatal("loaded an invalid file without error")
			}
			t.Log(err)
		})
	}
}
