package hpo

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// katibSpec is the part of Katib's v1beta1 ExperimentSpec that search,
// collection and the end rules read. compiler/hpo owns the full Experiment
// kind (decoding and validation); a compiled experiment carries its spec as
// JSON, which ParseExperiment reads here, on the runtime side.
type katibSpec struct {
	Objective struct {
		Type                  string   `json:"type"`
		Goal                  *float64 `json:"goal"`
		ObjectiveMetricName   string   `json:"objectiveMetricName"`
		AdditionalMetricNames []string `json:"additionalMetricNames"`
		MetricStrategies      []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"metricStrategies"`
	} `json:"objective"`
	Algorithm     katibAlgorithm  `json:"algorithm"`
	EarlyStopping *katibAlgorithm `json:"earlyStopping"`
	Parameters    []struct {
		Name          string `json:"name"`
		ParameterType string `json:"parameterType"`
		FeasibleSpace struct {
			Min          string   `json:"min"`
			Max          string   `json:"max"`
			Step         string   `json:"step"`
			List         []string `json:"list"`
			Distribution string   `json:"distribution"`
		} `json:"feasibleSpace"`
	} `json:"parameters"`
	ParallelTrialCount   *int `json:"parallelTrialCount"`
	MaxTrialCount        *int `json:"maxTrialCount"`
	MaxFailedTrialCount  *int `json:"maxFailedTrialCount"`
	MetricsCollectorSpec *struct {
		Collector struct {
			Kind string `json:"kind"`
		} `json:"collector"`
		Source *struct {
			Filter *struct {
				MetricsFormat []string `json:"metricsFormat"`
			} `json:"filter"`
			FileSystemPath *struct {
				Path   string `json:"path"`
				Format string `json:"format"`
			} `json:"fileSystemPath"`
		} `json:"source"`
	} `json:"metricsCollectorSpec"`
}

type katibAlgorithm struct {
	AlgorithmName     string `json:"algorithmName"`
	AlgorithmSettings []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"algorithmSettings"`
}

func (a katibAlgorithm) settings() Settings {
	s := Settings{}
	for _, st := range a.AlgorithmSettings {
		s[st.Name] = st.Value
	}
	return s
}

// ParseExperiment reads {"name": NAME, "spec": <Katib ExperimentSpec>} — the
// form a compiled experiment carries — into a Config, with Katib's defaults
// (parallelTrialCount 3, the StdOut collector, File's
// /var/log/katib/metrics.log).
func ParseExperiment(data []byte) (Config, error) {
	var doc struct {
		Name string    `json:"name"`
		Spec katibSpec `json:"spec"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return Config{}, fmt.Errorf("%w: experiment: %v", ErrInvalid, err)
	}
	s := &doc.Spec
	c := Config{Name: doc.Name, Algorithm: s.Algorithm.AlgorithmName, Settings: s.Algorithm.settings(),
		Goal: s.Objective.Goal, Objective: s.Objective.ObjectiveMetricName, Additional: s.Objective.AdditionalMetricNames,
		Strategies: map[string]string{}, Parallel: 3, MaxFailed: s.MaxFailedTrialCount}
	for _, p := range s.Parameters {
		fs := p.FeasibleSpace
		hp := Parameter{Name: p.Name, Type: ParamType(p.ParameterType), List: fs.List, Distribution: Distribution(fs.Distribution)}
		for _, f := range []struct {
			s string
			v *float64
		}{{fs.Min, &hp.Min}, {fs.Max, &hp.Max}, {fs.Step, &hp.Step}} {
			if f.s == "" {
				continue
			}
			v, err := strconv.ParseFloat(f.s, 64)
			if err != nil {
				return c, fmt.Errorf("%w: parameter %s: %v", ErrInvalid, p.Name, err)
			}
			*f.v = v
		}
		c.Space = append(c.Space, hp)
	}
	if s.Objective.Type == "maximize" {
		c.Direction = Maximize
	}
	for _, m := range s.Objective.MetricStrategies {
		c.Strategies[m.Name] = m.Value
	}
	if s.MaxTrialCount != nil {
		c.MaxTrials = *s.MaxTrialCount
	}
	if s.ParallelTrialCount != nil {
		c.Parallel = *s.ParallelTrialCount
	}
	if es := s.EarlyStopping; es != nil {
		c.EarlyStop, c.MedianStop = true, es.settings()
	}
	if mc := s.MetricsCollectorSpec; mc != nil {
		c.Collector = mc.Collector.Kind
		if src := mc.Source; src != nil && src.Filter != nil {
			c.Formats = src.Filter.MetricsFormat
		}
		if src := mc.Source; src != nil && src.FileSystemPath != nil {
			c.MetricsFile, c.FileFormat = src.FileSystemPath.Path, src.FileSystemPath.Format
		}
		if c.Collector == "File" && c.MetricsFile == "" {
			c.MetricsFile = "/var/log/katib/metrics.log"
		}
	}
	return c, nil
}
