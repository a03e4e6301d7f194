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
// upload limit).
const maxSpecSize = 32 << 20

// Unpack returns the pipeline YAML/JSON held in data. Plain YAML or JSON is
// returned as it is; a .zip or .tar.gz (recognised by content, as the KFP
// upload endpoint does) must hold pipeline.yaml, or exactly one .yaml/.yml/.json
// file. Anything else is an error saying what was found. The DefaultLimits
// apply.
func Unpack(name string, data []byte) ([]byte, error) { return DefaultLimits.Unpack(name, data) }

// Unpack is the package's Unpack under the limits l: an archive may have
// l.ArchiveMembers entries and expand to l.ArchiveBytes, all members
// together. Members are streamed: only the pipeline file is kept.
func (l Limits) Unpack(name string, data []byte) ([]byte, error) {
	l = l.withDefaults()
	switch {
	case bytes.HasPrefix(data, []byte("PK\x03\x04")), bytes.HasPrefix(data, []byte("PK\x05\x06")):
		return unzip(name, data, l)
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		return untar(name, data, l)
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

func unzip(name string, data []byte, l Limits) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("%s: invalid zip archive: %w", name, err)
	}
	if len(zr.File) > l.ArchiveMembers {
		return nil, limitError("%s: archive has %d entries; at most %d are allowed (limit --max-archive-members)", name, len(zr.File), l.ArchiveMembers)
	}
	var members []member
	var total uint64
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
		// The zip reader refuses a member longer than its header says, so
		// the headers' sizes bound what reading can cost.
		if total += f.UncompressedSize64; total > uint64(l.ArchiveBytes) {
			return nil, limitError("%s: archive members expand to more than %d bytes (limit --max-archive-bytes)", name, l.ArchiveBytes)
		}
		members = append(members, member{name: f.Name, open: f.Open})
	}
	return pick(name, members)
}

// untar streams a .tar.gz, counting what it decompresses against the
// archive budget, and keeps only the pipeline file: pipeline.yaml, or the
// first YAML/JSON member (pick refuses several without a pipeline.yaml).
func untar(name string, data []byte, l Limits) ([]byte, error) {
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: invalid gzip archive: %w", name, err)
	}
	budget := &budgetReader{r: gz, left: l.ArchiveBytes}
	tr := tar.NewReader(budget)
	var members []member
	haveSpec, havePipeline := false, false
	entries := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, tarError(name, err, l)
		}
		if err := safeName(h.Name); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if entries++; entries > l.ArchiveMembers {
			return nil, limitError("%s: archive has more than %d entries (limit --max-archive-members)", name, l.ArchiveMembers)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		n, isPipeline := h.Name, path.Base(h.Name) == "pipeline.yaml"
		// Only the members pick may choose are read: the first spec and
		// the first pipeline.yaml; the others are only named.
		if !isSpecName(n) || (haveSpec && !isPipeline) || (havePipeline && isPipeline) {
			members = append(members, member{name: n})
			continue
		}
		haveSpec, havePipeline = true, havePipeline || isPipeline
		b, err := io.ReadAll(io.LimitReader(tr, maxSpecSize+1))
		if err != nil {
			return nil, tarError(name, err, l)
		}
		if len(b) > maxSpecSize {
			return nil, fmt.Errorf("%s: %s expands to more than %d bytes", name, h.Name, maxSpecSize)
		}
		members = append(members, member{name: n, open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(b)), nil
		}})
	}
	return pick(name, members)
}

func tarError(name string, err error, l Limits) error {
	if errors.Is(err, ErrLimit) {
		return limitError("%s: archive members expand to more than %d bytes (limit --max-archive-bytes)", name, l.ArchiveBytes)
	}
	return fmt.Errorf("%s: invalid tar archive: %w", name, err)
}

// isSpecName says whether an archive member may be the pipeline file.
func isSpecName(n string) bool {
	switch strings.ToLower(path.Ext(path.Base(n))) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// budgetReader fails with ErrLimit once more than left bytes were read.
type budgetReader struct {
	r    io.Reader
	left int64
}

func (b *budgetReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if b.left -= int64(n); b.left < 0 {
		return n, ErrLimit
	}
	return n, err
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
