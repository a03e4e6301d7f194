package apiserver

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kubeline/kubeline/compiler/deploy"
	"github.com/kubeline/kubeline/runtime/featureset"
	"github.com/kubeline/kubeline/runtime/lineage"
	"github.com/kubeline/kubeline/runtime/monitor"
	"github.com/kubeline/kubeline/runtime/store"
)

// NotifyPredictions tells the monitors that deployments have new recorded
// predictions (the recorder calls it after each batch); it never blocks.
func (s *Server) NotifyPredictions(deployments []string) {
	if s.mon == nil {
		return
	}
	s.mon.mu.Lock()
	for _, d := range deployments {
		s.mon.due[d] = true
	}
	s.mon.mu.Unlock()
	select {
	case s.mon.wake <- struct{}{}:
	default:
	}
}

// Monitor evaluates the monitors of the deployments with new predictions
// until ctx ends: every complete window, in order.
func (s *Server) Monitor(ctx context.Context) {
	if s.mon == nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.mon.wake:
		}
		s.mon.mu.Lock()
		due := s.mon.due
		s.mon.due = map[string]bool{}
		s.mon.mu.Unlock()
		for dep := range due {
			ms, err := s.store.ListMonitors(ctx, nil, dep)
			if err != nil {
				s.tel.log.Warn("monitors: list", "deployment", dep, "err", err)
				continue
			}
			for _, m := range ms {
				if err := s.evaluate(ctx, m.Name); err != nil {
					s.tel.log.Warn("monitor: evaluate", "monitor", m.Name, "err", err)
				}
			}
		}
	}
}

// evaluate evaluates a monitor's complete windows, one after another.
func (s *Server) evaluate(ctx context.Context, name string) error {
	for {
		m, err := s.store.GetMonitor(ctx, name)
		if err != nil {
			return err
		}
		if s.holderOf(ctx, m.Deployment) != groupOf(m.Group) {
			return nil // the deployment is gone, or another group's now: not this monitor's traffic
		}
		d, err := monitorSpec(m)
		if err != nil {
			return err
		}
		size := d.Spec.Window.Requests
		ps, err := s.store.Predictions(ctx, m.Deployment, m.LastSeq, size)
		if err != nil || len(ps) < size {
			return err
		}
		if err := s.closeWindow(ctx, m, d, ps); err != nil {
			return err
		}
	}
}

// windowOf turns recorded predictions into a window of the monitor's
// features.
func windowOf(features []monitor.Feature, ps []store.Prediction) monitor.Window {
	w := monitor.Window{Sample: monitor.Sample{}, Requests: len(ps)}
	for _, p := range ps {
		w.Latencies = append(w.Latencies, float64(p.Latency.Microseconds())/1000)
		if p.Status == 0 || p.Status >= 400 {
			w.Failed++
			continue
		}
		var in, out []any
		_ = json.Unmarshal([]byte(p.Inputs), &in)
		_ = json.Unmarshal([]byte(p.Outputs), &out)
		for _, row := range in {
			w.Sample.Add(features, false, row)
		}
		for _, row := range out {
			w.Sample.Add(features, true, row)
		}
	}
	return w
}

// evalSpec maps a Monitor onto runtime/monitor's spec.
func evalSpec(d *deploy.Monitor) monitor.Spec {
	var sp monitor.Spec
	for _, f := range d.Spec.Features {
		sp.Features = append(sp.Features, monitor.Feature{Name: f.Name, Type: monitor.Type(f.Type)})
	}
	for _, f := range d.Spec.Predictions {
		sp.Features = append(sp.Features, monitor.Feature{Name: f.Name, Type: monitor.Type(f.Type), Output: true})
	}
	for _, g := range d.Spec.Drift {
		sp.Drift = append(sp.Drift, monitor.Drift{Metric: g.Metric, Goal: monitor.Goal{Goal: g.Goal, Tolerance: g.Tolerance}, Features: g.Features})
	}
	if l := d.Spec.Latency; l != nil {
		sp.Latency = &monitor.Latency{Percentile: l.Percentile, Goal: monitor.Goal{Goal: l.Goal, Tolerance: l.Tolerance}}
	}
	if e := d.Spec.ErrorRate; e != nil {
		sp.ErrorRate = &monitor.Goal{Goal: e.Goal, Tolerance: e.Tolerance}
	}
	sp.Bins = d.Spec.Bins
	return sp
}

// windowRecord is what a window stores: its result, the model versions
// that answered, and (for a traffic baseline's windows) its sample.
type windowRecord struct {
	monitor.Result
	Models   map[string]int `json:"models"`
	Baseline string         `json:"baseline"`
	Error    string         `json:"error,omitempty"`
	Sample   monitor.Sample `json:"sample,omitempty"`
}

