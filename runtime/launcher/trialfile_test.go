package launcher

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeline/kubeline/runtime/hpo"
	"github.com/kubeline/kubeline/runtime/sandbox"
)

// TestSandboxedTrialMetricsFile: a sandboxed trial's File collector reads
// the metrics file from the run's working directory, which every step of
// the run shares (and may change while the server reads): a symlink there
// to a file of the server's, a FIFO, or an absolute path outside the
// step's directories is refused — the server neither reads the outside
// file (its metrics never become the trial's) nor blocks on the FIFO.
// Needs root and bubblewrap, as CI has (.ci/run installs bubblewrap).
func TestSandboxedTrialMetricsFile(t *testing.T) {
	sb, err := sandbox.New(sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	server := t.TempDir()
	secret := filepath.Join(server, "secret-metrics")
	if err := os.WriteFile(secret, []byte("loss=0.123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, file, script string
	}{
		{"symlink to the server's file", "metrics.log", `ln -s "$0" metrics.log`},
		{"fifo", "metrics.log", `mkfifo metrics.log`},
		{"absolute path outside", secret, `true`},
		{"regular file", "metrics.log", `echo loss=0.5 > metrics.log`},
	} {
		t.Run(c.name, func(t *testing.T) {
			o, out := opts(t, "{}", nil)
			for _, d := range []string{o.InputsDir, o.OutputsDir} {
				os.MkdirAll(d, 0o700)
			}
			box, err := sb.Step("r-"+c.name, []string{o.InputsDir, o.OutputsDir}, []string{o.WorkDir})
			if err != nil {
				t.Fatal(err)
			}
			defer sb.Done("r-" + c.name)
			o.Sandbox, o.Env = box, []string{"PATH=" + sandbox.Path}
			o.Command = []string{"sh", "-c", c.script, secret}
			o.Trial = &Trial{Name: "e-1", Config: hpo.Config{Objective: "loss", Collector: "File", MetricsFile: c.file}}
			done := make(chan error, 1)
			go func() { done <- Run(context.Background(), o) }()
			select {
			case err = <-done:
			case <-time.After(60 * time.Second):
				t.Fatalf("the server still reads the metrics file after 60 s (blocked)\n%s", out)
			}
			got := readReport(t, o).Metrics["loss"]
			if c.name == "regular file" {
				if err != nil || len(got) != 1 || got[0] != 0.5 {
					t.Fatalf("a regular metrics file: %v %v\n%s", got, err, out)
				}
				return
			}
			if len(got) > 0 {
				t.Errorf("the trial reports %v: the server read the outside file", got)
			}
			if err == nil || !strings.Contains(err.Error(), "metrics file") {
				t.Errorf("want an error naming the metrics file, got %v\n%s", err, out)
			}
		})
	}
}
