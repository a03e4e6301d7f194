package deploy

import (
	"math"
	"regexp"

	"gopkg.in/yaml.v3"

	"github.com/kubeline/kubeline/compiler/spec"
)

// Monitor is kubeline's Monitor kind: a deployment's predictions watched
// against a baseline, goals and an action.
type Monitor struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec MonitorSpec `json:"spec"`
}

// MonitorSpec is what a monitor watches and does.
type MonitorSpec struct {
	// Deployment is the watched deployment's name.
	Deployment string `json:"deployment"`
	// SampleRate is the share of requests recorded, in (0, 1] (1 when
	// unset).
	SampleRate *float64 `json:"sampleRate,omitempty"`
	Window     Window   `json:"window"`
	Baseline   Baseline `json:"baseline"`
	// Features are the model's inputs, Predictions its outputs.
	Features    []MonitoredFeature `json:"features"`
	Predictions []MonitoredFeature `json:"predictions,omitempty"`
	// Bins is the number of equal-count bins of a numeric baseline (PSI).
	Bins      int            `json:"bins,omitempty"`
	Drift     []DriftGoal    `json:"drift,omitempty"`
	Latency   *LatencyGoal   `json:"latency,omitempty"`
	ErrorRate *ToleranceGoal `json:"errorRate,omitempty"`
	Action    *MonitorAction `json:"action,omitempty"`
}

// Window is how many recorded requests make one evaluated window.
type Window struct {
	Requests int `json:"requests"`
}

// Baseline is what traffic is compared with; exactly one of: Lineage (the
// training dataset in the lineage of the model version served; Dataset
// names it when the lineage has several), Dataset NAME@vN, Featureset
// NAME@vN, or Traffic (the first windows of served traffic).
type Baseline struct {
	Lineage    *LineageBaseline `json:"lineage,omitempty"`
	Dataset    string           `json:"dataset,omitempty"`
	Featureset string           `json:"featureset,omitempty"`
	Traffic    *TrafficBaseline `json:"traffic,omitempty"`
	// File is the CSV file in the dataset version (its header names the
	// features); the version's only .csv file when empty.
	File string `json:"file,omitempty"`
}

// LineageBaseline picks the training dataset of the served model version.
type LineageBaseline struct {
	Dataset string `json:"dataset,omitempty"`
}

// TrafficBaseline is the first Windows windows of served traffic.
type TrafficBaseline struct {
	Windows int `json:"windows"`
}

// MonitoredFeature is one input or output and how its values compare.
type MonitoredFeature struct {
	Name string `json:"name"`
	Type string `json:"type"` // numeric or categorical
}

// ToleranceGoal is a goal and the tolerance above it before an alert.
type ToleranceGoal struct {
	Goal      float64 `json:"goal"`
	Tolerance float64 `json:"tolerance"`
}

// DriftGoal is a drift metric (psi or ks) on some features (all when
// empty), against its goal (0 when unset) and tolerance.
type DriftGoal struct {
	Metric    string   `json:"metric"`
	Features  []string `json:"features,omitempty"`
	Goal      float64  `json:"goal"`
	Tolerance float64  `json:"tolerance"`
}

// LatencyGoal is a latency percentile's goal and tolerance, in ms.
type LatencyGoal struct {
	Percentile float64 `json:"percentile"`
	Goal       float64 `json:"goal"`
	Tolerance  float64 `json:"tolerance"`
}

// MonitorAction is what a raised alert does: alert only (nil Retrain) or
// retrain.
type MonitorAction struct {
	Retrain *Retrain `json:"retrain,omitempty"`
}

// Retrain runs a pipeline of the monitor's group and, when the model
// version it makes passes Metric, publishes it and redeploys it as the
// deployment's canary with CanaryPercent of the traffic.
type Retrain struct {
	// Pipeline is a pipeline's name on the server (its latest version,
	// or Version).
	Pipeline   string            `json:"pipeline"`
	Version    string            `json:"version,omitempty"`
	Parameters map[string]string `json:"parameters,omitempty"`
	// Model is the model the run makes (the deployment's model when
	// empty).
	Model         string      `json:"model,omitempty"`
	Metric        MetricCheck `json:"metric"`
	CanaryPercent int         `json:"canaryPercent"`
}

// MetricCheck passes when the run's metric Name is at least Min, or at
// most Max.
type MetricCheck struct {
	Name string   `json:"name"`
	Min  *float64 `json:"min,omitempty"`
	Max  *float64 `json:"max,omitempty"`
}

// DecodeMonitor reads a Monitor document strictly: an unknown field is an
// error naming it.
func DecodeMonitor(doc *yaml.Node) (*Monitor, error) {
	m := &Monitor{}
	if err := spec.DecodeStrict(doc, "Monitor", m); err != nil {
		return nil, err
	}
	return m, nil
}