// closeWindow evaluates one window against the baseline, raises and
// clears alerts, and starts the action when an alert was raised.
func (s *Server) closeWindow(ctx context.Context, m store.Monitor, d *deploy.Monitor, ps []store.Prediction) error {
	sp := evalSpec(d)
	w := windowOf(sp.Features, ps)
	idx := m.Windows + 1
	rec := windowRecord{Models: map[string]int{}}
	for _, p := range ps {
		rec.Models[p.Model]++
	}
	base, desc, err := s.baselineOf(ctx, m, d, idx)
	var raised, cleared []store.Alert
	switch {
	case errors.Is(err, errTrafficBaseline):
		rec.Baseline, rec.Sample = desc, w.Sample // this window is part of the baseline
	case err != nil:
		rec.Error = "baseline: " + err.Error()
	default:
		rec.Baseline = desc
		rec.Result = monitor.Evaluate(sp, base, w)
		raised, cleared, err = s.alertChanges(ctx, m.Name, rec.Result.Measures)
		if err != nil {
			return err
		}
	}
	result, _ := json.Marshal(rec)
	win := store.MonitorWindow{Monitor: m.Name, Index: idx, FirstSeq: ps[0].Seq, LastSeq: ps[len(ps)-1].Seq, ClosedAt: time.Now(),
		Baseline: rec.Baseline, Result: string(result)}
	if err := s.store.SaveWindow(ctx, win, raised, cleared); err != nil {
		return err
	}
	if len(raised) > 0 {
		s.startAction(ctx, m, d, idx)
	}
	return nil
}

// alertChanges turns a window's measures into the alerts it raises and
// clears.
func (s *Server) alertChanges(ctx context.Context, name string, ms []monitor.Measure) (raised, cleared []store.Alert, err error) {
	as, err := s.store.Alerts(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	active := map[monitor.Key]bool{}
	for _, a := range as {
		if a.ClearedWindow == 0 {
			active[monitor.Key{Metric: a.Metric, Feature: a.Feature}] = true
		}
	}
	up, down := monitor.Changes(active, ms)
	for _, m := range up {
		raised = append(raised, store.Alert{Metric: m.Metric, Feature: m.Feature, Value: m.Value, Limit: m.Goal + m.Tolerance})
	}
	for _, m := range down {
		cleared = append(cleared, store.Alert{Metric: m.Metric, Feature: m.Feature, ClearedValue: m.Value})
	}
	return raised, cleared, nil
}

// errTrafficBaseline: the window being closed is one of a traffic
// baseline's.
var errTrafficBaseline = errors.New("the window is part of the traffic baseline")

type cachedBaseline struct {
	from   string
	sample monitor.Sample
}

// baselineOf is the sample a monitor's window idx is compared with, and
// what it was read from (e.g. "dataset d@v2 (lineage of m@v2)").
func (s *Server) baselineOf(ctx context.Context, m store.Monitor, d *deploy.Monitor, idx int) (monitor.Sample, string, error) {
	b := d.Spec.Baseline
	if t := b.Traffic; t != nil {
		return s.trafficBaseline(ctx, m, t.Windows, idx)
	}
	ref := "dataset:" + b.Dataset
	if b.Featureset != "" {
		ref = "featureset:" + b.Featureset
	}
	how := strings.Replace(ref, ":", " ", 1)
	if b.Lineage != nil {
		var err error
		if ref, err = s.lineageDataset(ctx, m, b.Lineage.Dataset); err != nil {
			return nil, "", err
		}
		how = fmt.Sprintf("%s (lineage of %s)", strings.Replace(ref, ":", " ", 1), s.servedModel(ctx, m.Deployment))
	}
	if c, ok := s.mon.baselines.Load(m.Name); ok && c.(cachedBaseline).from == ref {
		return c.(cachedBaseline).sample, how, nil
	}
	sample, err := s.datasetBaseline(ctx, m, d, ref)
	if err != nil {
		return nil, "", err
	}
	s.mon.baselines.Store(m.Name, cachedBaseline{from: ref, sample: sample})
	return sample, how, nil
}

// trafficBaseline is the union of the first n windows' samples; while
// fewer are closed, the window being closed joins them.
func (s *Server) trafficBaseline(ctx context.Context, m store.Monitor, n, idx int) (monitor.Sample, string, error) {
	how := fmt.Sprintf("traffic: windows 1..%d", n)
	if idx <= n {
		return nil, how, errTrafficBaseline
	}
	key := fmt.Sprintf("traffic/%d", n)
	if c, ok := s.mon.baselines.Load(m.Name); ok && c.(cachedBaseline).from == key {
		return c.(cachedBaseline).sample, how, nil
	}
	ws, err := s.store.Windows(ctx, m.Name, 1, n)
	if err != nil {
		return nil, "", err
	}
	sample := monitor.Sample{}
	for _, w := range ws {
		var rec windowRecord
		if err := json.Unmarshal([]byte(w.Result), &rec); err != nil {
			return nil, "", fmt.Errorf("window %d: %w", w.Index, err)
		}
		for f, c := range rec.Sample {
			all := sample[f]
			all.Numbers = append(all.Numbers, c.Numbers...)
			all.Labels = append(all.Labels, c.Labels...)
			sample[f] = all
		}
	}
	s.mon.baselines.Store(m.Name, cachedBaseline{from: key, sample: sample})
	return sample, how, nil
}

// servedModel is the newest model version a deployment serves: its
// canary's when it has one.
func (s *Server) servedModel(ctx context.Context, deployment string) string {
	if st, err := s.serving.Get(deployment); err == nil {
		if st.Canary != "" {
			return st.Canary
		}
		return st.Model
	}
	if cd, err := s.store.GetClusterDeployment(ctx, deployment); err == nil {
		return cd.Model
	}
	return ""
}

// lineageDataset is the training data of the served model, KIND:NAME@vN:
// the featureset version in its lineage (the features it was trained
// on), else the dataset version; the one named when there are several.
func (s *Server) lineageDataset(ctx context.Context, m store.Monitor, want string) (string, error) {
	served := s.servedModel(ctx, m.Deployment)
	name, n, ok := deploy.ParseModel(served)
	if !ok || n == 0 {
		return "", fmt.Errorf("deployment %s serves no model version kubeline knows (%q): give spec.baseline.dataset", m.Deployment, served)
	}
	g, err := s.lineageOf(ctx, lineage.Version{Kind: lineage.KindModel, Name: name, Version: n}, true)
	if err != nil {
		return "", err
	}
	var found []string
	for _, kind := range []lineage.Kind{lineage.KindFeatureSet, lineage.KindDataset} {
		for _, node := range g.Of(kind) {
			ref := strings.TrimPrefix(node.ID, string(kind)+":")
			if dn, _, _ := strings.Cut(ref, "@"); want == "" || dn == want {
				found = append(found, string(kind)+":"+ref)
			}
		}
		if len(found) > 0 {
			break
		}
	}
	switch {
	case len(found) == 0 && want != "":
		return "", fmt.Errorf("the lineage of %s has no featureset or dataset %s", served, want)
	case len(found) == 0:
		return "", fmt.Errorf("the lineage of %s has no featureset or dataset: give spec.baseline.dataset", served)
	case len(found) > 1:
		return "", fmt.Errorf("the lineage of %s has %s: name the training one in spec.baseline.lineage.dataset", served, strings.Join(found, ", "))
	}
	return found[0], nil
}

// datasetBaseline reads a dataset or featureset version (ref is
// KIND:NAME@vN) of the monitor's group: a CSV file whose header names the
// features, or JSON lines (one object a row).
func (s *Server) datasetBaseline(ctx context.Context, m store.Monitor, d *deploy.Monitor, ref string) (monitor.Sample, error) {
	kind, nameRef, _ := strings.Cut(ref, ":")
	name, n, _ := deploy.ParseModel(nameRef)
	v, err := s.store.GetArtifactVersion(ctx, kind, name, n)
	if err == nil && groupOf(v.Group) != groupOf(m.Group) {
		err = store.MissingVersion(kind, name, n)
	}
	if err != nil {
		return nil, err
	}
	if s.materializer == nil {
		return nil, fmt.Errorf("this server reads no dataset contents")
	}
	path, err := s.materializer.Materialize(ctx, v, filepath.Join(s.servingDir, "baselines"))
	if err != nil {
		return nil, err
	}
	what := kind + " " + nameRef
	file, err := csvIn(path, d.Spec.Baseline.File)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	sample, err := readBaseline(file, evalSpec(d).Features)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", what, filepath.Base(file), err)
	}
	return sample, nil
}

