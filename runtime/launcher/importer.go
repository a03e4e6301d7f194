package launcher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"google.golang.org/protobuf/types/known/structpb"

	artstore "github.com/kubeline/kubeline/runtime/artifact"
)

// Importer is the --importer descriptor compiler/argo writes.
type Importer struct {
	URI                 string          `json:"uri,omitempty"`
	URIParameter        string          `json:"uriParameter,omitempty"`
	TypeSchema          json.RawMessage `json:"typeSchema,omitempty"`
	Metadata            map[string]any  `json:"metadata,omitempty"`
	Reimport            bool            `json:"reimport,omitempty"`
	DownloadToWorkspace bool            `json:"downloadToWorkspace,omitempty"`
}

// RunImporter runs a KFP importer step: it resolves the URI, copies the
// object into the output artifact "artifact" when it can be read here (so the
// artifact repository holds it), and records the URI and metadata. A URI
// no reader reaches (ErrElsewhere: gs://, another bucket) is recorded
// without its content; one that should be readable here (the step's own
// store, a local path) but fails, fails the importer.
func RunImporter(imp Importer, opts Options) error {
	s := &step{opts: &opts, params: map[string]*structpb.Value{}, inArts: map[string][]*artifact{},
		outParamFiles: map[string]string{}, outArts: map[string]*artifact{}}
	if err := s.inputs(); err != nil {
		return err
	}
	uri := imp.URI
	if imp.URIParameter != "" {
		v, ok := s.params[imp.URIParameter]
		if !ok {
			return fmt.Errorf("importer: input %q with the URI has no value", imp.URIParameter)
		}
		uri = v.GetStringValue()
	}
	if uri == "" {
		return fmt.Errorf("importer: empty artifact URI")
	}
	if err := s.prepareOutputs(); err != nil {
		return err
	}
	a, ok := s.outArts["artifact"]
	if !ok {
		return fmt.Errorf("importer: the component declares no output artifact \"artifact\"")
	}
	for k, v := range imp.Metadata {
		a.Metadata[k] = v
	}
	a.URI = uri
	src, err := s.resolve(uri)
	switch {
	case errors.Is(err, ErrElsewhere):
		if opts.Stderr != nil {
			fmt.Fprintf(opts.Stderr, "kubeline: importer: %s is recorded without its content: %v\n", uri, err)
		}
	case err != nil:
		return fmt.Errorf("importer: %w", err)
	default:
		if err := artstore.CopyTree(context.Background(), src, a.Path); err != nil {
			return fmt.Errorf("importer: copy %s: %w", uri, err)
		}
	}
	return s.writeArtifact("artifact", nil)
}
