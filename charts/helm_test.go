package charts_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// kubeVersion is the Kubernetes version charts are rendered for: that of
// the client-go kubeline builds with (k8s.io/client-go v0.33).
const kubeVersion = "1.33.0"

// chartDir is the chart under test.
const chartDir = "kubeline"

// helm finds the helm binary at $KUBELINE_HELM, on PATH, in $(go env
// GOBIN) or in $(go env GOPATH)/bin, and fails the test when there is
// none: `make tools` installs it.
func helm(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("KUBELINE_HELM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("KUBELINE_HELM=%s: %v", p, err)
		}
		return p
	}
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	var tried []string
	for _, v := range []string{"GOBIN", "GOPATH"} {
		out, err := exec.Command("go", "env", v).Output()
		dir := strings.TrimSpace(string(out))
		if err != nil || dir == "" {
			continue
		}
		if v == "GOPATH" {
			dir = filepath.Join(filepath.SplitList(dir)[0], "bin")
		}
		p := filepath.Join(dir, "helm")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		tried = append(tried, p)
	}
	t.Fatalf("helm is not installed (looked at $KUBELINE_HELM, PATH, %s).\n"+
		"Install it with `make tools`, or point KUBELINE_HELM at the binary.", strings.Join(tried, ", "))
	return ""
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
