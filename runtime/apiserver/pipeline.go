package apiserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/kubeline/kubeline/runtime/store"
)

const maxUpload = 32 << 20

func pipelineJSON(p store.Pipeline) map[string]any {
	m := map[string]any{"pipeline_id": p.ID, "name": p.Name, "display_name": p.DisplayName, "created_at": timestamp(p.CreatedAt)}
	if p.Description != "" {
		m["description"] = p.Description
	}
	if p.Namespace != "" {
		m["namespace"] = p.Namespace
	}
	return m
}

func versionJSON(v store.PipelineVersion) map[string]any {
	m := map[string]any{"pipeline_id": v.PipelineID, "pipeline_version_id": v.ID, "name": v.Name,
		"display_name": v.DisplayName, "created_at": timestamp(v.CreatedAt)}
	if v.Description != "" {
		m["description"] = v.Description
	}
	if v.CodeSourceURL != "" {
		m["code_source_url"] = v.CodeSourceURL
	}
	if spec, err := specJSON(v.Spec); err == nil {
		m["pipeline_spec"] = spec
	}
	return m
}

type pipelineBody struct {
	PipelineID  string `json:"pipeline_id"`
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	Description string `json:"description"`
	Namespace   string `json:"namespace"`
	CreatedAt   string `json:"created_at"`
}

type versionBody struct {
	PipelineID        string          `json:"pipeline_id"`
	PipelineVersionID string          `json:"pipeline_version_id"`
	Name              string          `json:"name"`
	DisplayName       string          `json:"display_name"`
	Description       string          `json:"description"`
	PipelineSpec      json.RawMessage `json:"pipeline_spec"`
	CodeSourceURL     string          `json:"code_source_url"`
	PackageURL        map[string]any  `json:"package_url"`
	CreatedAt         string          `json:"created_at"`
}

func (s *Server) createPipeline(r *http.Request) (any, error) {
	var b pipelineBody
	if err := decode(r, &b); err != nil {
		return nil, err
	}
	name := firstOf(b.Name, b.DisplayName)
	if name == "" {
		return nil, badRequest("pipeline.name or pipeline.display_name is required")
	}
	if err := checkNames("pipeline.name", b.Name, "pipeline.display_name", b.DisplayName); err != nil {
		return nil, err
	}
	ns, err := s.groupFor(r.Context(), "pipeline.namespace", b.Namespace)
	if err != nil {
		return nil, err
	}
	p := &store.Pipeline{Name: name, DisplayName: firstOf(b.DisplayName, name), Description: b.Description, Namespace: ns}
	if err := s.store.CreatePipeline(r.Context(), p, nil); err != nil {
		return nil, err
	}
	return pipelineJSON(*p), nil
}

func (s *Server) createPipelineAndVersion(r *http.Request) (any, error) {
	var b struct {
		Pipeline        pipelineBody `json:"pipeline"`
		PipelineVersion versionBody  `json:"pipeline_version"`
	}
	if err := decode(r, &b); err != nil {
		return nil, err
	}
	name := firstOf(b.Pipeline.Name, b.Pipeline.DisplayName)
	if name == "" {
		return nil, badRequest("pipeline.name or pipeline.display_name is required")
	}
	if err := checkNames("pipeline.name", b.Pipeline.Name, "pipeline.display_name", b.Pipeline.DisplayName); err != nil {
		return nil, err
	}
	v, err := s.versionFromBody(b.PipelineVersion, name)
	if err != nil {
		return nil, err
	}
	ns, err := s.groupFor(r.Context(), "pipeline.namespace", b.Pipeline.Namespace)
	if err != nil {
		return nil, err
	}
	p := &store.Pipeline{Name: name, DisplayName: firstOf(b.Pipeline.DisplayName, name), Description: b.Pipeline.Description, Namespace: ns}
	if err := s.store.CreatePipeline(r.Context(), p, v); err != nil {
		return nil, err
	}
	return pipelineJSON(*p), nil
}

