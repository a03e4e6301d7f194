package apiserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/compiler/argo"
	"github.com/kubeline/kubeline/compiler/ide"
	"github.com/kubeline/kubeline/runtime/admission"
	"github.com/kubeline/kubeline/runtime/store"
)

// IDEs (seed "IDEs"; statuses of "IDEs & Runs"): a notebook session is
// compiled to a workflow with one long-running step (compiler/ide) and
// admitted exactly like a run — its peak demand is its GPUs, it waits
// Queued in its group's pool (start_anyway skips the wait), holds its GPUs
// while Starting, Running and Stopping, and gives them back when it ends.
// It is Running once its URL answers. The lifecycle is in idelife.go.

// IDEOptions say how this server's engine runs IDEs.
type IDEOptions struct {
	// Jupyter: JupyterLab is installed where the embedded engine runs
	// steps; an IDE that names no command then serves JupyterLab.
	Jupyter bool
	// Address finds where the notebook step of a running workflow listens
	// (its pod's IP) on an engine whose steps are pods; nil means the
	// embedded engine: steps are host processes on 127.0.0.1, each IDE on
	// a free port.
	Address func(ctx context.Context, workflow string, wf *wfv1.Workflow) (string, error)
	// Expose, with Address, puts a Service named name in front of the
	// IDE's pod (label ide.LabelIDE) and returns its URL, which the IDE
	// reports; the pod's address is still what is probed.
	Expose func(ctx context.Context, workflow string, wf *wfv1.Workflow, name string, selector map[string]string, port int) (string, error)
	// Port is where the notebook listens in its pod (ide.DefaultPort
	// when 0); the embedded engine gives each IDE a free port instead.
	Port int
}

// WithIDEs sets how IDEs run (the embedded engine's way without it).
func (s *Server) WithIDEs(o IDEOptions) *Server {
	s.ideOpts = o
	return s
}

type ideBody struct {
	Name  string `json:"name"`
	Image string `json:"image"`
	GPUs  int64  `json:"gpus"`
	// Code and Datasets are versions to mount: NAME@vN or NAME@latest.
	Code     string   `json:"code"`
	Datasets []string `json:"datasets"`
	// Project puts the IDE in the project's group; else Group (the
	// caller's first when empty).
	Project     string   `json:"project"`
	Group       string   `json:"group"`
	Command     []string `json:"command"`
	StartAnyway bool     `json:"start_anyway"`
}

func (s *Server) ideRoutes(h func(string, func(*http.Request) (any, error))) {
	h("GET "+kv1+"/ides", s.listIDEs)
	h("POST "+kv1+"/ides", s.createIDE)
	h("GET "+kv1+"/ides/{name}", s.getIDE)
	h("DELETE "+kv1+"/ides/{name}", s.deleteIDE)
	h("POST "+kv1+"/ides/{action}", s.ideAction)
}

