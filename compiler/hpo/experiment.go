package hpo

import (
	"regexp"
	"sort"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/kubeline/kubeline/compiler/spec"
)

// Experiment is kubeline's Katib-style Experiment.
type Experiment struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace,omitempty"`
	} `json:"metadata"`
	Spec ExperimentSpec `json:"spec"`
}

// ExperimentSpec follows Katib's v1beta1 ExperimentSpec.
type ExperimentSpec struct {
	Objective            Objective         `json:"objective"`
	Algorithm            Algorithm         `json:"algorithm"`
	EarlyStopping        *Algorithm        `json:"earlyStopping,omitempty"`
	Parameters           []ParameterSpec   `json:"parameters"`
	ParallelTrialCount   *int              `json:"parallelTrialCount,omitempty"`
	MaxTrialCount        *int              `json:"maxTrialCount,omitempty"`
	MaxFailedTrialCount  *int              `json:"maxFailedTrialCount,omitempty"`
	MetricsCollectorSpec *MetricsCollector `json:"metricsCollectorSpec,omitempty"`
	TrialTemplate        TrialTemplate     `json:"trialTemplate,omitzero"`
}

// Objective is what the experiment optimises.
type Objective struct {
	Type                  string           `json:"type"`
	Goal                  *float64         `json:"goal,omitempty"`
	ObjectiveMetricName   string           `json:"objectiveMetricName"`
	AdditionalMetricNames []string         `json:"additionalMetricNames,omitempty"`
	MetricStrategies      []MetricStrategy `json:"metricStrategies,omitempty"`
}

// MetricStrategy picks which reported value of a metric counts.
type MetricStrategy struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Algorithm names an algorithm and its settings (values are strings).
type Algorithm struct {
	AlgorithmName     string    `json:"algorithmName"`
	AlgorithmSettings []Setting `json:"algorithmSettings,omitempty"`
}

// Setting is one algorithm setting.
type Setting struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ParameterSpec is one searched parameter.
type ParameterSpec struct {
	Name          string        `json:"name"`
	ParameterType string        `json:"parameterType"`
	FeasibleSpace FeasibleSpace `json:"feasibleSpace"`
}

// FeasibleSpace bounds a parameter; its values are strings, as in Katib.
type FeasibleSpace struct {
	Min          string   `json:"min,omitempty"`
	Max          string   `json:"max,omitempty"`
	Step         string   `json:"step,omitempty"`
	List         []string `json:"list,omitempty"`
	Distribution string   `json:"distribution,omitempty"`
}

// MetricsCollector says how trial metrics are read.
type MetricsCollector struct {
	Collector struct {
		Kind string `json:"kind"`
	} `json:"collector"`
	Source *struct {
		Filter *struct {
			MetricsFormat []string `json:"metricsFormat,omitempty"`
		} `json:"filter,omitempty"`
		FileSystemPath *struct {
			Path   string `json:"path,omitempty"`
			Format string `json:"format,omitempty"`
		} `json:"fileSystemPath,omitempty"`
	} `json:"source,omitempty"`
}

// TrialTemplate is the pipeline each trial runs and how the trial's
// parameters fill its run parameters (${trialParameters.NAME}).
type TrialTemplate struct {
	TrialParameters []TrialParameter `json:"trialParameters"`
	// PipelineFile is a KFP pipeline file, relative to the Experiment's file.
	PipelineFile string `json:"pipelineFile,omitempty"`
	// PipelineSpec is an inline KFP pipeline spec.
	PipelineSpec map[string]any `json:"pipelineSpec,omitempty"`
	// PipelineVersionReference names a pipeline version stored in a
	// kubeline server, as the KFP API's pipeline_version_reference does.
	PipelineVersionReference *PipelineVersionReference `json:"pipelineVersionReference,omitempty"`
	// Parameters map pipeline parameters to values with placeholders.
	Parameters map[string]string `json:"parameters"`
}

// PipelineVersionReference names a stored pipeline version.
type PipelineVersionReference struct {
	PipelineID        string `json:"pipelineId"`
	PipelineVersionID string `json:"pipelineVersionId"`
}

