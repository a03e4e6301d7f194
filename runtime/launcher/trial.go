package launcher

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	artstore "github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/hpo"
)

// Trial makes a step part of an experiment's trial: the launcher reads the
// step's metric reports (Katib's StdOut, File or Push collector, and KFP
// metrics outputs), applies medianstop while the command runs, and records
// the reports for the trial's observe step.
type Trial struct {
	Name   string
	Config hpo.Config
}

// Experiment records are objects in the artifact store under
// kubeline/hpo/WORKFLOW_UID/: trials/NAME.json (one hpo.Record per trial),
// tasks/TRIAL/TASK-ID.json (one step's reports) and status.json (the
// experiment's status in Katib's shape). They go wherever the run's
// artifacts go (a local directory or S3), so a compiled experiment needs
// nothing else on Argo.
type records struct {
	objects artstore.Store
	prefix  string
}

// RecordsPrefix is where the records of the experiment run as workflow uid
// live.
func RecordsPrefix(uid string) string { return "kubeline/hpo/" + uid + "/" }

func (o *Options) records() (records, error) {
	if o.Pipeline.JobUID == "" {
		return records{}, errors.New("experiment records need the workflow uid (KUBELINE_WORKFLOW_UID)")
	}
	objects, err := o.objects()
	if err != nil {
		return records{}, err
	}
	return records{objects: objects, prefix: RecordsPrefix(o.Pipeline.JobUID)}, nil
}

// objects is the artifact store: Objects, or the directory of a file://
// ArtifactRoot.
func (o *Options) objects() (artstore.Store, error) {
	if o.Objects != nil {
		return o.Objects, nil
	}
	root, ok := strings.CutPrefix(o.ArtifactRoot, "file://")
	if !ok {
		return nil, fmt.Errorf("no artifact store is configured and %q is not a local root", o.ArtifactRoot)
	}
	return artstore.Dir{Root: root}, nil
}

// The records' reads and writes are sent again while the store's server
// could not be reached (artifact.RetryUnreached): an experiment's steps run
// in pods whose first connections a loaded node may drop, and one lost
// connection would otherwise end a trial or lose its observation.

func (r records) put(ctx context.Context, rel string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return artstore.RetryUnreached(ctx, func() error {
		_, err := r.objects.Put(ctx, r.prefix+rel, bytes.NewReader(b), int64(len(b)))
		return err
	})
}

