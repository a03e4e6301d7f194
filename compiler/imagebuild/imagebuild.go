package imagebuild

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"gopkg.in/yaml.v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeline/kubeline/compiler/argo"
	"github.com/kubeline/kubeline/compiler/spec"
)

// Builder is the BuildKit image the build step runs (rootless variant).
const Builder = "moby/buildkit:v0.25.2-rootless"

// Annotations the compiled workflow carries for the server.
const (
	LabelBuild        = "kubeline.io/image-build"
	AnnotationCode    = "kubeline.io/image-build-code"
	AnnotationImage   = "kubeline.io/image-build-destination"
	AnnotationCatalog = "kubeline.io/image-build-catalog" // JSON of Catalog
	// MetadataParam is the build step's output: BuildKit's metadata of the
	// push (JSON; containerimage.digest is the image's digest).
	MetadataParam = "build-metadata"
	codeKeyParam  = "code-key"
	contextDir    = "/kubeline/code"
	metadataFile  = "/kubeline/out/build.json"
	storageKey    = "storage-key"
	dockerConfig  = "/home/user/.docker"
)

// ImageBuild is a kind: ImageBuild document.
type ImageBuild struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace,omitempty"`
	} `json:"metadata"`
	Spec Spec `json:"spec"`
}

// Spec says what to build and where to push it.
type Spec struct {
	// Code is the code version to build: NAME@vN or NAME@latest.
	Code string `json:"code"`
	// Context is the build context's directory in the code ("." default);
	// Dockerfile is the Dockerfile's path in the code (Context/Dockerfile
	// by default).
	Context    string `json:"context,omitempty"`
	Dockerfile string `json:"dockerfile,omitempty"`
	// Destination is the image reference to push.
	Destination string            `json:"destination"`
	BuildArgs   map[string]string `json:"buildArgs,omitempty"`
	// PushSecret is a Kubernetes secret holding config.json (a
	// kubernetes.io/dockerconfigjson secret's .dockerconfigjson key is
	// read as config.json) with the registry's credentials.
	PushSecret string `json:"pushSecret,omitempty"`
	// Catalog is the entry the built image gets in the group's catalog.
	Catalog *Catalog `json:"catalog,omitempty"`
}

// Catalog is the image catalog entry of a built image.
type Catalog struct {
	Name      string `json:"name"`
	Framework string `json:"framework,omitempty"`
	Version   string `json:"version,omitempty"`
	GPU       bool   `json:"gpu,omitempty"`
}

// Decode reads an ImageBuild document strictly.
func Decode(doc *yaml.Node) (*ImageBuild, error) {
	b := &ImageBuild{}
	if err := spec.DecodeStrict(doc, "ImageBuild", b); err != nil {
		return nil, err
	}
	return b, nil
}

