package launcher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/kubeflow/pipelines/api/v2alpha1/go/pipelinespec"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	artstore "github.com/kubeline/kubeline/runtime/artifact"
)

// Options is one step's launch: the flags of `kubeline launch` plus where the
// step runs.
type Options struct {
	// Task is the KFP task name.
	Task string
	// Component is the component interface (inputDefinitions, outputDefinitions).
	Component *pipelinespec.ComponentSpec
	// Inputs are the --in NAME=VALUE values as Argo passed them.
	Inputs map[string]string
	// Command is the KFP command and args, placeholders unresolved.
	Command []string
	// InputsDir holds input artifacts (NAME/...); OutputsDir receives outputs.
	InputsDir, OutputsDir string
	// WorkDir is the command's working directory; Env its environment
	// (KEY=VALUE, added to nothing: pass os.Environ() to inherit).
	WorkDir string
	Env     []string
	// Stdout and Stderr receive the command's output.
	Stdout, Stderr io.Writer
	// Pipeline identifies the run for pipeline-level placeholders.
	Pipeline PipelineInfo
	// ArtifactRoot prefixes output artifact URIs (e.g. minio://mlpipeline or
	// file:///home/me/.kubeline/artifacts).
	ArtifactRoot string
	// Grace is how long the command gets between SIGTERM and SIGKILL when
	// ctx is cancelled; 10s when zero.
	Grace time.Duration
	// LocalURIs makes every artifact's URI its local path, as kfp.local does:
	// the embedded engine runs steps on this machine, where a component that
	// opens its artifact's .uri must find the file. Not for the builtin
	// Python executor, which gets the URIs where the artifacts are stored
	// and their local paths apart (pythonPaths), on both engines.
	LocalURIs bool
	// Python says how KFP lightweight Python components run.
	Python PythonEnv
	// Resolve maps an artifact URI to a local path, for artifacts that arrive
	// as descriptors (lists, loop outputs). Nil handles file:// only.
	Resolve func(uri string) (string, error)
	// Trial, when set, makes the step part of an experiment's trial.
	Trial *Trial
	// Objects is the artifact store experiment records go to; nil means
	// the local directory of a file:// ArtifactRoot.
	Objects artstore.Store
	// Track, when set, is told of every process the step starts.
	Track Tracker
	// Sandbox, when set, isolates every command the step runs (a
	// multi-user server's embedded engine): the commands run wrapped, and
	// their outputs are read only after Seal. Python components then use
	// the builtin executor (never a venv made on the host).
	Sandbox Sandbox
}

// Sandbox isolates the commands of one step (runtime/sandbox implements
// it).
type Sandbox interface {
	// Wrap rewrites cmd, built to run on the host, to run isolated;
	// readOnly are further host paths it reads.
	Wrap(cmd *exec.Cmd, readOnly ...string) error
	// Seal is called when a wrapped command has ended, before anything
	// it wrote is read; an error fails the step.
	Seal() error
}

// ErrRefused is a URI the step may not read here (a host path outside the
// import root of a multi-user server, another run's artifact).
var ErrRefused = errors.New("refused")

// ErrElsewhere is a URI no reader of this step's reaches (another store, a
// scheme kubeline does not read): an importer records it without its
// content. Any other error reading a URI fails the importer.
var ErrElsewhere = errors.New("not readable here")

// Terminate makes cmd a pod-like process: it leads its own process group,
// which cancelling cmd's context stops the way a pod is stopped (SIGTERM,
// then SIGKILL after grace, 10s when zero), and on Linux it is killed when
// the process that started it dies. Run it with RunProcess, which also
// kills what is left of the group when it ends, as a pod's end does.
func Terminate(cmd *exec.Cmd, grace time.Duration) {
	if grace == 0 {
		grace = 10 * time.Second
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	dieWithParent(cmd)
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		pgid := cmd.Process.Pid
		time.AfterFunc(grace, func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })
		return syscall.Kill(-pgid, syscall.SIGTERM)
	}
	cmd.WaitDelay = grace
}

