package launcher

import (
	"os"
	"path/filepath"
	"strings"
)

// commandPath is where a step's command name is found: as in a container,
// on the PATH of the step's own environment (exec.Command would look on
// this process's). A name with a slash, an environment without PATH or a
// name found nowhere on it is returned as it is (exec then looks on this
// process's PATH and reports a missing command).
func commandPath(env []string, name string) string {
	if strings.Contains(name, "/") {
		return name
	}
	path, found := "", false
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path, found = v, true // the last one counts, as for exec
		}
	}
	if !found {
		return name
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return name
}