var (
	codeRef   = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9._-]*)@(v[1-9][0-9]*|latest)$`)
	dnsName   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$`)
	imageRef  = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]{1,2}[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$`)
	catalogNm = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	argName   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Validate reports every problem of the document, each at its field.
func (b *ImageBuild) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if b.APIVersion != "kubeline.io/v1alpha1" {
		add("apiVersion", "want kubeline.io/v1alpha1, got %q", b.APIVersion)
	}
	if !dnsName.MatchString(b.Metadata.Name) {
		add("metadata.name", "%q: use at most 42 lowercase letters, digits and '-'", b.Metadata.Name)
	}
	if !codeRef.MatchString(b.Spec.Code) {
		add("spec.code", "want a code version NAME@vN or NAME@latest, got %q", b.Spec.Code)
	}
	for field, p := range map[string]string{"spec.context": b.Spec.Context, "spec.dockerfile": b.Spec.Dockerfile} {
		if p != "" && (path.IsAbs(p) || path.Clean(p) != p || strings.HasPrefix(p, "../") || p == "..") {
			add(field, "%q: want a clean path inside the code", p)
		}
	}
	if b.Spec.Destination == "" {
		add("spec.destination", "is required: the image reference to push")
	} else if _, isCatalog := argo.CatalogName(b.Spec.Destination); isCatalog || !imageRef.MatchString(b.Spec.Destination) {
		add("spec.destination", "%q is not an image reference (REGISTRY/REPOSITORY:TAG)", b.Spec.Destination)
	}
	for _, k := range slices.Sorted(maps.Keys(b.Spec.BuildArgs)) {
		if !argName.MatchString(k) {
			add("spec.buildArgs["+k+"]", "not a build argument name")
		}
	}
	if c := b.Spec.Catalog; c != nil && !catalogNm.MatchString(c.Name) {
		add("spec.catalog.name", "%q: use at most 63 letters, digits, '-', '_' and '.'", c.Name)
	}
	return errors.Join(errs...)
}

// CompileWorkflow compiles the build into its Workflow; opts.Image is the
// kubeline image of the resolve step.
func CompileWorkflow(b *ImageBuild, opts argo.Options) (*wfv1.Workflow, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	image := opts.Image
	if image == "" {
		image = argo.DefaultImage
	}
	wf := &wfv1.Workflow{TypeMeta: metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Workflow"}}
	wf.GenerateName = "build-" + b.Metadata.Name + "-"
	wf.Namespace = b.Metadata.Namespace
	wf.Labels = map[string]string{LabelBuild: b.Metadata.Name}
	wf.Annotations = map[string]string{AnnotationCode: b.Spec.Code, AnnotationImage: b.Spec.Destination}
	if c := b.Spec.Catalog; c != nil {
		wf.Annotations[AnnotationCatalog] = fmt.Sprintf(`{"name":%q,"framework":%q,"version":%q,"gpu":%t}`, c.Name, c.Framework, c.Version, c.GPU)
	}
	wf.Spec.Entrypoint = "image-build"
	wf.Spec.Volumes = []corev1.Volume{{Name: "kubeline-bin", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	wf.Spec.PodSpecPatch = argo.PodSpecPatch(image)
	resolve := &corev1.Container{Image: image, Command: []string{argo.Launcher, "launch"},
		Args: []string{"--task", "resolve-code", "--resolve-version", "code://" + b.Spec.Code}}
	wf.Spec.Templates = []wfv1.Template{
		{Name: "image-build", DAG: &wfv1.DAGTemplate{Tasks: []wfv1.DAGTask{
			{Name: "resolve-code", Template: "resolve-code"},
			{Name: "build", Template: "build", Depends: "resolve-code", Arguments: wfv1.Arguments{Parameters: []wfv1.Parameter{
				{Name: codeKeyParam, Value: wfv1.AnyStringPtr("{{tasks.resolve-code.outputs.parameters." + storageKey + "}}")}}}},
		}}},
		{Name: "resolve-code", Container: resolve, Outputs: wfv1.Outputs{Parameters: []wfv1.Parameter{
			{Name: storageKey, ValueFrom: &wfv1.ValueFrom{Path: argo.OutputsDir + "/" + storageKey}}}}},
		b.buildTemplate(),
	}
	wf.Spec.Templates[2].Name = "build"
	return wf, nil
}

// buildTemplate runs BuildKit daemonless and rootless on the code.
func (b *ImageBuild) buildTemplate() wfv1.Template {
	ctxDir := path.Join(contextDir, b.Spec.Context)
	dockerfile := b.Spec.Dockerfile
	if dockerfile == "" {
		dockerfile = path.Join(b.Spec.Context, "Dockerfile")
	}
	args := []string{"build", "--frontend", "dockerfile.v0",
		"--local", "context=" + ctxDir, "--local", "dockerfile=" + path.Join(contextDir, path.Dir(dockerfile)),
		"--opt", "filename=" + path.Base(dockerfile),
		"--output", "type=image,name=" + b.Spec.Destination + ",push=true",
		"--metadata-file", metadataFile}
	for _, k := range slices.Sorted(maps.Keys(b.Spec.BuildArgs)) {
		args = append(args, "--opt", "build-arg:"+k+"="+b.Spec.BuildArgs[k])
	}
	uid := int64(1000)
	unconfined := corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
	ctr := &corev1.Container{Image: Builder, Command: []string{"buildctl-daemonless.sh"}, Args: args,
		Env: []corev1.EnvVar{{Name: "BUILDKITD_FLAGS", Value: "--oci-worker-no-process-sandbox"}},
		SecurityContext: &corev1.SecurityContext{RunAsUser: &uid, RunAsGroup: &uid, SeccompProfile: &unconfined,
			AppArmorProfile: &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined}},
		VolumeMounts: []corev1.VolumeMount{{Name: "buildkit-state", MountPath: "/home/user/.local/share/buildkit"}},
	}
	t := wfv1.Template{
		Inputs: wfv1.Inputs{Parameters: []wfv1.Parameter{{Name: codeKeyParam}},
			Artifacts: []wfv1.Artifact{{Name: "code", Path: contextDir, ArtifactLocation: wfv1.ArtifactLocation{
				S3: &wfv1.S3Artifact{Key: "{{inputs.parameters." + codeKeyParam + "}}"}}}}},
		Outputs: wfv1.Outputs{Parameters: []wfv1.Parameter{{Name: MetadataParam,
			ValueFrom: &wfv1.ValueFrom{Path: metadataFile, Default: wfv1.AnyStringPtr("")}}}},
		Container: ctr,
		Volumes:   []corev1.Volume{{Name: "buildkit-state", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
	}
	if s := b.Spec.PushSecret; s != "" {
		ctr.Env = append(ctr.Env, corev1.EnvVar{Name: "DOCKER_CONFIG", Value: dockerConfig})
		ctr.VolumeMounts = append(ctr.VolumeMounts, corev1.VolumeMount{Name: "push-secret", MountPath: dockerConfig, ReadOnly: true})
		t.Volumes = append(t.Volumes, corev1.Volume{Name: "push-secret", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: s, Items: []corev1.KeyToPath{{Key: ".dockerconfigjson", Path: "config.json"}}}}})
	}
	return t
}
