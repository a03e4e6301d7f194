package imagebuild

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/argoproj/argo-workflows/v3/workflow/validate"
	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/kubeline/kubeline/compiler/argo"
	"github.com/kubeline/kubeline/compiler/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func load(t *testing.T, src string) (*ImageBuild, error) {
	t.Helper()
	docs, err := spec.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if docs[0].Kind != spec.KindImageBuild {
		t.Fatalf("kind %q", docs[0].Kind)
	}
	return Decode(docs[0].Node)
}

// TestGolden compiles each ImageBuild into one workflow, checks it with
// Argo's own validator and against its golden file.
func TestGolden(t *testing.T) {
	for _, name := range []string{"trainer", "minimal"} {
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("testdata", name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			b, err := load(t, string(src))
			if err != nil {
				t.Fatal(err)
			}
			wf, err := CompileWorkflow(b, argo.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.ValidateWorkflow(nil, nil, wf, nil, validate.ValidateOpts{Lint: true}); err != nil {
				t.Fatalf("Argo's validator: %v", err)
			}
			got, err := yaml.Marshal(wf)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", name+".workflow.golden.yaml")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./compiler/imagebuild -update)", err)
			}
			if d := cmp.Diff(string(want), string(got)); d != "" {
				t.Errorf("%s (-want +got):\n%s", path, d)
			}
		})
	}
}

// TestBuildStep checks what the golden files hold, so a regenerated golden
// cannot silently lose it: BuildKit rootless and unprivileged, the code as
// its context, the push, and the catalog entry for the server.
func TestBuildStep(t *testing.T) {
	src, _ := os.ReadFile(filepath.Join("testdata", "trainer.yaml"))
	b, err := load(t, string(src))
	if err != nil {
		t.Fatal(err)
	}
	wf, err := CompileWorkflow(b, argo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	build := wf.GetTemplateByName("build")
	c := build.Container
	sc := c.SecurityContext
	if c.Image != Builder || !strings.HasSuffix(Builder, "-rootless") || *sc.RunAsUser != 1000 || sc.Privileged != nil {
		t.Fatalf("build container: %+v", c)
	}
	args := strings.Join(c.Args, " ")
	for _, w := range []string{"--local context=/kubeline/code/app", "--local dockerfile=/kubeline/code/app/docker", "--opt filename=Dockerfile",
		"--output type=image,name=registry.example.com/team/trainer:v3,push=true", "--opt build-arg:PYTHON_VERSION=3.12"} {
		if !strings.Contains(args, w) {
			t.Errorf("build args lack %q: %s", w, args)
		}
	}
	if build.Inputs.Artifacts[0].Path != "/kubeline/code" || wf.Annotations[AnnotationCode] != "trainer-repo@v3" ||
		wf.Annotations[AnnotationCatalog] != `{"name":"trainer","framework":"pytorch","version":"2.5","gpu":true}` {
		t.Fatalf("code input or annotations: %+v %v", build.Inputs, wf.Annotations)
	}
	resolve := wf.GetTemplateByName("resolve-code").Container
	if got := strings.Join(resolve.Args, " "); got != "--task resolve-code --resolve-version code://trainer-repo@v3" {
		t.Fatalf("resolve step: %s", got)
	}
}

// TestInvalid: every problem of a document is reported at once, each at
// its field.
func TestInvalid(t *testing.T) {
	b, err := load(t, `apiVersion: kubeline.io/v1
kind: ImageBuild
metadata: {name: Bad_Name}
spec:
  code: repo
  context: ../up
  dockerfile: /etc/Dockerfile
  destination: 'image://trainer'
  buildArgs: {"1x": y}
`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = CompileWorkflow(b, argo.Options{})
	if err == nil {
		t.Fatal("compiled")
	}
	for _, w := range []string{"apiVersion:", "metadata.name:", "spec.code:", "spec.context:", "spec.dockerfile:", "spec.destination:", "spec.buildArgs[1x]"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
	if _, err := load(t, "apiVersion: kubeline.io/v1alpha1\nkind: ImageBuild\nmetadata: {name: a}\nspec: {code: a@v1, destination: x/y:1, buildArg: D}\n"); err == nil || !strings.Contains(err.Error(), "buildArg") {
		t.Fatalf("unknown field: %v", err)
	}
}