var versionRef = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*@v[1-9][0-9]*$`)

// MaxWindow bounds a window (and so the memory one evaluation takes).
const MaxWindow = 100000

// Validate reports every problem of the Monitor at once, with spec paths.
func (m *Monitor) Validate() error {
	var es spec.Errors
	s := &m.Spec
	if m.APIVersion != "kubeline.io/v1alpha1" || m.Kind != "Monitor" {
		es.Add("apiVersion", nil, "want kubeline.io/v1alpha1 Monitor, got %s %s", m.APIVersion, m.Kind)
	}
	if !dnsName.MatchString(m.Metadata.Name) {
		es.Add("metadata.name", nil, "want a DNS label of at most 45 characters, got %q", m.Metadata.Name)
	}
	if !dnsName.MatchString(s.Deployment) {
		es.Add("spec.deployment", nil, "want a deployment's name, got %q", s.Deployment)
	}
	if r := s.SampleRate; r != nil && (!(*r > 0) || *r > 1) {
		es.Add("spec.sampleRate", nil, "want a share of the requests in (0, 1], got %v", *r)
	}
	if s.Window.Requests < 1 || s.Window.Requests > MaxWindow {
		es.Add("spec.window.requests", nil, "want 1..%d recorded requests a window, got %d", MaxWindow, s.Window.Requests)
	}
	m.validateBaseline(&es)
	names := map[string]bool{}
	if len(s.Features) == 0 {
		es.Add("spec.features", nil, "required: the inputs whose drift is measured")
	}
	for field, fs := range map[string][]MonitoredFeature{"spec.features": s.Features, "spec.predictions": s.Predictions} {
		for i, f := range fs {
			at := spec.Index(field, i)
			switch {
			case f.Name == "":
				es.Add(at+".name", nil, "required")
			case names[f.Name]:
				es.Add(at+".name", nil, "%q is named twice", f.Name)
			}
			names[f.Name] = true
			if f.Type != "numeric" && f.Type != "categorical" {
				es.Add(at+".type", nil, "want numeric or categorical, got %q", f.Type)
			}
		}
	}
	if s.Bins != 0 && (s.Bins < 2 || s.Bins > 100) {
		es.Add("spec.bins", nil, "want 2..100, got %d", s.Bins)
	}
	if len(s.Drift) == 0 && s.Latency == nil && s.ErrorRate == nil {
		es.Add("spec", nil, "nothing to watch: give drift, latency or errorRate")
	}
	for i, d := range s.Drift {
		at := spec.Index("spec.drift", i)
		if d.Metric != "psi" && d.Metric != "ks" {
			es.Add(at+".metric", nil, "want psi or ks, got %q", d.Metric)
		}
		for j, f := range d.Features {
			if !names[f] {
				es.Add(spec.Index(at+".features", j), nil, "%q is not a feature or prediction of the monitor", f)
			}
		}
		checkGoal(&es, at, d.Goal, d.Tolerance)
	}
	if l := s.Latency; l != nil {
		if !(l.Percentile > 0) || l.Percentile > 100 {
			es.Add("spec.latency.percentile", nil, "want (0, 100], got %v", l.Percentile)
		}
		checkGoal(&es, "spec.latency", l.Goal, l.Tolerance)
	}
	if e := s.ErrorRate; e != nil {
		checkGoal(&es, "spec.errorRate", e.Goal, e.Tolerance)
	}
	if a := s.Action; a != nil && a.Retrain != nil {
		a.Retrain.validate(&es)
	}
	return es.Err()
}

func checkGoal(es *spec.Errors, at string, goal, tol float64) {
	if math.IsNaN(goal) || math.IsInf(goal, 0) || goal < 0 {
		es.Add(at+".goal", nil, "want 0 or more, got %v", goal)
	}
	if math.IsNaN(tol) || math.IsInf(tol, 0) || tol < 0 {
		es.Add(at+".tolerance", nil, "want 0 or more, got %v", tol)
	}
}

func (m *Monitor) validateBaseline(es *spec.Errors) {
	b := m.Spec.Baseline
	n := 0
	for _, set := range []bool{b.Lineage != nil, b.Dataset != "", b.Featureset != "", b.Traffic != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		es.Add("spec.baseline", nil, "want exactly one of lineage, dataset, featureset, traffic; got %d", n)
	}
	if b.Dataset != "" && !versionRef.MatchString(b.Dataset) {
		es.Add("spec.baseline.dataset", nil, "want NAME@vN, got %q", b.Dataset)
	}
	if b.Featureset != "" && !versionRef.MatchString(b.Featureset) {
		es.Add("spec.baseline.featureset", nil, "want NAME@vN, got %q", b.Featureset)
	}
	if t := b.Traffic; t != nil && (t.Windows < 1 || t.Windows > 100) {
		es.Add("spec.baseline.traffic.windows", nil, "want 1..100, got %d", t.Windows)
	}
	if b.Traffic != nil && b.File != "" {
		es.Add("spec.baseline.file", nil, "a traffic baseline has no file")
	}
}

func (r *Retrain) validate(es *spec.Errors) {
	const at = "spec.action.retrain"
	if r.Pipeline == "" {
		es.Add(at+".pipeline", nil, "required: the name of a pipeline on the server")
	}
	if r.Model != "" && !modelName.MatchString(r.Model) {
		es.Add(at+".model", nil, "want a model name, got %q", r.Model)
	}
	if r.Metric.Name == "" {
		es.Add(at+".metric.name", nil, "required: the run metric the new model version must pass")
	}
	if (r.Metric.Min == nil) == (r.Metric.Max == nil) {
		es.Add(at+".metric", nil, "want exactly one of min, max")
	}
	if r.CanaryPercent < 1 || r.CanaryPercent > 99 {
		es.Add(at+".canaryPercent", nil, "want 1..99, got %d", r.CanaryPercent)
	}
}

var modelName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Rate is the share of requests recorded.
func (s *MonitorSpec) Rate() float64 {
	if s.SampleRate == nil {
		return 1
	}
	return *s.SampleRate
}

// Passes reports whether a metric's value passes the check.
func (c MetricCheck) Passes(v float64) bool {
	if c.Min != nil {
		return v >= *c.Min
	}
	return c.Max != nil && v <= *c.Max
}
