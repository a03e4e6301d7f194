package launchcmd

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeline/kubeline/runtime/artifact"
)

// TestCodeDirInPod: `kubeline launch` in a pod given the S3 store (as
// runtime/engine/argo gives it to steps that take a code version) fetches
// the code version its parameter names from S3 (versitygw here) and runs
// the command with $KUBELINE_CODE_DIR (and $KUBELINE_CODE_DIR_CODE) there;
// without the store the step fails saying it cannot read the version.
func TestCodeDirInPod(t *testing.T) {
	gw, s := podStore(t, "data")
	ctx := context.Background()
	tree := t.TempDir()
	os.MkdirAll(filepath.Join(tree, "lib"), 0o755)
	os.WriteFile(filepath.Join(tree, "train.sh"), []byte("echo script v2"), 0o644)
	os.WriteFile(filepath.Join(tree, "lib", "util.sh"), []byte("true"), 0o644)
	key := artifact.VersionKey("code", "app", strings.Repeat("ab", 32))
	if err := s.Upload(ctx, key, tree); err != nil {
		t.Fatal(err)
	}
	uri := "minio://data/" + key
	component := `{"inputDefinitions":{"parameters":{"code":{"parameterType":"STRING"}}}}`
	args := []string{"--task", "train", "--component", component, "--in", "code=" + uri, "--",
		"sh", "-c", `sh "$KUBELINE_CODE_DIR/train.sh"; ls "$KUBELINE_CODE_DIR_CODE/lib"`}
	t.Setenv("KUBELINE_INPUTS_DIR", t.TempDir())
	t.Setenv("KUBELINE_OUTPUTS_DIR", t.TempDir())

	var stdout, stderr bytes.Buffer
	if code := Launch(args, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), `code parameter "code": cannot read `+uri) {
		t.Errorf("without the store: exit %d, %s", code, stderr.String())
	}
	host, port, _ := net.SplitHostPort(gw.Endpoint)
	for k, v := range map[string]string{"KUBELINE_ARTIFACT_ROOT": "minio://data", "OBJECTSTORECONFIG_HOST": host, "OBJECTSTORECONFIG_PORT": port,
		"OBJECTSTORECONFIG_REGION": gw.Region, "OBJECTSTORECONFIG_ACCESSKEY": gw.Access, "OBJECTSTORECONFIG_SECRETACCESSKEY": gw.Secret} {
		t.Setenv(k, v)
	}
	stdout.Reset()
	stderr.Reset()
	if code := Launch(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if got := stdout.String(); got != "script v2\nutil.sh\n" {
		t.Errorf("the step printed %q", got)
	}
}
