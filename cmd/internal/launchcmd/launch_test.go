package launchcmd

import (
	"bytes"
	"context"
	"net"
	"os"
	"strings"
	"testing"
)

// TestUserCommandWithoutStoreCredentials: in a pod given the artifact
// store (KUBELINE_ARTIFACT_ROOT and the credentials runtime/engine/argo's
// PodEnv sets), the user's command sees the store's name but not its
// credentials.
func TestUserCommandWithoutStoreCredentials(t *testing.T) {
	cases := map[string]struct {
		root    string
		visible bool
	}{
		"store given: credentials kept from the command": {root: "file://" + t.TempDir(), visible: false},
		"no store: the variables are the user's own":     {root: "", visible: true},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Setenv("KUBELINE_ARTIFACT_ROOT", c.root)
			t.Setenv("OBJECTSTORECONFIG_ACCESSKEY", "access-id")
			t.Setenv("OBJECTSTORECONFIG_SECRETACCESSKEY", "s3cret")
			t.Setenv("OBJECTSTORECONFIG_HOST", "minio")
			t.Setenv("KUBELINE_INPUTS_DIR", t.TempDir())
			t.Setenv("KUBELINE_OUTPUTS_DIR", t.TempDir())
			var stdout, stderr bytes.Buffer
			code := Launch([]string{"--task", "t", "--component", "{}", "--", "sh", "-c", "env"}, &stdout, &stderr)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			env := stdout.String()
			for _, secret := range []string{"access-id", "s3cret"} {
				if strings.Contains(env, secret) != c.visible {
					t.Errorf("%s visible to the command: %v, want %v", secret, !c.visible, c.visible)
				}
			}
			if !strings.Contains(env, "OBJECTSTORECONFIG_HOST=minio") {
				t.Errorf("the store's other settings are gone too:\n%s", env)
			}
		})
	}
}

// TestStoreResolver: in a pod given the artifact store, a step's artifact
// URIs in that store are downloaded (an importer's source, descriptors);
// a URI elsewhere is an error naming the pod's store.
func TestStoreResolver(t *testing.T) {
	gw, s := podStore(t, "data")
	ctx := context.Background()
	if _, err := s.Put(ctx, "kubeline/versions/datasets/d/abc", strings.NewReader("a\nb\n"), 4); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(gw.Endpoint)
	for k, v := range map[string]string{"KUBELINE_ARTIFACT_ROOT": "minio://data", "OBJECTSTORECONFIG_HOST": host, "OBJECTSTORECONFIG_PORT": port,
		"OBJECTSTORECONFIG_REGION": gw.Region, "OBJECTSTORECONFIG_ACCESSKEY": gw.Access, "OBJECTSTORECONFIG_SECRETACCESSKEY": gw.Secret} {
		t.Setenv(k, v)
	}
	r := &storeResolver{}
	p, err := r.resolve("minio://data/kubeline/versions/datasets/d/abc")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != "a\nb\n" {
		t.Fatalf("downloaded %q, %v", b, err)
	}
	if _, err := r.resolve("minio://other/x"); err == nil || !strings.Contains(err.Error(), "minio://data/") {
		t.Fatalf("a URI of another bucket: %v", err)
	}
	if p, err := r.resolve("file:///etc/hostname"); err != nil || p != "/etc/hostname" {
		t.Fatalf("file URI: %q, %v", p, err)
	}
}

// TestTaskUUIDFromArgoNode: in a pod, {{$.pipeline_task_uuid}} is the Argo
// node id that Argo gives the pod's containers as ARGO_NODE_ID, as on the
// embedded engine (KFP's pipeline_with_placeholders fails on an empty one).
func TestTaskUUIDFromArgoNode(t *testing.T) {
	t.Setenv("KUBELINE_ARTIFACT_ROOT", "")
	t.Setenv("KUBELINE_INPUTS_DIR", t.TempDir())
	t.Setenv("KUBELINE_OUTPUTS_DIR", t.TempDir())
	t.Setenv("KUBELINE_WORKFLOW_UID", "wf-uid")
	t.Setenv("ARGO_NODE_ID", "wf-1234567")
	var stdout, stderr bytes.Buffer
	code := Launch([]string{"--task", "t", "--component", "{}", "--", "sh", "-c", `echo "$0 $1"`,
		"{{$.pipeline_job_uuid}}", "{{$.pipeline_task_uuid}}"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if got, want := strings.TrimSpace(stdout.String()), "wf-uid wf-1234567"; got != want {
		t.Errorf("placeholders replaced with %q, want %q", got, want)
	}
}

// TestInstallForEveryUser: the launcher the init container installs (as the
// kubeline image's user) is executable by every user, since a step runs as
// its own image's user; a copy only its owner could run failed with
// `exec: "/kubeline/bin/kubeline": permission denied` on the real node.
func TestInstallForEveryUser(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := Install([]string{dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	fi, err := os.Stat(dir + "/kubeline")
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o755 {
		t.Errorf("installed launcher mode %v, want -rwxr-xr-x", got)
	}
}
