package deploy

import (
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/kubeline/kubeline/compiler/spec"
)

// Deployment is kubeline's Deployment kind.
type Deployment struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace,omitempty"`
	} `json:"metadata"`
	Spec Spec `json:"spec"`
}

// Spec is what is served and how.
type Spec struct {
	// Model is NAME@vN (or NAME@latest) of a model in the catalog.
	Model       string     `json:"model"`
	Target      string     `json:"target,omitempty"` // local (default) or kserve
	Predictor   Component  `json:"predictor"`
	Transformer *Component `json:"transformer,omitempty"`
	Resources   *Resources `json:"resources,omitempty"`
	// Replicas is a fixed count of predictor replicas; MinReplicas and
	// MaxReplicas instead let KServe scale between them (replicas.go).
	Replicas    *int    `json:"replicas,omitempty"`
	MinReplicas *int    `json:"minReplicas,omitempty"`
	MaxReplicas *int    `json:"maxReplicas,omitempty"`
	Canary      *Canary `json:"canary,omitempty"`
}

// Component is a predictor or a transformer: a container image with its
// command for KServe, and the command (run as a local process) for target
// local. Protocol is KServe's protocolVersion, v1 or v2.
type Component struct {
	Image    string   `json:"image,omitempty"`
	Command  []string `json:"command,omitempty"`
	Args     []string `json:"args,omitempty"`
	Env      []EnvVar `json:"env,omitempty"`
	Protocol string   `json:"protocol,omitempty"`
}

// EnvVar is one environment variable.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Canary serves another model version to a share of the traffic.
type Canary struct {
	Model          string `json:"model"`
	TrafficPercent int    `json:"trafficPercent"`
}

// Decode reads a Deployment document strictly (YAML 1.2): an unknown field
// is an error naming it.
func Decode(doc *yaml.Node) (*Deployment, error) {
	d := &Deployment{}
	if err := spec.DecodeStrict(doc, "Deployment", d); err != nil {
		return nil, err
	}
	return d, nil
}

var (
	modelRef = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9._-]*)@(v[0-9]+|latest)$`)
	dnsName  = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,43}[a-z0-9])?$`)
	// envName is Kubernetes' rule for a container's environment variable.
	envName = regexp.MustCompile(`^[-._a-zA-Z][-._a-zA-Z0-9]*$`)
)

// ParseModel splits NAME@vN (n 0 for latest).
func ParseModel(ref string) (name string, n int, ok bool) {
	m := modelRef.FindStringSubmatch(ref)
	if m == nil {
		return "", 0, false
	}
	if m[2] != "latest" {
		n, _ = strconv.Atoi(strings.TrimPrefix(m[2], "v"))
		if n < 1 {
			return "", 0, false
		}
	}
	return m[1], n, true
}

// Validate reports every problem of the Deployment at once, with spec paths.
func (d *Deployment) Validate() error {
	var es spec.Errors
	s := &d.Spec
	if d.APIVersion != "kubeline.io/v1alpha1" || d.Kind != "Deployment" {
		es.Add("apiVersion", nil, "want kubeline.io/v1alpha1 Deployment, got %s %s", d.APIVersion, d.Kind)
	}
	if !dnsName.MatchString(d.Metadata.Name) {
		es.Add("metadata.name", nil, "want a DNS label of at most 45 characters (it names the InferenceService), got %q", d.Metadata.Name)
	}
	if _, _, ok := ParseModel(s.Model); !ok {
		es.Add("spec.model", nil, "want NAME@vN or NAME@latest, got %q", s.Model)
	}
	if s.Target != "" && s.Target != "local" && s.Target != "kserve" {
		es.Add("spec.target", nil, "want local or kserve, got %q", s.Target)
	}
	s.Predictor.validate("spec.predictor", s.Target, &es)
	if s.Transformer != nil {
		s.Transformer.validate("spec.transformer", s.Target, &es)
	}
	s.validateReplicas(&es)
	if r := s.Resources; r != nil {
		r.validate("spec.resources", &es)
	}
	if c := s.Canary; c != nil {
		if _, _, ok := ParseModel(c.Model); !ok {
			es.Add("spec.canary.model", nil, "want NAME@vN or NAME@latest, got %q", c.Model)
		}
		if c.TrafficPercent < 1 || c.TrafficPercent > 99 {
			es.Add("spec.canary.trafficPercent", nil, "want 1..99, got %d", c.TrafficPercent)
		}
	}
	return es.Err()
}

func (c *Component) validate(at, target string, es *spec.Errors) {
	if target == "kserve" && c.Image == "" {
		es.Add(at+".image", nil, "required for target kserve")
	}
	if (target == "" || target == "local") && len(c.Command) == 0 {
		es.Add(at+".command", nil, "required for target local: the process kubeline runs")
	}
	if c.Protocol != "" && c.Protocol != "v1" && c.Protocol != "v2" {
		es.Add(at+".protocol", nil, "want v1 or v2, got %q", c.Protocol)
	}
	for i, e := range c.Env {
		if !envName.MatchString(e.Name) {
			es.Add(spec.Index(at+".env", i)+".name", nil, "want a variable name of letters, digits, '_', '-' and '.', not starting with a digit, got %q", e.Name)
		}
	}
}
