package spec

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// maxSpecSize bounds what is read from one file or archive member (the KFP
// upload limit); maxMembers bounds an archive's entries.
const (
	maxSpecSize = 32 << 20
	maxMembers  = 1000
)

// Unpack returns the pipeline YAML/JSON held in data. Plain YAML or JSON is
// returned as it is; a .zip or .tar.gz (recognised by content, as the KFP
// upload endpoint does) must hold pipeline.yaml, or exactly one .yaml/.yml/.json
// file. Anything else is an error saying what was found.
func Unpack(name string, data []byte) ([]byte, error) {
	switch {
	case bytes.HasPrefix(data, []byte("PK\x03\x04")), bytes.HasPrefix(data, []byte("PK\x05\x06")):
		return unzip(name, data)
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		return untar(name, data)
	case bytes.HasPrefix(data, []byte("\x89PNG")), !isText(data):
		return nil, fmt.Errorf("%s: not a pipeline: expected YAML, JSON, .zip or .tar.gz", name)
	}
	return data, nil
}

func isText(data []byte) bool {
	probe := data
	if len(probe) > 512 {
		probe = probe[:512]
	}
	return !bytes.ContainsRune(probe, 0)
}

type member struct {
	name string
	open func() (io.ReadCloser, error)
}

func unzip(name string, data []byte) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("%s: invalid zip archive: %w", name, err)
	}
	if len(zr.File) > maxMembers {
		return nil, fmt.Errorf("%s: archive has %d entries (at most %d)", name, len(zr.File), maxMembers)
	}
	var members []member
	for _, f := range zr.File {
		if err := safeName(f.Name); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if f.FileInfo().IsDir() {
			continue
		}
		if f.UncompressedSize64 > maxSpecSize {
			return nil, fmt.Errorf("%s: %s would expand to %d bytes (at most %d)", name, f.Name, f.UncompressedSize64, maxSpecSize)
		}
		members = append(members, member{name: f.Name, open: f.Open})
	}
	return pick(name, members)
}

func untar(name string, data []byte) ([]byte, error) {
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: invalid gzip archive: %w", name, err)
	}
	tr := tar.NewReader(gz)
	var members []member
	contents := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: invalid tar archive: %w", name, err)
		}
		if err := safeName(h.Name); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(members) >= maxMembers {
			return nil, fmt.Errorf("%s: archive has more than %d entries", name, maxMembers)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, maxSpecSize+1))
		if err != nil {
			return nil, fmt.Errorf("%s: read %s: %w", name, h.Name, err)
		}
		if len(b) > maxSpecSize {
			return nil, fmt.Errorf("%s: %s expands to more than %d bytes", name, h.Name, maxSpecSize)
		}
		contents[h.Name] = b
		n := h.Name
		members = append(members, member{name: n, open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(contents[n])), nil
		}})
	}
	return pick(name, members)
}

// pick chooses pipeline.yaml, or the one YAML/JSON member.
func pick(archive string, members []member) ([]byte, error) {
	var chosen *member
	var specs []string
	for i, m := range members {
		base := path.Base(m.name)
		if base == "pipeline.yaml" {
			chosen = &members[i]
			break
		}
		switch strings.ToLower(path.Ext(base)) {
		case ".yaml", ".yml", ".json":
			specs = append(specs, m.name)
			if chosen == nil {
				chosen = &members[i]
			}
		}
	}
	if chosen == nil {
		return nil, fmt.Errorf("%s: archive holds no pipeline.yaml (found %d files)", archive, len(members))
	}
	if path.Base(chosen.name) != "pipeline.yaml" && len(specs) > 1 {
		return nil, fmt.Errorf("%s: archive holds no pipeline.yaml and several specs: %s", archive, strings.Join(specs, ", "))
	}
	rc, err := chosen.open()
	if err != nil {
		return nil, fmt.Errorf("%s: open %s: %w", archive, chosen.name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxSpecSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: read %s: %w", archive, chosen.name, err)
	}
	if len(b) > maxSpecSize {
		return nil, fmt.Errorf("%s: %s is larger than %d bytes", archive, chosen.name, maxSpecSize)
	}
	return b, nil
}

// safeName refuses archive entries that would escape a directory: absolute
// paths and "..".
func safeName(n string) error {
	clean := path.Clean("/" + n)
	if strings.HasPrefix(n, "/") || strings.Contains(n, "\\") || n == ".." || strings.HasPrefix(n, "../") || strings.Contains(n, "/../") || clean != "/"+strings.TrimPrefix(path.Clean(n), "/") {
		return fmt.Errorf("archive entry %q is outside the archive", n)
	}
	return nil
}