// PipelineInfo fills the pipeline-level placeholders.
type PipelineInfo struct {
	JobName, JobUID, CreateTime, ScheduleTime, TaskUID, Pod, Root, Workspace string
}

// ExitError is a user command that exited non-zero. Reason, when set, says
// what is known to have caused it.
type ExitError struct {
	Code   int
	Reason string
}

func (e *ExitError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("command exited with code %d: %s", e.Code, e.Reason)
	}
	return fmt.Sprintf("command exited with code %d", e.Code)
}

// artifact is one artifact as the step sees it.
type artifact struct {
	Name     string         `json:"name,omitempty"`
	Type     string         `json:"type,omitempty"`
	URI      string         `json:"uri"`
	Metadata map[string]any `json:"metadata,omitempty"`
	Path     string         `json:"-"`
}

type step struct {
	opts          *Options
	params        map[string]*structpb.Value
	inArts        map[string][]*artifact
	outParamFiles map[string]string
	outArts       map[string]*artifact
	execOutput    string
	execInput     string
	// localURIs gives artifacts their local paths as URIs in executor_input,
	// for Python executors that derive .path from .uri.
	localURIs bool
	// readOnly are host paths every command of the step reads (its code
	// trees), read-only in a sandbox.
	readOnly []string
}

// Run launches one step: it resolves the inputs, runs the command and writes
// the outputs. A failed command is an *ExitError.
func Run(ctx context.Context, opts Options) error {
	var tc *trialCollector
	if opts.Trial != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		var err error
		if tc, err = startTrial(&opts, cancel); err != nil {
			return err
		}
	}
	s := &step{opts: &opts, params: map[string]*structpb.Value{}, inArts: map[string][]*artifact{},
		outParamFiles: map[string]string{}, outArts: map[string]*artifact{}, localURIs: opts.LocalURIs}
	err := s.run(ctx)
	if tc != nil {
		return tc.finish(&opts, s, err)
	}
	return err
}

func (s *step) run(ctx context.Context) error {
	opts := s.opts
	if err := s.inputs(); err != nil {
		return err
	}
	if err := s.codeDirs(); err != nil {
		return err
	}
	if err := s.prepareOutputs(); err != nil {
		return err
	}
	if lw := parseLightweight(opts.Command); lw != nil {
		ran, err := s.runPython(ctx, lw)
		if ran {
			if err != nil {
				return err
			}
			return s.collectOutputs()
		}
	}
	args, err := s.resolveArgs(opts.Command)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return errors.New("no command to run")
	}
	name := args[0]
	if opts.Sandbox == nil {
		name = commandPath(opts.Env, name)
	}
	cmd := exec.CommandContext(ctx, name, args[1:]...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = opts.WorkDir, opts.Env, opts.Stdout, opts.Stderr
	if err := s.runCommand(cmd); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return &ExitError{Code: exitCode(ee), Reason: s.explainFailure(args)}
		}
		return fmt.Errorf("run %s: %w", args[0], err)
	}
	return s.collectOutputs()
}

// runCommand runs one of the step's commands: stoppable like a pod, and in
// the step's sandbox when there is one (sealed when it ends).
func (s *step) runCommand(cmd *exec.Cmd, readOnly ...string) error {
	Terminate(cmd, s.opts.Grace)
	if s.opts.Sandbox == nil {
		return RunProcess(cmd, s.opts.Track)
	}
	readOnly = append(readOnly, s.readOnly...)
	if err := s.opts.Sandbox.Wrap(cmd, readOnly...); err != nil {
		return err
	}
	err := RunProcess(cmd, s.opts.Track)
	if serr := s.opts.Sandbox.Seal(); serr != nil && (err == nil || !isExit(err)) {
		return serr
	}
	return err
}

func isExit(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee)
}

