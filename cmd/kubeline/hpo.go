package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/spf13/cobra"

	"github.com/kubeline/kubeline/compiler"
	chpo "github.com/kubeline/kubeline/compiler/hpo"
	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/engine/local"
	"github.com/kubeline/kubeline/runtime/hpo"
	"github.com/kubeline/kubeline/runtime/launcher"
)

// hpoRunOptions are the flags of `kubeline hpo run`.
type hpoRunOptions struct {
	file, plot, output string
	server             endpoint
	arts               storeFlags
	grace              time.Duration
}

// newHPOCmd is `kubeline hpo run FILE`: compile an Experiment into its one
// Workflow, run it on the embedded engine with a live table of trials, print
// the status in Katib's shape and write the SVG plot.
func newHPOCmd(s streams, g *globalFlags) *cobra.Command {
	var o hpoRunOptions
	runCmd := &cobra.Command{
		Use:   "run EXPERIMENT.yaml",
		Short: "run a Katib-style Experiment on the embedded engine",
		Long: `Run compiles a kind: Experiment into one Argo Workflow (suggest, trials, observe, again) and runs it
on the embedded engine: a table of trials as they start and end, the experiment's condition, the
best trial, and an SVG plot of the objective per trial. Exit 1 when the experiment fails.`,
		Args: exactArgs("EXPERIMENT.yaml"),
		RunE: func(_ *cobra.Command, args []string) error {
			o.file = args[0]
			e, err := g.optionalServer()
			if err != nil {
				return reportErr(s, "kubeline hpo run", err)
			}
			o.server = e
			return code(o.run(s.out, s.errOut))
		},
	}
	f := runCmd.Flags()
	f.StringVar(&o.plot, "plot", "", "write the objective-per-trial plot to this `FILE` (default $KUBELINE_HOME/runs/WORKFLOW/NAME.svg, the run's directory)")
	addOutputFlag(runCmd, &o.output, "table", "json", "yaml")
	o.arts.register(f)
	f.DurationVar(&o.grace, "grace", 10*time.Second, "on Ctrl-C, time between SIGTERM and SIGKILL of running steps")
	return group("hpo", "hyperparameter experiments (Katib's Experiment, compiled into one workflow)", g.addTo(runCmd))
}