// versionFromBody validates a version's inline spec by compiling it.
func (s *Server) versionFromBody(b versionBody, fallbackName string) (*store.PipelineVersion, error) {
	if !hasSpec(b.PipelineSpec) {
		return nil, badRequest("pipeline_version.pipeline_spec is required (package_url is not supported)")
	}
	if err := checkNames("pipeline_version.name", b.Name, "pipeline_version.display_name", b.DisplayName); err != nil {
		return nil, err
	}
	spec, err := specText("pipeline_version.pipeline_spec", b.PipelineSpec)
	if err != nil {
		return nil, err
	}
	if _, err := s.compile("pipeline.yaml", []byte(spec), nil, nil); err != nil {
		return nil, badRequest("pipeline_version.pipeline_spec: %v", err)
	}
	name := firstOf(b.Name, b.DisplayName, fallbackName)
	return &store.PipelineVersion{Name: name, DisplayName: firstOf(b.DisplayName, name), Description: b.Description,
		Spec: spec, CodeSourceURL: b.CodeSourceURL}, nil
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func (s *Server) getPipeline(r *http.Request) (any, error) {
	p, err := s.store.GetPipeline(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return pipelineJSON(p), nil
}

func (s *Server) getPipelineByName(r *http.Request) (any, error) {
	p, err := s.store.GetPipelineByName(r.Context(), r.URL.Query().Get("namespace"), r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	if c := callerOf(r.Context()); s.multiUser && c != nil && !c.sees(p.Namespace) {
		return nil, forbidden("user %q is not in group %q of pipeline %s", c.Name, groupOf(p.Namespace), p.Name)
	}
	return pipelineJSON(p), nil
}

func (s *Server) listPipelines(r *http.Request) (any, error) {
	opts, err := listOptions(r)
	if err != nil {
		return nil, err
	}
	ps, page, err := s.store.ListPipelines(r.Context(), r.URL.Query().Get("namespace"), s.visible(r.Context(), opts))
	return listed("pipelines", ps, page, err, pipelineJSON)
}

func (s *Server) deletePipeline(r *http.Request) (any, error) {
	cascade := r.URL.Query().Get("cascade") == "true"
	return map[string]any{}, s.store.DeletePipeline(r.Context(), r.PathValue("id"), cascade)
}

// uploadPart finds the multipart file field "uploadfile" of a body of at
// most limit bytes (plus a megabyte of form), streaming the form: what
// comes before the file is skipped.
func uploadPart(r *http.Request, limit int64) (*multipart.Part, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, limit+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, badRequest("uploadfile: %v", err)
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, badRequest("uploadfile: %v", http.ErrMissingFile)
		}
		if err != nil {
			return nil, uploadError(err, limit)
		}
		if part.FormName() == "uploadfile" && part.FileName() != "" {
			return part, nil
		}
		part.Close()
	}
}

// readUpload reads the multipart file field "uploadfile" (32 MiB at most).
func readUpload(r *http.Request) (string, []byte, error) {
	part, err := uploadPart(r, maxUpload)
	if err != nil {
		return "", nil, err
	}
	defer part.Close()
	data, err := io.ReadAll(io.LimitReader(part, maxUpload+1))
	if err != nil {
		return "", nil, uploadError(err, maxUpload)
	}
	if len(data) > maxUpload {
		return "", nil, uploadError(&http.MaxBytesError{Limit: maxUpload}, maxUpload)
	}
	return part.FileName(), data, nil
}

// uploadError is the answer to an upload that could not be read: 413 when
// it is larger than limit.
func uploadError(err error, limit int64) error {
	if serr := shutdownError(err); serr != nil {
		return serr
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &apiError{http.StatusRequestEntityTooLarge, fmt.Sprintf("uploadfile: larger than %d bytes (the upload limit)", limit)}
	}
	return badRequest("uploadfile: %v", err)
}

// uploadedSpec validates an uploaded file by compiling it and returns the
// pipeline YAML to store (archives unpacked by the compiler).
func (s *Server) uploadedSpec(name string, data []byte) (string, error) {
	spec, err := s.unpack(name, data)
	if err != nil {
		return "", badRequest("invalid pipeline %s: %v", name, err)
	}
	if _, err := s.compile("pipeline.yaml", spec, nil, nil); err != nil {
		return "", badRequest("invalid pipeline %s: %v", name, err)
	}
	return string(spec), nil
}

// uploadedVersion reads an upload (the multipart file, validated by
// compiling it) into a pipeline version named by the query (name, else
// display_name, else the file name).
func (s *Server) uploadedVersion(r *http.Request) (*store.PipelineVersion, error) {
	file, data, err := readUpload(r)
	if err != nil {
		return nil, err
	}
	spec, err := s.uploadedSpec(file, data)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	if err := checkNames("name", q.Get("name"), "display_name", q.Get("display_name")); err != nil {
		return nil, err
	}
	name := firstOf(q.Get("name"), q.Get("display_name"), strings.TrimSuffix(file, filepath.Ext(file)))
	if err := checkName("uploadfile (its file name)", name); err != nil {
		return nil, err
	}
	return &store.PipelineVersion{Name: name, DisplayName: firstOf(q.Get("display_name"), name),
		Description: q.Get("description"), Spec: spec, CodeSourceURL: q.Get("code_source_url")}, nil
}

func (s *Server) upload(r *http.Request) (any, error) {
	v, err := s.uploadedVersion(r)
	if err != nil {
		return nil, err
	}
	ns, err := s.groupFor(r.Context(), "namespace", r.URL.Query().Get("namespace"))
	if err != nil {
		return nil, err
	}
	p := &store.Pipeline{Name: v.Name, DisplayName: v.DisplayName, Description: v.Description, Namespace: ns}
	if err := s.store.CreatePipeline(r.Context(), p, v); err != nil {
		return nil, err
	}
	return pipelineJSON(*p), nil
}

func (s *Server) uploadVersion(r *http.Request) (any, error) {
	pid := r.URL.Query().Get("pipelineid")
	if pid == "" {
		return nil, badRequest("pipelineid is required")
	}
	v, err := s.uploadedVersion(r)
	if err != nil {
		return nil, err
	}
	v.PipelineID = pid
	if err := s.store.CreateVersion(r.Context(), v); err != nil {
		return nil, err
	}
	return versionJSON(*v), nil
}

func (s *Server) createVersion(r *http.Request) (any, error) {
	var b versionBody
	if err := decode(r, &b); err != nil {
		return nil, err
	}
	v, err := s.versionFromBody(b, "")
	if err != nil {
		return nil, err
	}
	if v.Name == "" {
		return nil, badRequest("pipeline_version.name or display_name is required")
	}
	v.PipelineID = r.PathValue("id")
	if err := s.store.CreateVersion(r.Context(), v); err != nil {
		return nil, err
	}
	return versionJSON(*v), nil
}

func (s *Server) listVersionsOf(r *http.Request, pid string) (any, error) {
	opts, err := listOptions(r)
	if err != nil {
		return nil, err
	}
	if _, err := s.store.GetPipeline(r.Context(), pid); err != nil {
		return nil, err
	}
	vs, page, err := s.store.ListVersions(r.Context(), pid, opts)
	return listed("pipeline_versions", vs, page, err, versionJSON)
}

func (s *Server) listVersions(r *http.Request) (any, error) {
	return s.listVersionsOf(r, r.PathValue("id"))
}

// listVersionsV1 serves the UI's v1beta1 call with resource_key.id.
func (s *Server) listVersionsV1(r *http.Request) (any, error) {
	pid := r.URL.Query().Get("resource_key.id")
	if pid == "" {
		return nil, badRequest("resource_key.id is required")
	}
	resp, err := s.listVersionsOf(r, pid)
	if err != nil {
		return nil, err
	}
	m := resp.(map[string]any)
	if vs, ok := m["pipeline_versions"]; ok {
		delete(m, "pipeline_versions")
		m["versions"] = vs
	}
	return m, nil
}

func (s *Server) getVersion(r *http.Request) (any, error) {
	v, err := s.store.GetVersion(r.Context(), r.PathValue("vid"))
	if err != nil {
		return nil, err
	}
	if pid := r.PathValue("id"); pid != "" && pid != v.PipelineID {
		return nil, notFoundErr("pipeline %s has no version %s", pid, v.ID)
	}
	return versionJSON(v), nil
}

func (s *Server) deleteVersion(r *http.Request) (any, error) {
	if _, err := s.getVersion(r); err != nil {
		return nil, err
	}
	return map[string]any{}, s.store.DeleteVersion(r.Context(), r.PathValue("vid"))
}

// template serves the v1beta1 templates call: the version's YAML.
func (s *Server) template(r *http.Request) (any, error) {
	v, err := s.store.GetVersion(r.Context(), r.PathValue("vid"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"template": v.Spec}, nil
}

// updatePipeline changes a pipeline's display name and description.
func (s *Server) updatePipeline(r *http.Request) (any, error) {
	var b pipelineBody
	if err := decode(r, &b); err != nil {
		return nil, err
	}
	if b.PipelineID != "" && b.PipelineID != r.PathValue("id") {
		return nil, badRequest("pipeline.pipeline_id %q does not match the path", b.PipelineID)
	}
	if err := checkName("pipeline.display_name", b.DisplayName); err != nil {
		return nil, err
	}
	if err := s.store.UpdatePipeline(r.Context(), r.PathValue("id"), b.DisplayName, b.Description); err != nil {
		return nil, err
	}
	return s.getPipeline(r)
}

// updateVersion changes a version's display name and description.
func (s *Server) updateVersion(r *http.Request) (any, error) {
	var b versionBody
	if err := decode(r, &b); err != nil {
		return nil, err
	}
	if err := checkName("pipeline_version.display_name", b.DisplayName); err != nil {
		return nil, err
	}
	if _, err := s.getVersion(r); err != nil {
		return nil, err
	}
	if err := s.store.UpdateVersion(r.Context(), r.PathValue("vid"), b.DisplayName, b.Description); err != nil {
		return nil, err
	}
	return s.getVersion(r)
}
