package charts_test

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/kubeline/kubeline/internal/tool"
)

// kubeVersion is the Kubernetes version charts are rendered for: that of
// the client-go kubeline builds with (k8s.io/client-go v0.33).
const kubeVersion = "1.33.0"

// chartDir is the chart under test.
const chartDir = "kubeline"

// helm is the helm binary `make tools` installs (or $KUBELINE_HELM).
func helm(t testing.TB) string {
	return tool.Find(t, "helm", "KUBELINE_HELM", "go install helm.sh/helm/v3/cmd/helm@v3.22.0")
}

// runHelm runs helm with args and returns its stdout, failing the test
// with its output when it exits non-zero.
func runHelm(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(helm(t), args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("helm %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// execHelm runs helm and returns its combined output and error.
func execHelm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(helm(t), args...).CombinedOutput()
	return string(out), err
}

// runHelmCopy copies the chart directory src to dst.
func runHelmCopy(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
}
