package launchcmd

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/artifact/s3test"
)

// lightweightCommand is the command the kfp SDK writes for a lightweight
// Python component (without its pip bootstrap, which the builtin executor
// does not run): the source, then the executor's arguments.
func lightweightCommand(source, function string) []string {
	return []string{"sh", "-ec", `program_path=$(mktemp -d)
printf "%s" "$0" > "$program_path/ephemeral_component.py"
_KFP_RUNTIME=true python3 -m kfp.dsl.executor_main --component_module_path "$program_path/ephemeral_component.py" "$@"
`, "from kfp import dsl\nfrom kfp.dsl import *\n\n" + source, "--executor_input", "{{$}}", "--function_to_execute", function}
}

// Components of the corpus's pipeline_with_importer_workspace: a producer
// writes a file or a directory, get_uri returns its input's .uri (after
// reading it through .path), the importer of that URI gives read_back its
// content.
const (
	writeFile = `def write(out_ds: Output[Dataset]):
    with open(out_ds.path, "w", encoding="utf-8") as f:
        f.write("Hello from producer file\n")
`
	writeDir = `def write(out_ds: Output[Dataset]):
    import os
    os.makedirs(out_ds.path, exist_ok=True)
    for i in range(2):
        with open(os.path.join(out_ds.path, "part-%03d.txt" % i), "w", encoding="utf-8") as f:
            f.write("part %d\n" % i)
`
	getURI = `def get_uri(d: Input[Dataset]) -> str:
    import os
    assert os.path.exists(d.path), "no content at .path " + d.path
    assert d.path != d.uri, "the uri is the local path " + d.uri
    return d.uri
`
	datasetOut = `{"outputDefinitions":{"artifacts":{"out_ds":{"artifactType":{"schemaTitle":"system.Dataset"}}}}}`
	datasetIn  = `{"inputDefinitions":{"artifacts":{"d":{"artifactType":{"schemaTitle":"system.Dataset"}}}},"outputDefinitions":{"parameters":{"Output":{"parameterType":"STRING"}}}}`
	importer   = `{"inputDefinitions":{"parameters":{"uri":{"parameterType":"STRING"}}},"outputDefinitions":{"artifacts":{"artifact":{"artifactType":{"schemaTitle":"system.Dataset"}}}}}`
)

// TestPythonURIInPod: in a pod, a lightweight Python component run by the
// builtin executor sees its artifacts as KFP on a cluster shows them: .uri
// is where the artifact is stored in the pod's artifact repository (a real
// S3 server, versitygw), .path the local file it reads or writes; an
// importer in another pod given that URI reads the content back from S3.
// Before, .uri was the pod-local path (/kubeline/in/d/data), which the
// importer's pod does not have (corpus pipeline_with_importer_workspace on
// the real node: "importer: copy /kubeline/in/d/data: lstat ...: no such
// file or directory").
func TestPythonURIInPod(t *testing.T) {
	gw, s := podStore(t, "runs")
	ctx := context.Background()
	host, port, _ := net.SplitHostPort(gw.Endpoint)
	for k, v := range map[string]string{"KUBELINE_ARTIFACT_ROOT": "minio://runs", "OBJECTSTORECONFIG_HOST": host, "OBJECTSTORECONFIG_PORT": port,
		"OBJECTSTORECONFIG_REGION": gw.Region, "OBJECTSTORECONFIG_ACCESSKEY": gw.Access, "OBJECTSTORECONFIG_SECRETACCESSKEY": gw.Secret,
		"KUBELINE_PYTHON_EXECUTOR": "builtin", "KUBELINE_HOME": t.TempDir(), "KUBELINE_WORKFLOW": "wf-1"} {
		t.Setenv(k, v)
	}
	for _, c := range []struct {
		name, source string
		want         map[string]string // the imported artifact's files
	}{
		{"file", writeFile, map[string]string{"": "Hello from producer file\n"}},
		{"directory", writeDir, map[string]string{"part-000.txt": "part 0\n", "part-001.txt": "part 1\n"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			// The producer's pod; Argo's wait container uploads each
			// output artifact's directory under kubeline/WORKFLOW/POD/NAME.
			producer := "wf-1-write-" + c.name
			out := pod(t, producer, nil, "--task", "write", "--component", datasetOut, "--", lightweightCommand(c.source, "write"))
			if err := s.Upload(ctx, "kubeline/wf-1/"+producer+"/out_ds", filepath.Join(out, "out_ds")); err != nil {
				t.Fatal(err)
			}
			// get_uri's pod: Argo downloads the artifact to /kubeline/in/d.
			out = pod(t, "wf-1-get-uri-"+c.name, map[string]string{"kubeline/wf-1/" + producer + "/out_ds": "d"},
				"--task", "get-uri", "--component", datasetIn, "--", lightweightCommand(getURI, "get_uri"))
			b, err := os.ReadFile(filepath.Join(out, "Output"))
			if err != nil {
				t.Fatal(err)
			}
			uri := string(b)
			if want := "minio://runs/kubeline/wf-1/" + producer + "/out_ds/data"; uri != want {
				t.Fatalf("the component's .uri is %q, want the artifact's S3 URI %q", uri, want)
			}
			// The importer's pod reads the URI from S3.
			out = pod(t, "wf-1-importer-"+c.name, nil, "--task", "importer", "--component", importer,
				"--importer", `{"uriParameter":"uri"}`, "--in", "uri="+uri)
			if d := cmp.Diff(c.want, files(t, filepath.Join(out, "artifact", "data"))); d != "" {
				t.Errorf("the importer's artifact (-want +got):\n%s", d)
			}
		})
	}
}