// inputs decodes input parameters by their declared types and finds input
// artifacts.
func (s *step) inputs() error {
	defs := s.opts.Component.GetInputDefinitions()
	var errs []string
	for name, def := range defs.GetParameters() {
		raw, ok := s.opts.Inputs[name]
		switch {
		case ok && def.GetParameterType() == pipelinespec.ParameterType_TASK_FINAL_STATUS:
			v, err := s.finalStatus(raw)
			if err != nil {
				errs = append(errs, fmt.Sprintf("input %q: %v", name, err))
				continue
			}
			s.params[name] = v
		case ok:
			// Values may hold pipeline placeholders ({{$.pipeline_task_name}},
			// ...), which the KFP driver resolves before the step runs.
			raw = DecodeLiteral(s.pipelinePlaceholders(raw))
			v, err := decodeParam(raw, def.GetParameterType())
			if err != nil {
				errs = append(errs, fmt.Sprintf("input %q: %v", name, err))
				continue
			}
			s.params[name] = v
		case def.GetDefaultValue() != nil:
			s.params[name] = def.GetDefaultValue()
		case def.GetIsOptional():
		default:
			errs = append(errs, fmt.Sprintf("required input %q has no value", name))
		}
	}
	for name, def := range defs.GetArtifacts() {
		arts, err := s.inputArtifact(name, def)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if arts != nil {
			s.inArts[name] = arts
		} else if !def.GetIsOptional() {
			errs = append(errs, fmt.Sprintf("required input artifact %q is missing", name))
		}
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return fmt.Errorf("inputs of task %q: %s", s.opts.Task, strings.Join(errs, "; "))
	}
	return nil
}

// finalStatus builds KFP's PipelineTaskFinalStatus from the compiler's
// {"state": <Argo phase>, "pipelineTaskName": ...}.
func (s *step) finalStatus(raw string) (*structpb.Value, error) {
	var in struct {
		State            string `json:"state"`
		PipelineTaskName string `json:"pipelineTaskName"`
	}
	if err := json.Unmarshal([]byte(raw), &in); err != nil {
		return nil, fmt.Errorf("want the task final status as JSON: %w", err)
	}
	state := map[string]string{"Succeeded": "SUCCEEDED", "Failed": "FAILED", "Error": "FAILED", "Skipped": "SKIPPED", "Omitted": "SKIPPED"}[in.State]
	if state == "" {
		state = strings.ToUpper(in.State)
	}
	st := map[string]any{"state": state, "pipelineJobResourceName": s.opts.Pipeline.JobName, "pipelineTaskName": in.PipelineTaskName, "error": map[string]any{}}
	if state == "FAILED" {
		st["error"] = map[string]any{"code": 2, "message": fmt.Sprintf("task %s %s", in.PipelineTaskName, strings.ToLower(in.State))}
	}
	return structpb.NewValue(st)
}

// inputArtifact finds input artifact name: a directory written by a kubeline
// step (data + metadata.json), a plain file or directory, or a descriptor.
func (s *step) inputArtifact(name string, def *pipelinespec.ComponentInputsSpec_ArtifactSpec) ([]*artifact, error) {
	typ := def.GetArtifactType().GetSchemaTitle()
	if raw, ok := s.opts.Inputs[name+"-artifact"]; ok {
		return s.descriptors(name, typ, raw)
	}
	dir := filepath.Join(s.opts.InputsDir, name)
	fi, err := os.Stat(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("input artifact %q: %w", name, err)
	}
	a := &artifact{Name: name, Type: typ, Path: dir, URI: "file://" + dir}
	if fi.IsDir() {
		if b, err := os.ReadFile(filepath.Join(dir, "metadata.json")); err == nil {
			if err := json.Unmarshal(b, a); err != nil {
				return nil, fmt.Errorf("input artifact %q: metadata.json: %w", name, err)
			}
			a.Path = filepath.Join(dir, "data")
		}
	}
	if a.Type == "" {
		a.Type = typ
	}
	return []*artifact{a}, nil
}

