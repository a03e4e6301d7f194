package apiserver

import (
	"encoding/json"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/compiler/imagebuild"
	"github.com/kubeline/kubeline/runtime/store"
)

// An ImageBuild (compiler/imagebuild) runs as a run whose workflow builds
// and pushes an image with BuildKit in a pod; when it succeeds, the image
// enters its group's catalog with the code version it was built from.

// checkBuild refuses an ImageBuild on the embedded engine, which has no
// container runtime to build with.
func (s *Server) checkBuild(what string, wf *wfv1.Workflow) error {
	if wf.Labels[imagebuild.LabelBuild] != "" && s.ideOpts.Address == nil {
		return badRequest("%s: kind ImageBuild builds with BuildKit in a pod: this server runs the embedded engine (start it with --engine argo); `kubeline compile` validates it anywhere", what)
	}
	return nil
}

// recordBuilt adds the image a succeeded ImageBuild run pushed to its
// group's catalog (when the build names an entry), its source the code
// version and the run.
func (s *Server) recordBuilt(run store.Run, w *wfv1.Workflow) error {
	raw := w.Annotations[imagebuild.AnnotationCatalog]
	if w.Status.Phase != wfv1.WorkflowSucceeded || raw == "" {
		return nil
	}
	var c imagebuild.Catalog
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return nil // not kubeline's annotation: nothing to record
	}
	owner, err := s.store.Owner(s.ctx, "run", run.ID)
	if err != nil {
		return err
	}
	i := &store.Image{Group: groupOf(run.Namespace), Name: c.Name, Image: w.Annotations[imagebuild.AnnotationImage],
		Framework: c.Framework, Version: c.Version, GPU: c.GPU, Source: "code://" + w.Annotations[imagebuild.AnnotationCode],
		Build: run.ID, Owner: owner}
	return s.store.PutImage(s.ctx, i, true)
}
