package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/kubeline/kubeline/compiler"
	"github.com/kubeline/kubeline/compiler/argo"
	"github.com/kubeline/kubeline/compiler/imagebuild"
	"github.com/kubeline/kubeline/runtime/engine"
	"github.com/kubeline/kubeline/runtime/engine/local"
	"github.com/kubeline/kubeline/runtime/launcher"
	"github.com/kubeline/kubeline/runtime/versioning"
)

type runOptions struct {
	file    string
	params  paramFlag
	outputs paramFlag
	db      string
	arts    storeFlags
	engine  engineFlags
	output  string
	home    string
	grace   time.Duration
	python  string
	noCache bool
	// server, when set (--server), is where the run goes instead.
	server endpoint
	remote submitOptions
}

// newRunCmd is `kubeline run FILE`: compile (or read an Argo Workflow), run on
// the embedded engine, show progress, print the outputs.
func newRunCmd(s streams, g *globalFlags) *cobra.Command {
	o := runOptions{params: paramFlag{}, outputs: paramFlag{}}
	c := &cobra.Command{
		Use:   "run FILE",
		Short: "compile a pipeline and run it here (embedded engine) or on Argo",
		Long: `Run compiles a KFP pipeline (or takes an Argo Workflow file as it is) and runs it on the embedded
engine: one line per step on stderr, the pipeline's outputs on stdout; exit 0 only if the run
Succeeded. Ctrl-C stops the run (SIGTERM, then SIGKILL after --grace). When a server is configured
(--server, $KUBELINE_SERVER or a context) the run goes there and is followed to its end.`,
		Example: `  kubeline run examples/hello-params/pipeline.yaml --param recipient=you`,
		Args:    exactArgs("FILE"),
		RunE: func(c *cobra.Command, args []string) error {
			o.file = args[0]
			e, err := g.endpoint()
			if err != nil {
				return reportErr(s, "kubeline run", err)
			}
			if e.server != localName && e.from != "the default" {
				// A configured server runs it, as every resource command goes there.
				for _, f := range []string{"engine", "cluster", "kubeconfig", "context", "namespace", "db", "artifacts", "python-executor", "no-cache", "grace"} {
					if !c.Flags().Changed(f) {
						continue
					}
					if e.from == "--server" {
						return usagef("--%s is for a run here; with --server the server decides", f)
					}
					return usagef("--%s is for a run here, but the run goes to the server %s (from %s); add --server local to run it here", f, e.server, e.from)
				}
				o.server = e
			} else if c.Flags().Changed("detach") || c.Flags().Changed("start-anyway") {
				return usagef("--detach and --start-anyway are for a run on a server: name one with --server URL, $KUBELINE_SERVER or a context")
			}
			return code(o.run(s.out, s.errOut))
		},
	}
	f := c.Flags()
	f.Var(o.params, "param", "set pipeline parameter `NAME=VALUE` (repeatable)")
	f.Var(o.outputs, "version", "make output `TASK.OUTPUT=dataset:NAME` (or model:NAME) a version when the run succeeds (repeatable)")
	o.arts.register(f)
	o.engine.register(f)
	f.StringVar(&o.db, "db", "", "metadata store `URL` for runs and versions: postgres://... or a SQLite file (default $KUBELINE_HOME/kubeline.db)")
	addOutputFlag(c, &o.output, "table", "json", "yaml")
	f.StringVar(&o.python, "python-executor", launcher.PythonAuto,
		"how KFP lightweight Python components run: auto (a reused venv when one can be made, else builtin), builtin, venv, or command (their own pip install)")
	f.BoolVar(&o.noCache, "no-cache", false, "turn KFP step caching off: every step runs")
	f.DurationVar(&o.grace, "grace", 10*time.Second, "on Ctrl-C, time between SIGTERM and SIGKILL of running steps")
	f.BoolVar(&o.remote.detach, "detach", false, "with --server: print the run's id once it is created, do not follow it")
	f.BoolVar(&o.remote.startAnyway, "start-anyway", false, "with --server: start at once whatever GPUs are free (admission's start_anyway)")
	f.DurationVar(&o.remote.poll, "poll", time.Second, "with --server: how often the run's state is read")
	c.Flags().Lookup("poll").Hidden = true
	g.addTo(c)
	c.Flags().Lookup("server").Usage = "submit the run to the kubeline server at `URL` (its token: --token, $KUBELINE_TOKEN or a context) and follow it; " +
		"local runs it here (default $KUBELINE_SERVER, else the current context's server, else here)"
	return c
}