// descriptors reads an artifact (list) passed as JSON descriptors; a list of
// lists (a loop over list outputs) is flattened.
func (s *step) descriptors(name, typ, raw string) ([]*artifact, error) {
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return nil, fmt.Errorf("input artifact %q: descriptor: %w", name, err)
	}
	var flat []any
	var walk func(any)
	walk = func(x any) {
		if l, ok := x.([]any); ok {
			for _, e := range l {
				walk(e)
			}
			return
		}
		if str, ok := x.(string); ok { // Argo aggregates JSON outputs as strings
			var inner any
			if json.Unmarshal([]byte(str), &inner) == nil {
				walk(inner)
				return
			}
		}
		flat = append(flat, x)
	}
	walk(v)
	var out []*artifact
	for _, d := range flat {
		b, _ := json.Marshal(d)
		a := &artifact{}
		if err := json.Unmarshal(b, a); err != nil || a.URI == "" {
			return nil, fmt.Errorf("input artifact %q: descriptor %s has no uri", name, b)
		}
		if a.Type == "" {
			a.Type = typ
		}
		p, err := s.resolve(a.URI)
		if err != nil {
			return nil, fmt.Errorf("input artifact %q: %w", name, err)
		}
		a.Path = p
		out = append(out, a)
	}
	return out, nil
}

func (s *step) resolve(uri string) (string, error) {
	if s.opts.Resolve != nil {
		return s.opts.Resolve(uri)
	}
	if p, ok := strings.CutPrefix(uri, "file://"); ok {
		return p, nil
	}
	if filepath.IsAbs(uri) {
		return uri, nil
	}
	return "", fmt.Errorf("cannot read %s here: no artifact store configured: %w", uri, ErrElsewhere)
}

// prepareOutputs creates output directories and assigns URIs and files.
func (s *step) prepareOutputs() error {
	out := s.opts.OutputsDir
	kfpDir := filepath.Join(out, ".kfp")
	if err := os.MkdirAll(filepath.Join(kfpDir, "parameters"), 0o755); err != nil {
		return fmt.Errorf("create outputs directory: %w", err)
	}
	defs := s.opts.Component.GetOutputDefinitions()
	for name := range defs.GetParameters() {
		s.outParamFiles[name] = filepath.Join(kfpDir, "parameters", name)
	}
	for name, def := range defs.GetArtifacts() {
		dir := filepath.Join(out, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create output artifact %q: %w", name, err)
		}
		// URI is where the artifact is stored; with localURIs the step
		// is shown Path instead (runtimeArtifacts, artifactAttr).
		s.outArts[name] = &artifact{Name: name, Type: def.GetArtifactType().GetSchemaTitle(), Path: filepath.Join(dir, "data"),
			URI: s.outputURI(name), Metadata: map[string]any{}}
	}
	s.execOutput = filepath.Join(kfpDir, "executor_output.json")
	return nil
}

// outputURI is where output artifact name lands in the artifact repository:
// the compiled workflow's key kubeline/WORKFLOW/POD/NAME, plus /data.
func (s *step) outputURI(name string) string {
	root := strings.TrimSuffix(s.opts.ArtifactRoot, "/")
	if root == "" {
		root = "minio://mlpipeline"
	}
	return fmt.Sprintf("%s/kubeline/%s/%s/%s/data", root, s.opts.Pipeline.JobName, s.opts.Pipeline.Pod, name)
}

func runtimeArtifacts(arts []*artifact, localURIs bool) []*pipelinespec.RuntimeArtifact {
	out := make([]*pipelinespec.RuntimeArtifact, len(arts))
	for i, a := range arts {
		md, _ := structpb.NewStruct(a.Metadata)
		uri := a.URI
		if localURIs {
			uri = a.Path
		}
		out[i] = &pipelinespec.RuntimeArtifact{Name: a.Name, Uri: uri, Metadata: md,
			Type: &pipelinespec.ArtifactTypeSchema{Kind: &pipelinespec.ArtifactTypeSchema_SchemaTitle{SchemaTitle: a.Type}}}
	}
	return out
}