var versionRefRE = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9._-]*)@(v[1-9][0-9]*|latest)$`)

// createIDE starts an IDE: it is compiled, recorded Queued and admitted.
func (s *Server) createIDE(r *http.Request) (any, error) {
	var b ideBody
	if err := decode(r, &b); err != nil {
		return nil, err
	}
	ctx := r.Context()
	if err := validName("ide.name", b.Name); err != nil {
		return nil, err
	}
	group, err := s.ideGroup(ctx, b)
	if err != nil {
		return nil, err
	}
	i := &store.IDE{Name: b.Name, Group: groupOf(group), Image: b.Image, GPUs: b.GPUs, Project: b.Project}
	if c := callerOf(ctx); c != nil {
		i.Owner = c.Name
	}
	sp, err := s.ideSpec(ctx, b, i)
	if err != nil {
		return nil, err
	}
	if err := sp.Validate(); err != nil {
		return nil, badRequest("ide.%s", strings.ReplaceAll(err.Error(), "\n", "\nide."))
	}
	wf, err := ide.CompileWorkflow(sp)
	if err != nil {
		return nil, badRequest("ide: %v", err)
	}
	d, err := admission.PeakDemand(wf)
	if err != nil {
		return nil, badRequest("ide: GPU demand: %v", err)
	}
	spec, _ := json.Marshal(wf)
	i.Spec, i.Token = string(spec), newSecret()
	if err := s.store.CreateIDE(ctx, i); err != nil {
		return nil, err
	}
	a := &store.RunAdmission{RunID: store.IDEAdmission(i.Name), Kind: store.KindIDE, Status: store.StatusQueued, Group: i.Group,
		GPUs: d.GPUs, LargestStep: d.LargestStep, Resource: d.Resource, StartAnyway: b.StartAnyway}
	if err := s.store.PutAdmission(ctx, a); err != nil {
		_ = s.store.SetIDEStatus(ctx, i.Name, store.StatusError, err.Error())
		return nil, err
	}
	if err := s.Admit(s.ctx); err != nil {
		return nil, err
	}
	return s.ideView(ctx, i.Name)
}

// ideGroup is the group a new IDE goes to: its project's, else the
// requested or the caller's first.
func (s *Server) ideGroup(ctx context.Context, b ideBody) (string, error) {
	if b.Project == "" {
		return s.groupFor(ctx, "ide.group", b.Group)
	}
	p, err := s.store.GetProject(ctx, b.Project)
	if errors.Is(err, store.ErrNotFound) || err == nil && !s.seesGroup(ctx, p.Group) {
		return "", badRequest("ide.project: %v", hidden("project", b.Project))
	}
	if err != nil {
		return "", err
	}
	if b.Group != "" && groupOf(b.Group) != groupOf(p.Group) {
		return "", badRequest("ide.group: %q is not project %s's group", b.Group, b.Project)
	}
	return p.Group, nil
}

// ideSpec resolves what the IDE runs in its group: the image (a catalog
// name, image://NAME or a reference), its command, and the versions it
// mounts; it records them on i.
func (s *Server) ideSpec(ctx context.Context, b ideBody, i *store.IDE) (ide.Spec, error) {
	sp := ide.Spec{Name: b.Name, GPUs: b.GPUs}
	cat, _, err := s.imagesFor(ctx, i.Group)
	if err != nil {
		return sp, err
	}
	name, named := argo.CatalogName(b.Image)
	entry, inCatalog := cat[name]
	if !named {
		entry, inCatalog = cat[b.Image]
	}
	switch {
	case b.Image == "":
		return sp, badRequest("ide.image is required: a catalog name (kubeline images list) or an image reference")
	case named && !inCatalog:
		_, err := argo.ResolveImage(b.Image, store.ImageRefs(cat))
		return sp, badRequest("ide.image: %v", err)
	case inCatalog:
		sp.Image = entry.Image
	default:
		if err := checkName("ide.image", b.Image); err != nil {
			return sp, err
		}
		sp.Image = b.Image
	}
	i.ImageRef = sp.Image
	local := s.ideOpts.Address == nil
	switch {
	case len(b.Command) > 0:
		sp.Command = b.Command
	case local && s.ideOpts.Jupyter:
		sp.Command = ide.JupyterLab
	case len(entry.Command) > 0:
		sp.Command = entry.Command
	case local:
		return sp, badRequest("ide.command: JupyterLab is not installed where this server runs steps and image %q names no command: "+
			"give ide.command (e.g. [\"python3\", \"-m\", \"http.server\", \"$(PORT)\"]) or add a --command to its catalog entry", b.Image)
	}
	i.Command = sp.Command
	if sp.Mounts, err = s.ideMounts(ctx, b, i); err != nil {
		return sp, err
	}
	return sp, nil
}

// ideMounts resolves the code and dataset versions an IDE mounts in its
// group (another group's are missing) and records them as NAME@vN.
func (s *Server) ideMounts(ctx context.Context, b ideBody, i *store.IDE) ([]ide.Mount, error) {
	var mounts []ide.Mount
	resolve := func(field, kind, dir, ref string) (string, error) {
		m := versionRefRE.FindStringSubmatch(ref)
		if m == nil {
			return "", badRequest("%s: want NAME@vN or NAME@latest, got %q", field, ref)
		}
		n, _ := strconv.Atoi(strings.TrimPrefix(m[2], "v"))
		v, err := s.store.GetArtifactVersion(ctx, kind, m[1], n)
		if err == nil && s.multiUser && groupOf(v.Group) != groupOf(i.Group) {
			err = store.MissingVersion(kind, m[1], n)
		}
		if errors.Is(err, store.ErrNotFound) {
			return "", badRequest("%s: %v", field, err)
		}
		if err != nil {
			return "", err
		}
		mounts = append(mounts, ide.Mount{Path: dir + "/" + v.Name, Key: v.Key})
		return fmt.Sprintf("%s@v%d", v.Name, v.Version), nil
	}
	if b.Code != "" {
		got, err := resolve("ide.code", "code", "code", b.Code)
		if err != nil {
			return nil, err
		}
		i.Code = got
	}
	for k, ref := range b.Datasets {
		got, err := resolve(fmt.Sprintf("ide.datasets[%d]", k), "dataset", "datasets", ref)
		if err != nil {
			return nil, err
		}
		i.Datasets = append(i.Datasets, got)
	}
	return mounts, nil
}

func newSecret() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ideView is an IDE as the caller sees it, with its place in admission;
// its token is for its owner and operators only.
func (s *Server) ideView(ctx context.Context, name string) (map[string]any, error) {
	i, err := s.store.GetIDE(ctx, name)
	if err != nil {
		return nil, err
	}
	m := ideJSON(i)
	if a, err := s.store.GetAdmission(ctx, store.IDEAdmission(name)); err == nil {
		m["pool"], m["start_anyway"] = a.Pool, a.StartAnyway
		if a.Status == store.StatusQueued {
			m["reason"] = a.Reason
		}
		if len(a.Nodes) > 0 && !store.FinalIDEStatus(i.Status) {
			m["allocation"] = a.Nodes
		}
	} else if store.Unavailable(err) {
		return nil, err
	}
	if c := callerOf(ctx); !s.multiUser || c == nil || c.manages(resource{group: i.Group, owner: i.Owner}) {
		m["token"] = i.Token
	}
	return m, nil
}

func ideJSON(i store.IDE) map[string]any {
	history := []map[string]any{}
	for _, h := range i.History {
		history = append(history, map[string]any{"status": h.Status, "at": timestamp(h.At)})
	}
	m := map[string]any{"name": i.Name, "group": i.Group, "owner": i.Owner, "image": i.Image, "image_ref": i.ImageRef,
		"command": nonNil(i.Command), "gpus": i.GPUs, "datasets": nonNil(i.Datasets), "status": i.Status,
		"status_history": history, "created_at": timestamp(i.CreatedAt)}
	for k, v := range map[string]string{"code": i.Code, "project": i.Project, "message": i.Message, "url": i.URL, "workflow": i.Workflow} {
		if v != "" {
			m[k] = v
		}
	}
	if !i.FinishedAt.IsZero() {
		m["finished_at"] = timestamp(i.FinishedAt)
	}
	m["lineage"] = map[string]any{"code": i.Code, "datasets": nonNil(i.Datasets), "image": i.ImageRef}
	return m
}

func (s *Server) listIDEs(r *http.Request) (any, error) {
	all, err := s.store.ListIDEs(r.Context(), s.groupsOf(r.Context()))
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, i := range all {
		v, err := s.ideView(r.Context(), i.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return map[string]any{"ides": out, "total_size": len(out)}, nil
}

func (s *Server) getIDE(r *http.Request) (any, error) {
	return s.ideView(r.Context(), r.PathValue("name"))
}

// deleteIDE forgets an IDE that has ended.
func (s *Server) deleteIDE(r *http.Request) (any, error) {
	i, err := s.store.GetIDE(r.Context(), r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	if !store.FinalIDEStatus(i.Status) {
		return nil, &apiError{http.StatusConflict, "IDE " + i.Name + " is " + i.Status + ": stop it before you delete it"}
	}
	return map[string]any{}, s.store.DeleteIDE(r.Context(), i.Name)
}

// ideAction is POST /ides/NAME:stop and NAME:start_anyway.
func (s *Server) ideAction(r *http.Request) (any, error) {
	name, verb, _ := strings.Cut(r.PathValue("action"), ":")
	switch verb {
	case "stop":
		if err := s.stopIDE(r.Context(), name); err != nil {
			return nil, err
		}
	case "start_anyway":
		i, err := s.store.GetIDE(r.Context(), name)
		if err != nil {
			return nil, err
		}
		if i.Status != store.StatusQueued {
			return nil, &apiError{http.StatusConflict, "IDE " + name + " is " + i.Status + ": only a queued IDE can start anyway"}
		}
		if err := s.store.SetStartAnyway(r.Context(), store.IDEAdmission(name)); err != nil {
			return nil, err
		}
		if err := s.Admit(s.ctx); err != nil {
			return nil, err
		}
	default:
		return nil, notFoundErr("want POST %s/ides/NAME:stop or NAME:start_anyway", kv1)
	}
	return s.ideView(r.Context(), name)
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port for the IDE: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ideUsages are the IDEs of the caller's groups that mounted a version
// (NAME@vN of kind dataset or code), for its usage.
func (s *Server) ideUsages(ctx context.Context, kind, version string) ([]map[string]any, error) {
	if kind != "dataset" && kind != "code" {
		return nil, nil
	}
	all, err := s.store.ListIDEs(ctx, s.groupsOf(ctx))
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for _, i := range all {
		if i.Code == version && kind == "code" || kind == "dataset" && slices.Contains(i.Datasets, version) {
			out = append(out, map[string]any{"ide": i.Name, "how": "mounted", "status": i.Status, "created_at": timestamp(i.CreatedAt)})
		}
	}
	return out, nil
}