// pod runs `kubeline launch ARGS` as in a pod named name, with the given
// objects of the store downloaded to /kubeline/in/NAME first (key: NAME);
// it returns the outputs directory. command, when given last, follows.
func pod(t *testing.T, name string, inputs map[string]string, args ...any) string {
	t.Helper()
	in, out := t.TempDir(), t.TempDir()
	t.Setenv("KUBELINE_POD", name)
	t.Setenv("KUBELINE_INPUTS_DIR", in)
	t.Setenv("KUBELINE_OUTPUTS_DIR", out)
	store, err := podArtifacts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for key, input := range inputs {
		if err := store.Download(context.Background(), key, filepath.Join(in, input)); err != nil {
			t.Fatal(err)
		}
	}
	var argv []string
	for _, a := range args {
		switch a := a.(type) {
		case string:
			argv = append(argv, a)
		case []string:
			argv = append(argv, a...)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := Launch(argv, &stdout, &stderr); code != 0 {
		t.Fatalf("pod %s: exit %d:\n%s%s", name, code, stdout.String(), stderr.String())
	}
	return out
}

// files is the content of a file ("" → content) or of a tree's files.
func files(t *testing.T, path string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(path, p)
		got[strings.TrimPrefix(rel, ".")] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestImporterReadsOrFails: an importer in a pod copies a URI of the pod's
// store; one of that store that cannot be read (no such object) fails the
// step, naming it, rather than record an artifact without content (its
// consumers then failed on a missing file); a URI no reader of the pod
// reaches (gs://, another bucket) is recorded without content, as before.
func TestImporterReadsOrFails(t *testing.T) {
	gw, s := podStore(t, "runs")
	ctx := context.Background()
	if _, err := s.Put(ctx, "kubeline/wf-0/p/out/data", strings.NewReader("rows\n"), 5); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(gw.Endpoint)
	for k, v := range map[string]string{"KUBELINE_ARTIFACT_ROOT": "minio://runs", "OBJECTSTORECONFIG_HOST": host, "OBJECTSTORECONFIG_PORT": port,
		"OBJECTSTORECONFIG_REGION": gw.Region, "OBJECTSTORECONFIG_ACCESSKEY": gw.Access, "OBJECTSTORECONFIG_SECRETACCESSKEY": gw.Secret,
		"KUBELINE_WORKFLOW": "wf-1", "KUBELINE_POD": "wf-1-importer"} {
		t.Setenv(k, v)
	}
	for _, c := range []struct {
		uri, data, stderr string
		code              int
	}{
		{"minio://runs/kubeline/wf-0/p/out/data", "rows\n", "", 0},
		{"minio://runs/kubeline/wf-0/p/none/data", "", "importer: read minio://runs/kubeline/wf-0/p/none/data", 1},
		{"gs://bucket/rows", "", "gs://bucket/rows is recorded without its content", 0},
		{"minio://other/rows", "", "minio://other/rows is recorded without its content", 0},
	} {
		t.Run(c.uri, func(t *testing.T) {
			out := t.TempDir()
			t.Setenv("KUBELINE_INPUTS_DIR", t.TempDir())
			t.Setenv("KUBELINE_OUTPUTS_DIR", out)
			var stdout, stderr bytes.Buffer
			code := Launch([]string{"--task", "importer", "--component", importer, "--importer", `{"uriParameter":"uri"}`, "--in", "uri=" + c.uri}, &stdout, &stderr)
			if code != c.code || !strings.Contains(stderr.String(), c.stderr) {
				t.Fatalf("exit %d, want %d; stderr %q, want it to say %q", code, c.code, stderr.String(), c.stderr)
			}
			if code != 0 {
				return
			}
			b, _ := os.ReadFile(filepath.Join(out, "artifact", "data"))
			if string(b) != c.data {
				t.Errorf("imported %q, want %q", b, c.data)
			}
			if md, _ := os.ReadFile(filepath.Join(out, "artifact", "metadata.json")); !strings.Contains(string(md), `"uri":"`+c.uri+`"`) {
				t.Errorf("metadata.json %s does not record %s", md, c.uri)
			}
		})
	}
}

// podStore starts a real S3 server (versitygw) with bucket, the store a
// step in a pod is given.
func podStore(t *testing.T, bucket string) (*s3test.Gateway, *artifact.S3) {
	t.Helper()
	gw := s3test.Start(t)
	s, err := artifact.NewS3(artifact.S3Config{Endpoint: gw.Endpoint, Bucket: bucket, AccessKey: gw.Access, SecretKey: gw.Secret, Region: gw.Region})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	return gw, s
}