// TrialParameter names a trial parameter and the search parameter it takes.
type TrialParameter struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Reference   string `json:"reference"`
}

// Decode reads an Experiment document strictly: an unknown field is an error
// naming it.
// The document is read as YAML 1.2 (yaml.v3): a parameter named y or n
// stays a string, as it does for Katib's API server.
func Decode(doc *yaml.Node) (*Experiment, error) {
	e := &Experiment{}
	if err := spec.DecodeStrict(doc, "Experiment", e); err != nil {
		return nil, err
	}
	return e, nil
}

var placeholder = regexp.MustCompile(`\$\{trialParameters\.([^}]+)\}`)

// Validate reports every problem of the Experiment at once, with spec paths.
func (e *Experiment) Validate() error {
	var es spec.Errors
	s := &e.Spec
	if e.APIVersion != "kubeline.io/v1alpha1" || e.Kind != "Experiment" {
		es.Add("apiVersion", nil, "want kubeline.io/v1alpha1 Experiment, got %s %s", e.APIVersion, e.Kind)
	}
	if e.Metadata.Name == "" {
		es.Add("metadata.name", nil, "required")
	}
	validateObjective(&s.Objective, &es)
	algorithms := map[string]bool{"random": true, "grid": true, "tpe": true, "multivariate-tpe": true,
		"bayesianoptimization": true, "cmaes": true, "sobol": true, "hyperband": true}
	if !algorithms[s.Algorithm.AlgorithmName] {
		es.Add("spec.algorithm.algorithmName", nil, "unknown algorithm %q (want one of random, grid, tpe, multivariate-tpe, bayesianoptimization, cmaes, sobol, hyperband)", s.Algorithm.AlgorithmName)
	}
	if st := s.EarlyStopping; st != nil && st.AlgorithmName != "medianstop" {
		es.Add("spec.earlyStopping.algorithmName", nil, "unknown early stopping %q (want medianstop)", st.AlgorithmName)
	}
	names := validateParameters(s.Parameters, &es)
	validateCounts(s, &es)
	validateTrialTemplate(&s.TrialTemplate, names, &es)
	if mc := s.MetricsCollectorSpec; mc != nil {
		switch mc.Collector.Kind {
		case "", "StdOut", "File", "Push":
		default:
			es.Add("spec.metricsCollectorSpec.collector.kind", nil, "unknown kind %q (want StdOut, File or Push)", mc.Collector.Kind)
		}
		if mc.Source != nil && mc.Source.Filter != nil {
			for i, f := range mc.Source.Filter.MetricsFormat {
				re, err := regexp.Compile(f)
				p := spec.Index("spec.metricsCollectorSpec.source.filter.metricsFormat", i)
				if err != nil {
					es.Add(p, nil, "invalid regex: %v", err)
				} else if re.NumSubexp() < 2 {
					es.Add(p, nil, "needs two capture groups (name, value)")
				}
			}
		}
	}
	return es.Err()
}

func validateObjective(o *Objective, es *spec.Errors) {
	if o.Type != "minimize" && o.Type != "maximize" {
		es.Add("spec.objective.type", nil, "want minimize or maximize, got %q", o.Type)
	}
	if o.ObjectiveMetricName == "" {
		es.Add("spec.objective.objectiveMetricName", nil, "required")
	}
	for i, m := range o.AdditionalMetricNames {
		if m == o.ObjectiveMetricName {
			es.Add(spec.Index("spec.objective.additionalMetricNames", i), nil, "repeats the objective metric %q", m)
		}
	}
	for i, m := range o.MetricStrategies {
		if m.Value != "min" && m.Value != "max" && m.Value != "latest" {
			es.Add(spec.Index("spec.objective.metricStrategies", i)+".value", nil, "want min, max or latest, got %q", m.Value)
		}
	}
}

