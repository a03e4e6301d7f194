package launcher

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// openBeneath opens rel, a regular file under dir, for the server on a
// sandboxed step's behalf: no symlink is followed and nothing outside dir
// is reached (openat2 with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS), so a
// process of the run that swaps a link in — its other steps run as the
// same uid and share its working directory while the server reads — cannot
// redirect the read; a FIFO or a device is refused rather than blocking it.
func openBeneath(dir, rel string) (*os.File, error) {
	path := filepath.Join(dir, rel)
	d, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(d)
	fd, err := unix.Openat2(d, rel, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NONBLOCK | unix.O_NOCTTY,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EXDEV) {
		return nil, fmt.Errorf("%s leads through a symbolic link or outside %s: a sandboxed step's file is read only where it lies: %w", path, dir, ErrRefused)
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file: %w", path, ErrRefused)
	}
	return f, nil
}

// under splits path into a directory of dirs holding it and the path
// relative to that directory; ok is false when none holds it.
func under(path string, dirs ...string) (dir, rel string, ok bool) {
	for _, d := range dirs {
		r, err := filepath.Rel(d, filepath.Clean(path))
		if d != "" && err == nil && r != ".." && !strings.HasPrefix(r, "../") && !filepath.IsAbs(r) {
			return d, r, true
		}
	}
	return "", "", false
}