// readBaseline reads a baseline file: JSON lines (by featureset's rule: a
// .jsonl/.ndjson/.json name or a first '{'), else CSV.
func readBaseline(file string, feats []monitor.Feature) (monitor.Sample, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if format, err := featureset.FormatOf(file); err != nil {
		return nil, err
	} else if format == featureset.ParquetFmt {
		return nil, fmt.Errorf("a Parquet baseline is not read by monitors: CSV or JSON lines")
	} else if format == featureset.JSONLines {
		sample := monitor.Sample{}
		dec := json.NewDecoder(f)
		for {
			var row map[string]any
			if err := dec.Decode(&row); err == io.EOF {
				return sample, nil
			} else if err != nil {
				return nil, err
			}
			sample.Add(feats, false, row)
			sample.Add(feats, true, row)
		}
	}
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, err
	}
	return monitor.FromTable(feats, rows)
}

// csvIn finds the baseline file of a version's content: the content when
// it is one file, else the named file in it or its only .csv file.
func csvIn(path, name string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return path, nil
	}
	if name != "" {
		p := filepath.Join(path, filepath.Clean("/"+name))
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("spec.baseline.file %q: %w", name, err)
		}
		return p, nil
	}
	found, _ := filepath.Glob(filepath.Join(path, "*.csv"))
	if all, _ := os.ReadDir(path); len(found) == 0 && len(all) == 1 && all[0].Type().IsRegular() {
		return filepath.Join(path, all[0].Name()), nil // a version of one file
	}
	if len(found) != 1 {
		return "", fmt.Errorf("the version holds %d .csv files: name one in spec.baseline.file", len(found))
	}
	return found[0], nil
}
