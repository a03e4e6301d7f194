package launcher

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kubeflow/pipelines/api/v2alpha1/go/pipelinespec"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// collectOutputs reads what the command produced — executor_output.json and
// the output-parameter files — and writes the step's Argo outputs:
// OutputsDir/NAME for parameters, OutputsDir/NAME/metadata.json and the
// descriptor OutputsDir/NAME.artifact for artifacts.
func (s *step) collectOutputs() error {
	eo := &pipelinespec.ExecutorOutput{}
	if b, err := os.ReadFile(s.execOutput); err == nil {
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, eo); err != nil {
			return fmt.Errorf("read executor_output.json: %w", err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read executor_output.json: %w", err)
	}
	var errs []string
	defs := s.opts.Component.GetOutputDefinitions()
	for _, name := range slices.Sorted(maps.Keys(defs.GetParameters())) {
		v, err := s.outputParam(name, defs.GetParameters()[name].GetParameterType(), eo)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if err := os.WriteFile(filepath.Join(s.opts.OutputsDir, name), []byte(Literal(encodeParam(v))), 0o644); err != nil {
			errs = append(errs, fmt.Sprintf("write output parameter %q: %v", name, err))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.outArts)) {
		if err := s.writeArtifact(name, eo); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("outputs of task %q: %s", s.opts.Task, strings.Join(errs, "; "))
	}
	return nil
}

func (s *step) outputParam(name string, t paramType, eo *pipelinespec.ExecutorOutput) (*structpb.Value, error) {
	if v, ok := eo.GetParameterValues()[name]; ok {
		return v, nil
	}
	b, err := os.ReadFile(s.outParamFiles[name])
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("output parameter %q was not written (expected %s or executor_output.json)", name, s.outParamFiles[name])
	}
	if err != nil {
		return nil, fmt.Errorf("read output parameter %q: %w", name, err)
	}
	v, err := parseOutputFile(string(b), t)
	if err != nil {
		return nil, fmt.Errorf("output parameter %q: %w", name, err)
	}
	return v, nil
}

func (s *step) writeArtifact(name string, eo *pipelinespec.ExecutorOutput) error {
	a := s.outArts[name]
	if l := eo.GetArtifacts()[name].GetArtifacts(); eo != nil && len(l) > 0 {
		if md := l[0].GetMetadata(); md != nil {
			for k, v := range md.AsMap() {
				a.Metadata[k] = v
			}
		}
		if u := l[0].GetUri(); u != "" && u != a.URI && u != a.Path {
			a.Metadata["kubeline.io/reported-uri"] = s.reportedURI(u)
		}
	}
	// What is stored names where the artifact is stored (a.URI), also when
	// the step itself saw its local path (LocalURIs): a pod and the
	// embedded engine leave the same metadata and descriptor.
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("output artifact %q: %w", name, err)
	}
	if err := os.WriteFile(filepath.Join(s.opts.OutputsDir, name, "metadata.json"), b, 0o644); err != nil {
		return fmt.Errorf("output artifact %q: %w", name, err)
	}
	if err := os.WriteFile(filepath.Join(s.opts.OutputsDir, name+".artifact"), b, 0o644); err != nil {
		return fmt.Errorf("output artifact %q: %w", name, err)
	}
	return nil
}

// reportedURI is the URI a step's executor reported for an output artifact
// as it is recorded: a path inside the step's outputs directory (where the
// KFP SDK writes pythonic artifacts) relative to it, so that the record is
// the same wherever the step ran (a pod's /kubeline/out or the embedded
// engine's directory of the run); any other URI as reported.
func (s *step) reportedURI(u string) string {
	if rel, err := filepath.Rel(s.opts.OutputsDir, u); err == nil && filepath.IsAbs(u) && filepath.IsLocal(rel) {
		return rel
	}
	return u
}