func (r records) get(ctx context.Context, key string, v any) error {
	var b []byte
	err := artstore.RetryUnreached(ctx, func() error {
		rc, _, err := r.objects.Get(ctx, key)
		if err != nil {
			return err
		}
		defer rc.Close()
		if b, err = io.ReadAll(rc); err != nil {
			return fmt.Errorf("read %s: %w", key, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	return nil
}

func (r records) list(ctx context.Context, prefix string) ([]artstore.Object, error) {
	var objs []artstore.Object
	err := artstore.RetryUnreached(ctx, func() error {
		var err error
		objs, err = r.objects.List(ctx, prefix)
		return err
	})
	return objs, err
}

// TaskReport is what one step of a trial reported.
type TaskReport struct {
	Metrics      map[string][]float64 `json:"metrics"`
	EarlyStopped bool                 `json:"earlyStopped,omitempty"`
}

// ReadRecords returns the trial records of the experiment run as workflow
// uid, in the order the trials were created.
func ReadRecords(ctx context.Context, objects artstore.Store, uid string) ([]hpo.Record, error) {
	return records{objects: objects, prefix: RecordsPrefix(uid)}.trials(ctx)
}

// ReadStatus returns the experiment's status as its last suggest step wrote it.
func ReadStatus(ctx context.Context, objects artstore.Store, uid string) (hpo.Status, error) {
	var st hpo.Status
	err := records{objects: objects, prefix: RecordsPrefix(uid)}.get(ctx, RecordsPrefix(uid)+"status.json", &st)
	return st, err
}

// ReadExperiment returns an experiment run's trial records and status
// (apiserver.ExperimentRecords): before its first suggest step wrote a
// status, the status is empty, not an error.
func ReadExperiment(ctx context.Context, objects artstore.Store, uid string) ([]hpo.Record, hpo.Status, error) {
	recs, err := ReadRecords(ctx, objects, uid)
	if err != nil {
		return nil, hpo.Status{}, err
	}
	st, err := ReadStatus(ctx, objects, uid)
	if errors.Is(err, artstore.ErrNotFound) {
		err = nil
	}
	return recs, st, err
}

func (r records) trials(ctx context.Context) ([]hpo.Record, error) {
	objs, err := r.list(ctx, r.prefix+"trials/")
	if err != nil {
		return nil, fmt.Errorf("read trial records: %w", err)
	}
	var out []hpo.Record
	for _, o := range objs {
		if !strings.HasSuffix(o.Key, ".json") {
			continue
		}
		var rec hpo.Record
		if err := r.get(ctx, o.Key, &rec); err != nil {
			return nil, fmt.Errorf("read trial record: %w", err)
		}
		out = append(out, rec)
	}
	sort.SliceStable(out, func(i, j int) bool { return trialIndex(out[i].Name) < trialIndex(out[j].Name) })
	return out, nil
}

// trialIndex is N of a trial named EXPERIMENT-N.
func trialIndex(name string) int {
	n, _ := strconv.Atoi(name[strings.LastIndex(name, "-")+1:])
	return n
}

// The suggest step's output parameters, and the key of a trial's name in
// each item of SuggestTrials (the parameters' values are under their own
// names). compiler/hpo compiles the same names into the workflow.
const (
	SuggestTrials = "hpo-trials"
	SuggestDone   = "hpo-done"
	TrialItem     = "kubeline-trial"
)

// RunSuggest is an experiment's suggest step: it reads the finished trials,
// applies the end rules (hpo.Decide), writes status.json and, when the
// experiment goes on, creates the next trials' records and writes them to
// OutputsDir/hpo-trials (a JSON list for withParam: one map per trial with
// its name under TrialItem and each parameter's value under the parameter's
// name) with hpo-done false.
// An experiment that failed is an error naming the reason, and so is a
// trial of an earlier round that was never observed (allObserved).
func RunSuggest(c hpo.Config, opts Options) error {
	ctx := context.Background()
	rs, err := opts.records()
	if err != nil {
		return err
	}
	records, err := rs.trials(ctx)
	if err != nil {
		return err
	}
	if err := allObserved(records); err != nil {
		return fmt.Errorf("experiment %s: %w", c.Name, err)
	}
	phase, next, st, err := hpo.Decide(c, records)
	if err != nil {
		return fmt.Errorf("experiment %s: %w", c.Name, err)
	}
	if err := rs.put(ctx, "status.json", st); err != nil {
		return fmt.Errorf("write experiment status: %w", err)
	}
	props := []map[string]string{}
	for i, a := range next {
		name := fmt.Sprintf("%s-%d", c.Name, len(records)+i+1)
		if err := rs.put(ctx, "trials/"+name+".json", hpo.Record{Name: name, Params: a, State: hpo.Running}); err != nil {
			return fmt.Errorf("create trial %s: %w", name, err)
		}
		item := map[string]string{TrialItem: name}
		for k, v := range a {
			item[k] = v
		}
		props = append(props, item)
	}
	b, _ := json.Marshal(props)
	if err := os.MkdirAll(opts.OutputsDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(opts.OutputsDir, SuggestTrials), b, 0o644); err != nil {
		return err
	}
	done := strconv.FormatBool(phase != hpo.Continue)
	if err := os.WriteFile(filepath.Join(opts.OutputsDir, SuggestDone), []byte(done), 0o644); err != nil {
		return err
	}
	last := st.Conditions[len(st.Conditions)-1]
	fmt.Fprintf(opts.Stdout, "experiment %s: %s (%s) — %s\n", c.Name, last.Type, last.Reason, last.Message)
	if phase == hpo.Fail {
		return fmt.Errorf("experiment %s failed: %s: %s", c.Name, last.Reason, last.Message)
	}
	return nil
}

// allObserved checks that every trial so far has ended. A suggest step
// runs after every trial of the rounds before it was observed (compiler/hpo
// orders it so), so a record still Running is an observation that was lost
// or has not landed: suggesting from it would take an ended trial for a
// running one and diverge from what ran.
func allObserved(records []hpo.Record) error {
	var open []string
	for _, r := range records {
		if !r.Finished() {
			open = append(open, r.Name)
		}
	}
	if len(open) > 0 {
		return fmt.Errorf("trial %s has no observation: its observe step did not record how it ended, so no next trial can be suggested", strings.Join(open, ", "))
	}
	return nil
}

// RunObserve is a trial's observe step: it merges the reports its steps
// recorded and ends the trial record (hpo.Observe). pipelinePhase is the
// Argo phase of the trial's pipeline.
func RunObserve(c hpo.Config, trial, pipelinePhase string, opts Options) error {
	ctx := context.Background()
	rs, err := opts.records()
	if err != nil {
		return err
	}
	var r hpo.Record
	if err := rs.get(ctx, rs.prefix+"trials/"+trial+".json", &r); err != nil {
		return fmt.Errorf("observe trial %s: %w", trial, err)
	}
	objs, err := rs.list(ctx, rs.prefix+"tasks/"+trial+"/")
	if err != nil {
		return fmt.Errorf("observe trial %s: %w", trial, err)
	}
	r.Metrics = map[string][]float64{}
	stopped := false
	for _, o := range objs {
		var tr TaskReport
		if err := rs.get(ctx, o.Key, &tr); err != nil {
			return fmt.Errorf("observe trial %s: %w", trial, err)
		}
		for m, vs := range tr.Metrics {
			r.Metrics[m] = append(r.Metrics[m], vs...)
		}
		stopped = stopped || tr.EarlyStopped
	}
	r = hpo.Observe(c, r, pipelinePhase == "Succeeded", stopped)
	if err := rs.put(ctx, "trials/"+trial+".json", r); err != nil {
		return fmt.Errorf("observe trial %s: %w", trial, err)
	}
	fmt.Fprintf(opts.Stdout, "trial %s %s %s=%g\n", trial, r.State, c.Objective, r.Value)
	return nil
}

// trialCollector watches one step of a trial.
type trialCollector struct {
	t         *Trial
	col       *hpo.Collector
	completed []hpo.Trial
	minTrials int
	startStep int
	stop      context.CancelFunc

	mu      sync.Mutex
	report  TaskReport
	stopped bool
	partial []byte
}

func newTrialCollector(t *Trial, opts *Options, stop context.CancelFunc) (*trialCollector, error) {
	col, err := hpo.NewCollector(t.Config)
	if err != nil {
		return nil, err
	}
	tc := &trialCollector{t: t, col: col, stop: stop, report: TaskReport{Metrics: map[string][]float64{}}}
	if t.Config.EarlyStop {
		if tc.minTrials, tc.startStep, err = hpo.MedianStopSettings(t.Config.MedianStop); err != nil {
			return nil, err
		}
		rs, err := opts.records()
		if err != nil {
			return nil, err
		}
		records, err := rs.trials(context.Background())
		if err != nil {
			return nil, err
		}
		for _, r := range records {
			if r.Finished() {
				tc.completed = append(tc.completed, r.Trial(t.Config.Objective))
			}
		}
	}
	return tc, nil
}

// Write scans the step's output for metric reports, line by line.
func (tc *trialCollector) Write(p []byte) (int, error) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	tc.partial = append(tc.partial, p...)
	for {
		i := bytes.IndexByte(tc.partial, '\n')
		if i < 0 {
			break
		}
		tc.line(string(tc.partial[:i]))
		tc.partial = tc.partial[i+1:]
	}
	return len(p), nil
}

func (tc *trialCollector) line(l string) {
	for _, m := range tc.col.Line(l) {
		v, _ := strconv.ParseFloat(m.Value, 64)
		tc.add(m.Name, v)
	}
}

func (tc *trialCollector) add(name string, v float64) {
	tc.report.Metrics[name] = append(tc.report.Metrics[name], v)
	c := tc.t.Config
	if !c.EarlyStop || tc.stopped || name != c.Objective {
		return
	}
	running := hpo.Trial{Name: tc.t.Name, State: hpo.Running, Reports: tc.report.Metrics[name]}
	if hpo.ShouldStop(running, tc.completed, c.Direction, tc.minTrials, tc.startStep) {
		tc.stopped = true
		tc.stop()
	}
}

// open opens the collector's file. A sandboxed step's is read beneath its
// working or outputs directory only, through no symlink, and must be a
// regular file (openBeneath): the server reads nothing else for it.
func (tc *trialCollector) open(path string, opts *Options) (*os.File, error) {
	if opts.Sandbox == nil {
		return os.Open(path)
	}
	dir, rel, ok := under(path, opts.WorkDir, opts.OutputsDir)
	if !ok {
		return nil, fmt.Errorf("%s is outside the step's working directory: a sandboxed trial's metrics file lies in it: %w", path, ErrRefused)
	}
	return openBeneath(dir, rel)
}

// readFile reads the File or Push collector's file after the command ended:
// TEXT lines through the metrics formats, or JSON lines {"metric": value}.
func (tc *trialCollector) readFile(path string, opts *Options) error {
	f, err := tc.open(path, opts)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read metrics file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		tc.mu.Lock()
		if tc.t.Config.FileFormat == "JSON" {
			var obj map[string]any
			if json.Unmarshal(sc.Bytes(), &obj) == nil {
				for _, k := range []string{tc.t.Config.Objective} {
					if v, ok := number(obj[k]); ok {
						tc.add(k, v)
					}
				}
				for _, k := range tc.t.Config.Additional {
					if v, ok := number(obj[k]); ok {
						tc.add(k, v)
					}
				}
			}
		} else {
			tc.line(sc.Text())
		}
		tc.mu.Unlock()
	}
	return sc.Err()
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}

// metricsArtifacts adds the numeric metadata of the step's system.Metrics
// outputs (KFP's log_metric) as reports.
func (tc *trialCollector) metricsArtifacts(arts map[string]*artifact) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	for _, a := range arts {
		if a.Type != "system.Metrics" {
			continue
		}
		for _, k := range append([]string{tc.t.Config.Objective}, tc.t.Config.Additional...) {
			if v, ok := number(a.Metadata[k]); ok {
				tc.add(k, v)
			}
		}
	}
}

// save writes the step's report where the trial's observe step reads it.
func (tc *trialCollector) save(opts *Options) error {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if len(tc.partial) > 0 {
		tc.line(string(tc.partial))
		tc.partial = nil
	}
	tc.report.EarlyStopped = tc.stopped
	rs, err := opts.records()
	if err != nil {
		return err
	}
	id := opts.Pipeline.TaskUID
	if id == "" {
		id = opts.Pipeline.Pod
	}
	return rs.put(context.Background(), "tasks/"+tc.t.Name+"/"+opts.Task+"-"+id+".json", tc.report)
}

var _ io.Writer = (*trialCollector)(nil)

// startTrial sets up metric collection for a trial's step: StdOut reports
// are read as the command writes them; Push gives the command a file
// (KUBELINE_TRIAL_METRICS) to append reports to.
func startTrial(opts *Options, stop context.CancelFunc) (*trialCollector, error) {
	tc, err := newTrialCollector(opts.Trial, opts, stop)
	if err != nil {
		return nil, fmt.Errorf("trial %s: %w", opts.Trial.Name, err)
	}
	switch opts.Trial.Config.Collector {
	case "File":
	case "Push":
		f := filepath.Join(opts.OutputsDir, ".kfp", "trial-metrics")
		opts.Env = append(opts.Env, "KUBELINE_TRIAL_METRICS="+f)
	default:
		opts.Stdout = io.MultiWriter(opts.Stdout, tc)
	}
	return tc, nil
}

// finish records the step's reports after it ran. A step stopped by
// medianstop succeeds: the trial is EarlyStopped, not failed.
func (tc *trialCollector) finish(opts *Options, s *step, runErr error) error {
	c := opts.Trial.Config
	if tc.stopped {
		fmt.Fprintf(opts.Stdout, "trial %s stopped early by medianstop: %s is worse than the median of completed trials\n", opts.Trial.Name, c.Objective)
		runErr = nil
	} else {
		file := ""
		switch c.Collector {
		case "File":
			file = c.MetricsFile
			if !filepath.IsAbs(file) {
				file = filepath.Join(opts.WorkDir, file)
			}
		case "Push":
			file = filepath.Join(opts.OutputsDir, ".kfp", "trial-metrics")
		}
		if file != "" {
			if err := tc.readFile(file, opts); err != nil && runErr == nil {
				runErr = err
			}
		}
		if runErr == nil {
			tc.metricsArtifacts(s.outArts)
		}
	}
	if err := tc.save(opts); err != nil {
		return errors.Join(runErr, fmt.Errorf("record the reports of trial %s: %w", opts.Trial.Name, err))
	}
	return runErr
}

// RunHPOStep runs an experiment's suggest or observe step.
func RunHPOStep(inv *Invocation, opts Options) error {
	if inv.HPOStep == "observe" {
		return RunObserve(inv.Trial.Config, inv.Trial.Name, inv.TrialStatus, opts)
	}
	return RunSuggest(inv.Trial.Config, opts)
}
