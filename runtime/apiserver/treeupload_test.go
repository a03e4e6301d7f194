package apiserver_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubeline/kubeline/runtime/apiserver"
)

// entry is one member of a test archive.
type entry struct {
	name, body string
	kind       byte
}

func tarOf(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.kind, Mode: 0o644, Size: int64(len(e.body))}
		switch e.kind {
		case tar.TypeDir:
			h.Size, h.Mode = 0, 0o755
		case tar.TypeSymlink:
			h.Size, h.Linkname = 0, "/etc/passwd"
		}
		require.NoError(t, tw.WriteHeader(h))
		if h.Size > 0 {
			_, err := io.WriteString(tw, e.body)
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

func uploadTree(t *testing.T, base, name string, archive []byte) resp {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("uploadfile", name+".tar")
	fw.Write(archive)
	mw.Close()
	req, _ := http.NewRequest("POST", base+"/apis/kubeline/v1/datasets/"+name+"/versions:upload?archive=tar", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return send(t, req)
}

// treeDigest is versioning's digest of a tree, written out: the SHA-256
// of its files' sorted "PATH\x00SHA256\n" lines.
func treeDigest(files map[string]string) string {
	var lines []string
	for p, body := range files {
		sum := sha256.Sum256([]byte(body))
		lines = append(lines, p+"\x00"+hex.EncodeToString(sum[:])+"\n")
	}
	sort.Strings(lines)
	h := sha256.New()
	for _, l := range lines {
		io.WriteString(h, l)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestUploadTree: a directory's tar archive becomes a version whose digest
// is the tree's (the digest `kubeline datasets create --from DIR` gives
// locally), the same tree again makes no new version; an archive with a
// link, a device, a name outside the directory, a name twice, too many
// bytes, or that is no archive is refused naming the entry, and makes no
// version.
func TestUploadTree(t *testing.T) {
	k := startKubeline(t, serverOptions{with: func(s *apiserver.Server, _ context.Context) {
		s.WithLimits(apiserver.Limits{VersionUpload: 64})
	}})
	files := map[string]string{"a.txt": "alpha\n", "sub/b.txt": "beta\n", "sub/deep/c.bin": "gamma"}
	archive := tarOf(t, entry{"./", "", tar.TypeDir}, entry{"a.txt", files["a.txt"], tar.TypeReg},
		entry{"sub/", "", tar.TypeDir}, entry{"sub/b.txt", files["sub/b.txt"], tar.TypeReg},
		entry{"sub/deep/c.bin", files["sub/deep/c.bin"], tar.TypeReg}) // sub/deep/ not listed: made anyway
	r := uploadTree(t, k.root, "tree", archive)
	require.Equal(t, 200, r.code, r.raw)
	assert.Equal(t, treeDigest(files), r.body["sha256"])
	assert.Equal(t, float64(16), r.body["size_bytes"])
	assert.Equal(t, true, r.body["created"])
	r = uploadTree(t, k.root, "tree", archive)
	require.Equal(t, 200, r.code, r.raw)
	assert.Equal(t, false, r.body["created"])
	assert.Equal(t, float64(1), r.body["version"])

	cases := []struct {
		name    string
		archive []byte
		code    int
		want    string
	}{
		{"link", tarOf(t, entry{"a", "x", tar.TypeReg}, entry{"passwd", "", tar.TypeSymlink}), 400, "passwd: only directories and regular files may be in a version (this is a symbolic link)"},
		{"fifo", tarOf(t, entry{"p", "", tar.TypeFifo}), 400, "p: only directories and regular files may be in a version (this is a FIFO)"},
		{"escape", tarOf(t, entry{"../../etc/x", "x", tar.TypeReg}), 400, "../../etc/x: a name outside the directory"},
		{"absolute", tarOf(t, entry{"/etc/x", "x", tar.TypeReg}), 400, "/etc/x: a name outside the directory"},
		{"twice", tarOf(t, entry{"a", "x", tar.TypeReg}, entry{"./a", "y", tar.TypeReg}), 400, "./a: twice in the archive"},
		{"big", tarOf(t, entry{"a", string(make([]byte, 40)), tar.TypeReg}, entry{"b", string(make([]byte, 40)), tar.TypeReg}), 413, "larger than 64 bytes"},
		{"garbage", []byte("this is not a tar archive, it is prose of more than 512 bytes? " + string(bytes.Repeat([]byte("x"), 600))), 400, "not a tar archive"},
	}
	for _, c := range cases {
		r := uploadTree(t, k.root, c.name, c.archive)
		msg, _ := r.body["message"].(string)
		assert.Equal(t, c.code, r.code, "%s: %s", c.name, r.raw)
		assert.Contains(t, msg, c.want, c.name)
		v := do(t, "GET", k.kl()+"/datasets/"+c.name+"/versions", "", nil)
		assert.Equal(t, 404, v.code, "%s: a version was made: %s", c.name, v.raw)
	}
	r = do(t, "POST", k.kl()+"/datasets/x/versions:upload?archive=zip", "", nil)
	assert.Equal(t, 400, r.code, r.raw)
	assert.Contains(t, fmt.Sprint(r.body["message"]), "archive: want tar")
}
