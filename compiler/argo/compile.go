package argo

import (
	"cmp"
	"fmt"
	"sort"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/kubeflow/pipelines/api/v2alpha1/go/pipelinespec"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeline/kubeline/compiler/kfp"
	"github.com/kubeline/kubeline/compiler/spec"
)

// Paths and names of the launcher contract (see the package doc).
const (
	BinDir        = "/kubeline/bin"
	Launcher      = BinDir + "/kubeline"
	InputsDir     = "/kubeline/in"
	OutputsDir    = "/kubeline/out"
	TaskParam     = "kubeline-task"
	binVolume     = "kubeline-bin"
	outVolume     = "kubeline-out"
	workspacePath = "/kfp-workspace"
	workspaceVol  = "kfp-workspace"
	// DefaultImage is the kubeline image whose init container brings the
	// launcher into every pod.
	DefaultImage = "ghcr.io/kubeline/kubeline:latest"
	// ArtifactSuffix names the descriptor parameter of an artifact that
	// crosses a loop boundary.
	ArtifactSuffix = "-artifact"
)

// Labels and annotations kubeline puts on compiled workflows.
const (
	LabelPipeline      = "kubeline.io/pipeline"
	AnnotationCompiler = "kubeline.io/compiled-from"
)

// InputArtifactKey is the repository key of pipeline input artifact name.
func InputArtifactKey(name string) string { return "kubeline/{{workflow.name}}/inputs/" + name }

// Options tune a compilation.
type Options struct {
	// Params override pipeline parameters (root input parameters) by name.
	Params map[string]string
	// ParamsField is where Params came from, for errors naming one:
	// "--param" (the CLI's flag) when empty; the API server says
	// "runtime_config.parameters".
	ParamsField string
	// Image is the kubeline image for the init container and kubeline's own
	// steps; DefaultImage when empty.
	Image string
	// Images is the image catalog: the names image://NAME may use and
	// their image references. An image://NAME not there is an error naming
	// the task.
	Images map[string]string
	// DeferImages leaves image://NAME as it is, for a compilation that
	// only validates (a stored pipeline, whose runs resolve it in their
	// group's catalog).
	DeferImages bool
}

type compiler struct {
	p        *kfp.Pipeline
	opts     Options
	errs     spec.Errors
	wf       *wfv1.Workflow
	tmplKeys map[string]string // content (JSON) -> template name
	// unkeyed holds, by print, the shared templates not in tmplKeys yet
	// (indexes into wf.Spec.Templates); keyed marks prints whose templates
	// are all in tmplKeys (see addShared).
	unkeyed map[uint64][]int
	keyed   map[uint64]bool
	names   map[string]bool // template names in use
	// needDescriptor marks component outputs whose artifact must also travel as
	// a descriptor parameter: "component/output".
	needDescriptor map[string]bool
	execs          map[string]*pipelinespec.PipelineDeploymentConfig_ExecutorSpec
	// usedInputs caches usedInputs by container: tasks share executors.
	usedInputs map[*containerSpec]map[string]bool
}

// Compile turns p into one Argo Workflow. All problems are reported together.
func Compile(p *kfp.Pipeline, opts Options) (*wfv1.Workflow, error) {
	if opts.Image == "" {
		opts.Image = DefaultImage
	}
	c := &compiler{
		p: p, opts: opts,
		tmplKeys:       map[string]string{},
		unkeyed:        map[uint64][]int{},
		keyed:          map[uint64]bool{},
		names:          map[string]bool{},
		needDescriptor: map[string]bool{},
		execs:          p.Deployment.GetExecutors(),
		usedInputs:     map[*containerSpec]map[string]bool{},
	}
	c.markDescriptors()
	c.wf = &wfv1.Workflow{
		TypeMeta: metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Workflow"},
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: dns1123(p.Name, 50) + "-",
			Labels:       map[string]string{LabelPipeline: dns1123(p.Name, 63)},
		},
		Spec: wfv1.WorkflowSpec{Entrypoint: kfp.RootName},
	}
	// The root's template goes first, when its DAG is compiled (last);
	// the slice is made at a size that usually holds every template.
	n := 2
	for _, d := range p.DAGs {
		n += len(d.Order)
	}
	c.wf.Spec.Templates = make([]wfv1.Template, 1, n)
	c.arguments()
	c.runtime()
	c.names[kfp.RootName] = true
	c.dagTemplate(kfp.RootName, p.Spec.GetRoot(), kfp.RootName)
	if len(c.errs) > 0 {
		return nil, c.errs.Err()
	}
	sort.SliceStable(c.wf.Spec.Templates[1:], func(i, j int) bool {
		return c.wf.Spec.Templates[i+1].Name < c.wf.Spec.Templates[j+1].Name
	})
	return c.wf, nil
}

// arguments declares the root input parameters as workflow arguments.
func (c *compiler) arguments() {
	root := c.p.Spec.GetRoot().GetInputDefinitions()
	names := sortedKeys(root.GetParameters())
	for _, name := range names {
		def := root.GetParameters()[name]
		prm := wfv1.Parameter{Name: name}
		if v, ok := c.opts.Params[name]; ok {
			prm.Value = wfv1.AnyStringPtr(Literal(v))
			if err := CheckParamValue(v, def.GetParameterType()); err != nil {
				c.errs.Add(spec.Named(cmp.Or(c.opts.ParamsField, "--param"), name), nil, "%v: the pipeline declares %s %s", err, name, def.GetParameterType())
			}
		} else if def.GetDefaultValue() != nil {
			prm.Value = wfv1.AnyStringPtr(Literal(encodeValue(def.GetDefaultValue(), def.GetParameterType())))
		} else if def.GetIsOptional() {
			prm.Value = wfv1.AnyStringPtr("")
		}
		c.wf.Spec.Arguments.Parameters = append(c.wf.Spec.Arguments.Parameters, prm)
	}
	for name := range c.opts.Params {
		if _, ok := root.GetParameters()[name]; !ok {
			c.errs.Add(spec.Named(cmp.Or(c.opts.ParamsField, "--param"), name), nil, "the pipeline has no parameter %q (it has: %s)", name, strings.Join(names, ", "))
		}
	}
	// Pipeline input artifacts are workflow argument artifacts at a key-only
	// location in the artifact repository, where the run's submitter puts them
	// (or overrides the location when submitting).
	for _, name := range sortedKeys(root.GetArtifacts()) {
		c.wf.Spec.Arguments.Artifacts = append(c.wf.Spec.Arguments.Artifacts, wfv1.Artifact{Name: name,
			ArtifactLocation: wfv1.ArtifactLocation{S3: &wfv1.S3Artifact{Key: InputArtifactKey(name)}},
			// An optional input nobody put there is absent, not an error.
			Optional: root.GetArtifacts()[name].GetIsOptional()})
	}
}

// tmplName returns a fresh template name derived from base.
func (c *compiler) tmplName(base string) string {
	base = strings.TrimPrefix(base, "comp-")
	base = strings.TrimPrefix(base, "exec-")
	base = dns1123(base, 55)
	name := base
	for i := 2; c.names[name]; i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	c.names[name] = true
	return name
}

// dns1123 lowercases s and keeps [a-z0-9-], at most max characters.
func dns1123(s string, max int) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '-' || r == '_' || r == '.' || r == ' ':
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > max {
		out = strings.Trim(out[:max], "-")
	}
	if out == "" {
		out = "pipeline"
	}
	return out
}
