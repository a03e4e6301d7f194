package deploy

import "github.com/kubeline/kubeline/compiler/spec"

// MaxReplicas is the most predictor replicas a Deployment may ask for.
const MaxReplicas = 100

// validateReplicas checks replicas (a fixed count) or minReplicas and
// maxReplicas (KServe scales between them), never both.
func (s *Spec) validateReplicas(es *spec.Errors) {
	if s.Replicas != nil && (*s.Replicas < 1 || *s.Replicas > MaxReplicas) {
		es.Add("spec.replicas", nil, "want 1..%d, got %d", MaxReplicas, *s.Replicas)
	}
	if s.Replicas != nil && (s.MinReplicas != nil || s.MaxReplicas != nil) {
		es.Add("spec.replicas", nil, "set replicas (a fixed count) or minReplicas and maxReplicas, not both")
	}
	if s.MinReplicas != nil && (*s.MinReplicas < 0 || *s.MinReplicas > MaxReplicas) {
		es.Add("spec.minReplicas", nil, "want 0..%d, got %d", MaxReplicas, *s.MinReplicas)
	}
	if s.MaxReplicas != nil && (*s.MaxReplicas < 1 || *s.MaxReplicas > MaxReplicas) {
		es.Add("spec.maxReplicas", nil, "want 1..%d, got %d", MaxReplicas, *s.MaxReplicas)
	}
	if s.MinReplicas != nil && s.MaxReplicas != nil && *s.MaxReplicas < *s.MinReplicas {
		es.Add("spec.maxReplicas", nil, "want at least minReplicas (%d), got %d", *s.MinReplicas, *s.MaxReplicas)
	}
}

// replicaRange is the InferenceService predictor's minReplicas and
// maxReplicas: a fixed count is both; minReplicas alone is also the most,
// maxReplicas alone scales from 1; nothing is 1.
func (s *Spec) replicaRange() (lo, hi int) {
	switch {
	case s.Replicas != nil:
		return *s.Replicas, *s.Replicas
	case s.MinReplicas != nil && s.MaxReplicas != nil:
		return *s.MinReplicas, *s.MaxReplicas
	case s.MinReplicas != nil:
		return *s.MinReplicas, max(*s.MinReplicas, 1)
	case s.MaxReplicas != nil:
		return min(1, *s.MaxReplicas), *s.MaxReplicas
	}
	return 1, 1
}