func validateParameters(ps []ParameterSpec, es *spec.Errors) map[string]bool {
	names := map[string]bool{}
	if len(ps) == 0 {
		es.Add("spec.parameters", nil, "at least one parameter is required")
	}
	for _, p := range ps {
		at := spec.Named("spec.parameters", p.Name)
		if names[p.Name] {
			es.Add(at, nil, "repeated parameter")
		}
		names[p.Name] = true
		fs := p.FeasibleSpace
		switch p.ParameterType {
		case "int", "double":
			lo, errLo := strconv.ParseFloat(fs.Min, 64)
			hi, errHi := strconv.ParseFloat(fs.Max, 64)
			if errLo != nil {
				es.Add(at+".feasibleSpace.min", nil, "want a number, got %q", fs.Min)
			}
			if errHi != nil {
				es.Add(at+".feasibleSpace.max", nil, "want a number, got %q", fs.Max)
			}
			if errLo == nil && errHi == nil && hi < lo {
				es.Add(at+".feasibleSpace", nil, "max %s is below min %s", fs.Max, fs.Min)
			}
			if len(fs.List) > 0 {
				es.Add(at+".feasibleSpace.list", nil, "a numeric parameter takes min and max, not a list")
			}
			switch fs.Distribution {
			case "", "uniform", "logUniform", "normal", "logNormal":
			default:
				es.Add(at+".feasibleSpace.distribution", nil, "unknown distribution %q", fs.Distribution)
			}
		case "categorical", "discrete":
			if len(fs.List) == 0 {
				es.Add(at+".feasibleSpace.list", nil, "required for a %s parameter", p.ParameterType)
			}
		default:
			es.Add(at+".parameterType", nil, "want int, double, categorical or discrete, got %q", p.ParameterType)
		}
	}
	return names
}

func validateCounts(s *ExperimentSpec, es *spec.Errors) {
	par, maxT := 3, 0
	if s.ParallelTrialCount != nil {
		par = *s.ParallelTrialCount
	}
	if s.MaxTrialCount == nil || *s.MaxTrialCount < 1 {
		es.Add("spec.maxTrialCount", nil, "required: a positive number of trials (kubeline runs no unbounded experiments)")
	} else {
		maxT = *s.MaxTrialCount
	}
	if par < 1 || (maxT > 0 && par > maxT) {
		es.Add("spec.parallelTrialCount", nil, "want 1..maxTrialCount (%d), got %d", maxT, par)
	}
	if f := s.MaxFailedTrialCount; f != nil && (*f < 0 || (maxT > 0 && *f > maxT)) {
		es.Add("spec.maxFailedTrialCount", nil, "want 0..maxTrialCount (%d), got %d", maxT, *f)
	}
}

func validateTrialTemplate(t *TrialTemplate, params map[string]bool, es *spec.Errors) {
	const at = "spec.trialTemplate"
	given := 0
	for _, set := range []bool{t.PipelineFile != "", t.PipelineSpec != nil, t.PipelineVersionReference != nil} {
		if set {
			given++
		}
	}
	if given != 1 {
		es.Add(at, nil, "give exactly one of pipelineFile, pipelineSpec and pipelineVersionReference")
	}
	if r := t.PipelineVersionReference; r != nil && (r.PipelineID == "" || r.PipelineVersionID == "") {
		es.Add(at+".pipelineVersionReference", nil, "pipelineId and pipelineVersionId are required")
	}
	declared := map[string]bool{}
	for i, tp := range t.TrialParameters {
		p := spec.Index(at+".trialParameters", i)
		if tp.Name == "" {
			es.Add(p+".name", nil, "required")
		}
		declared[tp.Name] = true
		if !params[tp.Reference] {
			es.Add(p+".reference", nil, "%q is not a parameter of spec.parameters", tp.Reference)
		}
	}
	used := map[string]bool{}
	keys := make([]string, 0, len(t.Parameters))
	for k := range t.Parameters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, m := range placeholder.FindAllStringSubmatch(t.Parameters[k], -1) {
			used[m[1]] = true
			if !declared[m[1]] {
				es.Add(spec.Named(at+".parameters", k), nil, "${trialParameters.%s} is not declared in trialParameters", m[1])
			}
		}
	}
	for _, tp := range t.TrialParameters {
		if tp.Name != "" && !used[tp.Name] {
			es.Add(at+".trialParameters", nil, "%q is declared but never used in trialTemplate.parameters", tp.Name)
		}
	}
}
