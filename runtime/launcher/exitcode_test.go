package launcher

import (
	"context"
	"errors"
	"testing"
)

// TestKilledStepExitCode: a step whose process a signal killed fails with
// 128 + the signal, as Kubernetes reports a killed container (Go's -1
// became "exit code -1" on the embedded engine and 255 in a pod).
func TestKilledStepExitCode(t *testing.T) {
	for _, c := range []struct {
		script string
		want   int
	}{
		{"kill -KILL $$", 137},
		{"kill -TERM $$", 143},
		{"exit 3", 3},
	} {
		o, log := opts(t, `{}`, nil, "sh", "-c", c.script)
		err := Run(context.Background(), o)
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != c.want {
			t.Errorf("%s: %v, want exit code %d\n%s", c.script, err, c.want, log)
		}
	}
}