// executorInputJSON is KFP's executor_input for {{$}}.
func (s *step) executorInputJSON() (string, error) {
	if s.execInput != "" {
		return s.execInput, nil
	}
	in := &pipelinespec.ExecutorInput{
		Inputs:  &pipelinespec.ExecutorInput_Inputs{ParameterValues: s.params, Artifacts: map[string]*pipelinespec.ArtifactList{}},
		Outputs: &pipelinespec.ExecutorInput_Outputs{Parameters: map[string]*pipelinespec.ExecutorInput_OutputParameter{}, Artifacts: map[string]*pipelinespec.ArtifactList{}, OutputFile: s.execOutput},
	}
	for name, arts := range s.inArts {
		in.Inputs.Artifacts[name] = &pipelinespec.ArtifactList{Artifacts: runtimeArtifacts(arts, s.localURIs)}
	}
	for name, f := range s.outParamFiles {
		in.Outputs.Parameters[name] = &pipelinespec.ExecutorInput_OutputParameter{OutputFile: f}
	}
	for name, a := range s.outArts {
		in.Outputs.Artifacts[name] = &pipelinespec.ArtifactList{Artifacts: runtimeArtifacts([]*artifact{a}, s.localURIs)}
	}
	b, err := protojson.Marshal(in)
	if err != nil {
		return "", fmt.Errorf("build executor_input: %w", err)
	}
	s.execInput = string(b)
	return s.execInput, nil
}

// pipelinePlaceholders replaces the pipeline-level placeholders in v.
func (s *step) pipelinePlaceholders(v string) string {
	if !strings.Contains(v, "{{$.") {
		return v
	}
	for k, val := range s.pipelineValues() {
		v = strings.ReplaceAll(v, "{{$"+k+"}}", val)
	}
	return v
}

func (s *step) pipelineValues() map[string]string {
	p := s.opts.Pipeline
	ws := p.Workspace
	if ws == "" {
		ws = "/kfp-workspace"
	}
	return map[string]string{
		".pipeline_job_name": p.JobName, ".pipeline_job_resource_name": p.JobName, ".pipeline_job_uuid": p.JobUID,
		".pipeline_task_name": s.opts.Task, ".pipeline_task_uuid": p.TaskUID, ".pipeline_root": p.Root,
		".pipeline_job_create_time_utc": p.CreateTime, ".pipeline_job_schedule_time_utc": p.ScheduleTime,
		".workspace_path": ws,
		// KFP's PIPELINE_TASK_EXECUTOR_OUTPUT_PATH_PLACEHOLDER: where the
		// command writes executor_output.json (output artifacts' metadata).
		".outputs.output_file": s.execOutput,
	}
}

// explainFailure recognises a KFP lightweight Python component (its command
// runs kfp.dsl.executor_main) whose python3 has no kfp package — offline, the
// component's own pip install of kfp fails first — and says so.
func (s *step) explainFailure(args []string) string {
	if !strings.Contains(strings.Join(args, " "), "kfp.dsl.executor_main") {
		return ""
	}
	py := "python3" // found on the sandbox's PATH
	if s.opts.Sandbox == nil {
		var err error
		if py, err = exec.LookPath("python3"); err != nil {
			return "this KFP lightweight Python component needs python3, and there is none on PATH"
		}
	}
	check := exec.Command(py, "-c", "import kfp")
	check.Env = s.opts.Env
	if s.runCommand(check) == nil {
		return ""
	}
	return fmt.Sprintf("this KFP lightweight Python component needs the kfp package, and %s has no kfp package (its pip install of kfp failed or could not run): install kfp into that interpreter", py)
}
