//go:build e2e

package charts_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestChartAppliesToCluster: the chart's manifests, with default and with
// PostgreSQL values, pass a server-side dry run on the e2e cluster (a real
// kube-apiserver with Argo's CRDs: e2e/cluster.sh up), in the namespace the
// chart installs to. KUBELINE_E2E_KUBECONFIG names the cluster.
func TestChartAppliesToCluster(t *testing.T) {
	kubeconfig := os.Getenv("KUBELINE_E2E_KUBECONFIG")
	if kubeconfig == "" {
		t.Fatal("KUBELINE_E2E_KUBECONFIG is not set: start the e2e environment with e2e/cluster.sh up (make e2e does)")
	}
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatal("kubectl is not on PATH: eval \"$(bash e2e/cluster.sh env)\" puts the e2e build's first")
	}
	run := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(kubectl, append([]string{"--kubeconfig", kubeconfig}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for _, values := range []string{"", "postgres-values.yaml"} {
		args := []string{"template", "k", chartDir, "--namespace", "kubeflow", "--kube-version", kubeVersion}
		if values != "" {
			args = append(args, "-f", filepath.Join(chartDir, "ci", values))
		}
		manifests := runHelm(t, args...)
		// The namespaces the objects go to (the server's and the
		// workflows') exist before a chart is installed.
		for _, m := range regexp.MustCompile(`(?m)^  namespace: "?([a-z0-9-]+)"?$`).FindAllStringSubmatch(manifests, -1) {
			if out, err := run("", "create", "namespace", m[1]); err != nil && !strings.Contains(out, "AlreadyExists") {
				t.Fatalf("create namespace %s: %v\n%s", m[1], err, out)
			}
		}
		out, err := run(manifests, "apply", "--dry-run=server", "-f", "-")
		if err != nil {
			t.Fatalf("values %q: kubectl apply --dry-run=server: %v\n%s", values, err, out)
		}
		if n := strings.Count(out, "(server dry run)"); n < 5 {
			t.Fatalf("values %q: %d objects dry-run applied:\n%s", values, n, out)
		}
		t.Logf("values %q: %d objects accepted by the API server", values, strings.Count(out, "(server dry run)"))
	}
}
