package ide

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Names in the compiled workflow.
const (
	// Home is the notebook's working directory; mounts are under it.
	Home = "/kubeline/ide"
	// PortParam and TokenParam are the workflow parameters with the
	// notebook's port and its access token (Jupyter reads JUPYTER_TOKEN).
	PortParam  = "port"
	TokenParam = "token"
	// PortVar stands for the port in a command ($(PORT), Kubernetes'
	// syntax for an environment variable; the embedded engine gets the
	// value compiled in).
	PortVar = "$(PORT)"
	// LabelIDE carries the IDE's name on the workflow and its pod.
	LabelIDE = "kubeline.io/ide"
	// Step is the template (and node) that serves the notebook.
	Step        = "notebook"
	DefaultPort = 8888
	homeVolume  = "ide-home"
)

// JupyterLab is the command that serves JupyterLab on $(PORT) on this
// machine's loopback: the embedded engine's notebook when jupyter-lab is
// installed and the IDE names no command (its token is JUPYTER_TOKEN).
var JupyterLab = []string{"jupyter-lab", "--no-browser", "--ip=127.0.0.1", "--port=" + PortVar}

// Spec is one IDE to compile.
type Spec struct {
	// Name is the IDE's name: a DNS-1123 label (it names the workflow).
	Name string
	// Image is the image reference to run (resolve catalog names first).
	Image string
	// Command serves the notebook on $(PORT); empty runs the image's own
	// entrypoint (which then must listen on $PORT or 8888).
	Command []string
	// GPUs of GPUResource (nvidia.com/gpu when empty) the step asks for.
	GPUs        int64
	GPUResource string
	// Mounts are version contents put under Home before the notebook starts.
	Mounts []Mount
	// Port is the port's default (DefaultPort when 0).
	Port int
}

// Mount is one version's content (its artifact-store key) at Path under
// Home (datasets/NAME, code/NAME).
type Mount struct {
	Path, Key string
}

var label = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$`)

// Validate reports every problem of s, each naming its field.
func (s Spec) Validate() error {
	var errs []error
	if !label.MatchString(s.Name) {
		errs = append(errs, fmt.Errorf("name: %q: use at most 40 lowercase letters, digits and '-', starting and ending with a letter or digit", s.Name))
	}
	if strings.TrimSpace(s.Image) == "" {
		errs = append(errs, errors.New("image is required"))
	} else if strings.HasPrefix(s.Image, "image://") {
		errs = append(errs, fmt.Errorf("image: %s names the image catalog: resolve it before compiling", s.Image))
	}
	if s.GPUs < 0 || s.GPUs > 1024 {
		errs = append(errs, fmt.Errorf("gpus: %d: want 0 to 1024", s.GPUs))
	}
	if s.Port < 0 || s.Port > 65535 {
		errs = append(errs, fmt.Errorf("port: %d: want 1 to 65535", s.Port))
	}
	seen := map[string]bool{}
	for i, m := range s.Mounts {
		clean := path.Clean(m.Path)
		switch {
		case m.Path == "" || path.IsAbs(m.Path) || clean != m.Path || clean == "." || strings.HasPrefix(clean, "../"):
			errs = append(errs, fmt.Errorf("mounts[%d].path: %q: want a clean relative path under %s", i, m.Path, Home))
		case seen[clean]:
			errs = append(errs, fmt.Errorf("mounts[%d].path: %q is mounted twice", i, m.Path))
		case m.Key == "":
			errs = append(errs, fmt.Errorf("mounts[%d].key is required", i))
		}
		seen[clean] = true
	}
	return errors.Join(errs...)
}

// CompileWorkflow compiles s into its Workflow.
func CompileWorkflow(s Spec) (*wfv1.Workflow, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("IDE %s: %w", s.Name, err)
	}
	port := s.Port
	if port == 0 {
		port = DefaultPort
	}
	portValue := "{{workflow.parameters." + PortParam + "}}"
	var command []string
	for _, a := range s.Command {
		command = append(command, strings.ReplaceAll(a, PortVar, portValue))
	}
	ctr := &corev1.Container{
		Image: s.Image, Command: command, WorkingDir: Home,
		Env: []corev1.EnvVar{{Name: "PORT", Value: portValue}, {Name: "JUPYTER_TOKEN", Value: "{{workflow.parameters." + TokenParam + "}}"},
			{Name: "KUBELINE_IDE", Value: s.Name}},
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: int32(port)}},
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("http")}},
			PeriodSeconds: 2},
		VolumeMounts: []corev1.VolumeMount{{Name: homeVolume, MountPath: Home}},
	}
	if s.GPUs > 0 {
		res := corev1.ResourceName(s.GPUResource)
		if res == "" {
			res = "nvidia.com/gpu"
		}
		ctr.Resources.Limits = corev1.ResourceList{res: *resource.NewQuantity(s.GPUs, resource.DecimalSI)}
	}
	tmpl := wfv1.Template{Name: Step, Container: ctr, Metadata: wfv1.Metadata{Labels: map[string]string{LabelIDE: s.Name}}}
	for i, m := range s.Mounts {
		tmpl.Inputs.Artifacts = append(tmpl.Inputs.Artifacts, wfv1.Artifact{Name: "mount-" + strconv.Itoa(i), Path: Home + "/" + m.Path,
			ArtifactLocation: wfv1.ArtifactLocation{S3: &wfv1.S3Artifact{Key: m.Key}}})
	}
	wf := &wfv1.Workflow{
		TypeMeta:   metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Workflow"},
		ObjectMeta: metav1.ObjectMeta{GenerateName: "ide-" + s.Name + "-", Labels: map[string]string{LabelIDE: s.Name}},
		Spec: wfv1.WorkflowSpec{
			Entrypoint: Step,
			Arguments: wfv1.Arguments{Parameters: []wfv1.Parameter{
				{Name: PortParam, Value: wfv1.AnyStringPtr(strconv.Itoa(port))}, {Name: TokenParam, Value: wfv1.AnyStringPtr("")}}},
			Volumes:   []corev1.Volume{{Name: homeVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
			Templates: []wfv1.Template{tmpl},
		},
	}
	return wf, nil
}

// WithArguments sets the workflow's port and token.
func WithArguments(wf *wfv1.Workflow, port int, token string) {
	for i, p := range wf.Spec.Arguments.Parameters {
		switch p.Name {
		case PortParam:
			wf.Spec.Arguments.Parameters[i].Value = wfv1.AnyStringPtr(strconv.Itoa(port))
		case TokenParam:
			wf.Spec.Arguments.Parameters[i].Value = wfv1.AnyStringPtr(token)
		}
	}
}
