package main

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
)

// uploadVersion makes the file or directory from the next version of kind
// name through the API (POST .../versions:upload), streamed: a file as it
// is, a directory as a tar archive of its files (?archive=tar), whose
// digest is the directory's. group is the group of a new name ("" for the
// caller's first).
func (c *apiClient) uploadVersion(kind, name, from, group string) (map[string]any, error) {
	fi, err := os.Stat(from)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist", from)
	}
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if fi.IsDir() {
		q.Set("archive", "tar")
	}
	if group != "" {
		q.Set("group", group)
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	written := make(chan error, 1)
	go func() {
		err := writeUploadPart(mw, from, fi)
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
		written <- err
	}()
	hc := *c.http
	hc.Timeout = 0 // as long as the bytes take
	path := kindPath(kind) + "/" + url.PathEscape(name) + "/versions:upload"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	raw, err := c.send(&hc, http.MethodPost, path, mw.FormDataContentType(), pr)
	pr.Close()
	if werr := <-written; werr != nil && !errors.Is(werr, io.ErrClosedPipe) {
		return nil, fmt.Errorf("read %s: %w", from, werr)
	}
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("upload %s: the answer is not JSON: %w", from, err)
	}
	return out, nil
}

// writeUploadPart writes the form field uploadfile: the file, or the
// directory's tar archive.
func writeUploadPart(mw *multipart.Writer, from string, fi fs.FileInfo) error {
	if !fi.IsDir() {
		w, err := mw.CreateFormFile("uploadfile", filepath.Base(from))
		if err != nil {
			return err
		}
		return copyFile(w, from)
	}
	w, err := mw.CreateFormFile("uploadfile", filepath.Base(filepath.Clean(from))+".tar")
	if err != nil {
		return err
	}
	return writeTree(w, from)
}

// writeTree writes the directory root as a tar archive of its directories
// and files, by relative path. A link to a file is taken as the file (a
// version's digest reads through it too); other links and special files
// are refused, naming them.
func writeTree(w io.Writer, root string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		fi, err := os.Stat(p) // through links
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		switch {
		case d.IsDir():
			return tw.WriteHeader(&tar.Header{Name: name + "/", Typeflag: tar.TypeDir, Mode: 0o755})
		case fi.Mode().IsRegular():
			if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: int64(fi.Mode().Perm()), Size: fi.Size()}); err != nil {
				return err
			}
			return copyFile(tw, p)
		case fi.IsDir():
			return fmt.Errorf("%s: a link to a directory (a version holds files and directories)", p)
		}
		return fmt.Errorf("%s: not a file or directory (%s)", p, fi.Mode().Type())
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

func copyFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}
