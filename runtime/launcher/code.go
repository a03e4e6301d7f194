package launcher

import (
	"fmt"
	"slices"
	"strings"

	artstore "github.com/kubeline/kubeline/runtime/artifact"
)

// CodeDirEnv names the directory holding the code version a step received
// as an input parameter (code://NAME@vN, which the run resolved to the
// version's content URI). A step with several code parameters also gets
// CodeDirEnv_PARAMETER for each (upper case, other characters as _).
const CodeDirEnv = "KUBELINE_CODE_DIR"

// codeDirs fetches the code versions among the step's input parameters
// and tells the step where they are. In a sandbox they are read-only.
func (s *step) codeDirs() error {
	var names []string
	for name, raw := range s.opts.Inputs {
		if kind, _, _, ok := artstore.VersionOfKey(raw); ok && kind == "code" && strings.Contains(raw, "://") {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for i, name := range names {
		dir, err := s.resolve(s.opts.Inputs[name])
		if err != nil {
			return fmt.Errorf("code parameter %q: %w", name, err)
		}
		if i == 0 {
			s.opts.Env = append(s.opts.Env, CodeDirEnv+"="+dir)
		}
		s.opts.Env = append(s.opts.Env, CodeDirEnv+"_"+envName(name)+"="+dir)
		s.readOnly = append(s.readOnly, dir)
	}
	return nil
}

// envName is a parameter name as part of a variable's name.
func envName(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, name)
}