// run runs the pipeline and returns the exit code.
func (o *runOptions) run(stdout, stderr io.Writer) int {
	if o.engine.engine != "local" && o.engine.engine != "argo" {
		fmt.Fprintf(stderr, "kubeline run: --engine %q: want local or argo\n", o.engine.engine)
		return exitUsage
	}
	switch o.python {
	case launcher.PythonAuto, launcher.PythonBuiltin, launcher.PythonVenv, launcher.PythonCommand:
	default:
		fmt.Fprintf(stderr, "kubeline run: --python-executor %q: want auto, builtin, venv or command\n", o.python)
		return exitUsage
	}
	o.home = kubelineHome()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	wf, err := o.load()
	if err == nil {
		if err = versioning.CheckOutputs(wf, o.outputs); err != nil {
			err = errors.New("--version " + strings.ReplaceAll(err.Error(), "\n", "\n--version "))
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "kubeline run %s:\n%v\n", o.file, err)
		return 1
	}
	if o.server.server != "" {
		if wf.Labels[argo.LabelPipeline] == "" {
			fmt.Fprintf(stderr, "kubeline run %s --server: only a KFP pipeline can be submitted to a server\n", o.file)
			return exitFailure
		}
		return o.submit(ctx, newAPIClient(o.server), stdout, stderr)
	}
	st, err := openStore(ctx, o.home, o.db)
	if err != nil {
		fmt.Fprintf(stderr, "kubeline run: open the metadata store: %v\n", err)
		return 1
	}
	defer st.Close()
	if err := o.engine.useCluster(ctx, st); err != nil {
		fmt.Fprintf(stderr, "kubeline run: %v\n", err)
		return 1
	}
	objects, err := o.arts.open(ctx, o.home)
	if err != nil {
		fmt.Fprintf(stderr, "kubeline run: %v\n", err)
		return 1
	}
	versioner := &versioning.Versioner{Objects: objects, Records: st}
	if err := versioner.Resolve(ctx, wf); err != nil {
		fmt.Fprintf(stderr, "kubeline run %s: %v\n", o.file, err)
		return 1
	}
	p := newProgress(stderr)
	var done *wfv1.Workflow
	if o.engine.engine == "argo" {
		done, err = o.engine.run(ctx, wf, objects, p.update)
	} else {
		e := local.New(local.Options{Home: o.home, Store: objects, Logs: p.logs(), OnNodes: p.nodes, StopGrace: o.grace, PythonExecutor: o.python, NoCache: o.noCache, Env: stepEnv(),
			Protected: storeFiles(cmp.Or(o.db, filepath.Join(o.home, "kubeline.db")))})
		done, err = e.Run(ctx, wf)
	}
	p.close()
	if err != nil {
		fmt.Fprintf(stderr, "kubeline run %s: %v\n", o.file, err)
		return 1
	}
	_, rec, recErr := recordLocalRun(context.WithoutCancel(ctx), st, versioner, o.file, done, o.outputs)
	if o.output != "table" {
		_ = printOutput(stdout, o.output, done, nil)
	} else {
		printResult(stdout, done)
		printRecorded(stdout, rec)
	}
	if recErr != nil {
		fmt.Fprintf(stderr, "kubeline run %s: %v\n", o.file, recErr)
		return 1
	}
	if done.Status.Phase != wfv1.WorkflowSucceeded {
		fmt.Fprintf(stderr, "workflow %s %s%s\n", done.Name, done.Status.Phase, failureDetail(done))
		return 1
	}
	return 0
}

// load compiles a KFP file, or takes an Argo Workflow file as it is.
func (o *runOptions) load() (*wfv1.Workflow, error) {
	data, err := os.ReadFile(o.file)
	if err != nil {
		return nil, err
	}
	var probe struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
	}
	if yaml.Unmarshal(data, &probe) == nil && probe.Kind == "Workflow" && strings.HasPrefix(probe.APIVersion, "argoproj.io/") {
		wf := &wfv1.Workflow{}
		if err := yaml.UnmarshalStrict(data, wf); err != nil {
			return nil, fmt.Errorf("read Argo Workflow: %w", err)
		}
		for name, v := range o.params {
			found := false
			for i, p := range wf.Spec.Arguments.Parameters {
				if p.Name == name {
					wf.Spec.Arguments.Parameters[i].Value = wfv1.AnyStringPtr(v)
					found = true
				}
			}
			if !found {
				return nil, fmt.Errorf("--param %s: the workflow has no such argument", name)
			}
		}
		return wf, nil
	}
	opts := compiler.Options{Params: o.params, BaseDir: filepath.Dir(o.file)}
	if o.server.server != "" {
		opts.DeferImages = true // the server resolves them in the run's group
	} else if opts.Images, err = catalogImages(context.Background(), data, endpoint{}, o.home, ""); err != nil {
		return nil, err
	}
	wf, err := compiler.Compile(filepath.Base(o.file), data, opts)
	if err == nil && wf.Labels[imagebuild.LabelBuild] != "" && o.engine.engine != "argo" {
		return nil, fmt.Errorf("kind: ImageBuild builds with BuildKit in a pod: run it with --engine argo (the embedded engine has no container runtime to build with); `kubeline compile %s` validates it here", o.file)
	}
	return wf, err
}

// kubelineHome is $KUBELINE_HOME, default ~/.kubeline.
func kubelineHome() string {
	if h := os.Getenv("KUBELINE_HOME"); h != "" {
		return h
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".kubeline")
	}
	return ".kubeline"
}

// printResult prints the workflow's outputs.
func printResult(w io.Writer, wf *wfv1.Workflow) {
	fmt.Fprintf(w, "workflow %s %s in %s\n", wf.Name, wf.Status.Phase,
		wf.Status.FinishedAt.Sub(wf.Status.StartedAt.Time).Round(time.Millisecond))
	if out := wf.Status.Outputs; out != nil {
		for _, p := range out.Parameters {
			if p.Value != nil {
				fmt.Fprintf(w, "output %s = %s\n", p.Name, launcher.DecodeLiteral(p.Value.String()))
			}
		}
		for _, a := range out.Artifacts {
			if a.S3 != nil {
				fmt.Fprintf(w, "output %s = artifact %s\n", a.Name, a.S3.Key)
			}
		}
	}
}

// failureDetail names the failed steps and their messages.
func failureDetail(wf *wfv1.Workflow) string {
	var parts []string
	if wf.Status.Message != "" {
		parts = append(parts, wf.Status.Message)
	}
	if steps := engine.FailedSteps(wf); steps != "" {
		parts = append(parts, steps)
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, "; ")
}