func (o *hpoRunOptions) run(stdout, stderr io.Writer) int {
	wf, cfg, err := compileExperiment(o.file, o.server)
	if err != nil {
		fmt.Fprintf(stderr, "kubeline hpo run %s:\n%v\n", o.file, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	home := kubelineHome()
	t := &trialTable{w: stderr, cfg: cfg, shown: map[string]hpo.TrialState{}}
	objects, err := o.arts.open(ctx, home)
	if err != nil {
		fmt.Fprintf(stderr, "kubeline hpo run: %v\n", err)
		return 1
	}
	var logs strings.Builder
	var logMu sync.Mutex
	e := local.New(local.Options{Home: home, StopGrace: o.grace, Logs: lockedWriter{&logMu, &logs}, Env: stepEnv(),
		Store:    objects,
		OnUpdate: func(w *wfv1.Workflow) { t.update(ctx, objects, string(w.UID)) }})
	done, err := e.Run(ctx, wf)
	if err != nil {
		fmt.Fprintf(stderr, "kubeline hpo run %s: %v\n", o.file, err)
		return 1
	}
	uid := string(done.UID)
	t.update(ctx, objects, uid)
	records, err := launcher.ReadRecords(context.WithoutCancel(ctx), objects, uid)
	if err != nil {
		fmt.Fprintf(stderr, "kubeline hpo run: %v\n", err)
		return 1
	}
	st, _ := launcher.ReadStatus(context.WithoutCancel(ctx), objects, uid)
	if o.plot == "" {
		// Beside the run's other state, never in the working directory.
		o.plot = filepath.Join(home, "runs", done.Name, cfg.Name+".svg")
		err = os.MkdirAll(filepath.Dir(o.plot), 0o755)
	}
	if err == nil {
		err = os.WriteFile(o.plot, hpo.PlotSVG(cfg, records), 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "kubeline hpo run: write plot: %v\n", err)
		return 1
	}
	if o.output != "table" {
		_ = printOutput(stdout, o.output, struct {
			Workflow string     `json:"workflow"`
			Status   hpo.Status `json:"status"`
		}{done.Name, st}, nil)
	} else {
		printExperiment(stdout, cfg, st, done, o.plot)
	}
	if done.Status.Phase != wfv1.WorkflowSucceeded {
		fmt.Fprintf(stderr, "experiment workflow %s %s%s\n", done.Name, done.Status.Phase, failureDetail(done))
		logMu.Lock()
		fmt.Fprint(stderr, lastLines(logs.String(), 20))
		logMu.Unlock()
		return 1
	}
	return 0
}

// compileExperiment compiles an Experiment file into its workflow and
// reads back the experiment the workflow carries.
func compileExperiment(file string, server endpoint) (*wfv1.Workflow, hpo.Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, hpo.Config{}, err
	}
	wf, err := compiler.Compile(filepath.Base(file), data, compiler.Options{BaseDir: filepath.Dir(file), PipelineVersion: pipelineVersionFrom(server)})
	if err != nil {
		return nil, hpo.Config{}, err
	}
	if wf.Labels[chpo.LabelExperiment] == "" {
		return nil, hpo.Config{}, fmt.Errorf("not an Experiment (kind: Experiment, apiVersion: kubeline.io/v1alpha1)")
	}
	cfg, err := hpo.ParseExperiment([]byte(wf.Spec.Arguments.Parameters[0].Value.String()))
	return wf, cfg, err
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func lastLines(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}

func printExperiment(w io.Writer, cfg hpo.Config, st hpo.Status, wf *wfv1.Workflow, plot string) {
	if n := len(st.Conditions); n > 0 {
		c := st.Conditions[n-1]
		fmt.Fprintf(w, "experiment %s %s (%s): %s\n", cfg.Name, c.Type, c.Reason, c.Message)
	}
	fmt.Fprintf(w, "trials %d: succeeded %d, failed %d, early stopped %d, metrics unavailable %d (workflow %s %s)\n",
		st.Trials, st.TrialsSucceeded, st.TrialsFailed, st.TrialsEarlyStopped, st.TrialMetricsUnavailable, wf.Name, wf.Status.Phase)
	if o := st.CurrentOptimalTrial; o.BestTrialName != "" {
		var ps []string
		for _, p := range o.ParameterAssignments {
			ps = append(ps, p.Name+"="+p.Value)
		}
		var ms []string
		for _, m := range o.Observation.Metrics {
			ms = append(ms, fmt.Sprintf("%s min %s max %s latest %s", m.Name, m.Min, m.Max, m.Latest))
		}
		fmt.Fprintf(w, "best trial %s: %s; %s\n", o.BestTrialName, strings.Join(ps, " "), strings.Join(ms, "; "))
	}
	fmt.Fprintf(w, "plot: %s\n", plot)
}

// trialTable prints the trials as they are created and as they end: one
// row per change.
type trialTable struct {
	mu     sync.Mutex
	w      io.Writer
	cfg    hpo.Config
	header bool
	shown  map[string]hpo.TrialState
}

func (t *trialTable) update(ctx context.Context, objects artifact.Store, uid string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	records, err := launcher.ReadRecords(ctx, objects, uid)
	if err != nil {
		return
	}
	for _, r := range records {
		if t.shown[r.Name] == r.State {
			continue
		}
		t.shown[r.Name] = r.State
		if !t.header {
			fmt.Fprintf(t.w, "%-24s %-18s %-14s %s\n", "TRIAL", "STATE", strings.ToUpper(t.cfg.Objective), "PARAMETERS")
			t.header = true
		}
		value := "-"
		if vs := r.Metrics[t.cfg.Objective]; len(vs) > 0 {
			value = fmt.Sprintf("%.6g", r.Value)
		}
		var ps []string
		for _, p := range t.cfg.Space {
			ps = append(ps, p.Name+"="+r.Params[p.Name])
		}
		fmt.Fprintf(t.w, "%-24s %-18s %-14s %s\n", r.Name, r.State, value, strings.Join(ps, " "))
	}
}
