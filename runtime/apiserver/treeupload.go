package apiserver

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// WithUploadDir keeps version uploads under dir while they are made into
// versions (default: the system's temporary directory).
func (s *Server) WithUploadDir(dir string) *Server {
	s.uploadDir = dir
	return s
}

// uploadTemp makes a directory for one upload.
func (s *Server) uploadTemp() (string, error) {
	if s.uploadDir != "" {
		if err := os.MkdirAll(s.uploadDir, 0o700); err != nil {
			return "", err
		}
	}
	return os.MkdirTemp(s.uploadDir, "kubeline-upload-")
}

// maxTreeEntries bounds the files and directories of an uploaded tree.
const maxTreeEntries = 100_000

// extractTree unpacks a tar archive of a directory (a dataset or model
// version made from a directory: `kubeline datasets create NAME --from DIR`)
// into dir. Only directories and regular files are taken; every name must
// stay inside dir. The files' bytes together may not pass limit (413), nor
// the entries maxTreeEntries. An error names the entry.
func extractTree(r io.Reader, dir string, limit int64) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("keep the upload: %w", err)
	}
	tr := tar.NewReader(r)
	seen := map[string]bool{}
	var total int64
	for n := 0; ; n++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return treeReadError(err, limit)
		}
		if n >= maxTreeEntries {
			return &apiError{http.StatusRequestEntityTooLarge, fmt.Sprintf("uploadfile: the archive has more than %d entries", maxTreeEntries)}
		}
		name, err := treeName(h)
		if err != nil || name == "" {
			if err != nil {
				return err
			}
			continue // the root itself, or a global header
		}
		if seen[name] {
			return badRequest("uploadfile: %s: twice in the archive", h.Name)
		}
		seen[name] = true
		target := filepath.Join(dir, filepath.FromSlash(name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(target, 0o700); err != nil {
				return fmt.Errorf("keep the upload: %w", err)
			}
			continue
		}
		if total += h.Size; total > limit {
			return uploadError(&http.MaxBytesError{Limit: limit}, limit)
		}
		if err := writeTreeFile(tr, target, h); err != nil {
			return treeReadError(err, limit)
		}
	}
}

// treeName checks an entry's type and name and returns the name, clean
// and relative ("" for entries to skip: the root directory, PAX global
// headers).
func treeName(h *tar.Header) (string, error) {
	switch h.Typeflag {
	case tar.TypeXGlobalHeader:
		return "", nil
	case tar.TypeDir, tar.TypeReg:
	default:
		return "", badRequest("uploadfile: %s: only directories and regular files may be in a version (this is a %s)", h.Name, tarType(h.Typeflag))
	}
	name := path.Clean(strings.TrimPrefix(h.Name, "./"))
	switch {
	case name == ".":
		return "", nil
	case path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") || strings.ContainsRune(name, 0) || strings.Contains(name, `\`):
		return "", badRequest("uploadfile: %s: a name outside the directory", h.Name)
	}
	return name, nil
}

func tarType(t byte) string {
	switch t {
	case tar.TypeSymlink:
		return "symbolic link"
	case tar.TypeLink:
		return "hard link"
	case tar.TypeChar, tar.TypeBlock:
		return "device"
	case tar.TypeFifo:
		return "FIFO"
	}
	return fmt.Sprintf("entry of type %q", t)
}

// writeTreeFile writes one file of the archive, its directories made first
// (an archive need not list them).
func writeTreeFile(r io.Reader, target string, h *tar.Header) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		return fmt.Errorf("keep the upload: %w", err)
	}
	mode := os.FileMode(0o600)
	if h.Mode&0o111 != 0 {
		mode = 0o700
	}
	out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("keep the upload: %w", err)
	}
	_, err = io.Copy(out, io.LimitReader(r, h.Size))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// treeReadError is the answer to an archive that could not be read: the
// client's mistake (400, 413 when too large) or the server's disk.
func treeReadError(err error, limit int64) error {
	var ce clientError
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return err
	case errors.As(err, &ce):
		return uploadError(ce.error, limit)
	case errors.Is(err, tar.ErrHeader), errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("uploadfile: not a tar archive of a directory: %v", err)
	}
	return fmt.Errorf("keep the upload: %w", err)
}
