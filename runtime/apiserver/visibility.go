package apiserver

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/kubeline/kubeline/runtime/lineage"
	"github.com/kubeline/kubeline/runtime/store"
	"github.com/kubeline/kubeline/runtime/versioning"
)

// Visibility: every resource belongs to a group and has an owner. Members
// of the group see it, its owner and operators manage it, and to everyone
// else it does not exist. The rule is applied in four places, all here or
// in authorize:
//
//  1. a route acting on one resource names its kind and where its id is
//     (policies.go); authorize finds its group and owner with resourceOf
//     and answers hidden for a resource outside the caller's groups — the
//     very answer a missing one gets;
//  2. lists are filtered in SQL by the caller's groups (visible for KFP's
//     lists, groupsOf for the others);
//  3. a resource named by id in a request body (a run's pipeline version,
//     a project's pipeline, a deployment's model) must be in the group the
//     new resource goes to (inGroup), else it is missing too;
//  4. version URIs (dataset://, model://) resolve in the run's group only
//     (versioning.Scope).
//
// A new kind of resource adds a case to resourceOf, a policy target on its
// routes, store.Own at create and store.Held in its list.

// resource is the group and owner of what a route acts on.
type resource struct{ group, owner string }

// resourceOf finds the group (namespace) and owner of a resource by kind;
// store.ErrNotFound when it does not exist.
func (s *Server) resourceOf(ctx context.Context, kind, id string) (resource, error) {
	var res resource
	var err error
	switch kind {
	case "pipeline":
		var p store.Pipeline
		p, err = s.store.GetPipeline(ctx, id)
		res.group = p.Namespace
	case "version":
		var v store.PipelineVersion
		if v, err = s.store.GetVersion(ctx, id); err == nil {
			if res, err = s.resourceOf(ctx, "pipeline", v.PipelineID); err == nil {
				pipelineOwner := res.owner
				res.owner, err = s.store.Owner(ctx, kind, id)
				if res.owner == "" {
					res.owner = pipelineOwner
				}
			}
			return res, err
		}
	case "experiment":
		var e store.Experiment
		e, err = s.store.GetExperiment(ctx, id)
		res.group = e.Namespace
	case "run":
		var run store.Run
		run, err = s.store.GetRun(ctx, id)
		res.group = run.Namespace
	case "recurring_run":
		var rr store.RecurringRun
		rr, err = s.store.GetRecurringRun(ctx, id)
		res.group = rr.Namespace
	case "project":
		var p store.Project
		if p, err = s.store.GetProject(ctx, id); err == nil {
			res.group = p.Group
			res.owner, err = s.store.Owner(ctx, "experiment", p.ExperimentID)
		}
		return res, err
	case "group":
		if _, err = s.store.GetGroup(ctx, id); err == nil {
			res.group = id
		}
		return res, err
	case store.KindImage, store.KindIDE:
		o, err := s.store.Holding(ctx, kind, id)
		return resource{group: o.Group, owner: o.Owner}, err
	case store.KindMonitor:
		o, err := s.store.Holding(ctx, kind, id)
		return resource{group: o.Group, owner: o.Owner}, err
	case store.KindDataset, store.KindModel, store.KindCode, store.KindFeatureSet, store.KindDeployment, store.KindCluster:
		var o store.Ownership
		if o, err = s.store.Holding(ctx, kind, id); err == nil && kind == store.KindDeployment && !s.deployed(id) {
			err = store.ErrNotFound // held by a deployment that stopped with a previous server
		}
		return resource{group: o.Group, owner: o.Owner}, err
	default:
		return res, fmt.Errorf("authorize: unknown resource kind %q", kind)
	}
	if err != nil {
		return res, err
	}
	res.owner, err = s.store.Owner(ctx, kind, id)
	return res, err
}

// hidden is the answer about a resource the caller may not see: the 404 a
// missing one gets (the store's wording), so nothing tells them it exists.
func hidden(kind, id string) error {
	what := map[string]string{"version": "pipeline version %s", "recurring_run": "recurring run %s", "project": "project %q",
		"group": "group %q", store.KindImage: "image %q", store.KindIDE: "IDE %q", store.KindDataset: "dataset %q", store.KindModel: "model %q", store.KindCode: "code %q", store.KindFeatureSet: "featureset %q", store.KindDeployment: "deployment %q", store.KindMonitor: "monitor %q"}[kind]
	if what == "" {
		what = kind + " %s"
	}
	return fmt.Errorf(what+": %w", id, store.ErrNotFound)
}

// groupsOf is the groups whose resources the caller sees: nil (all) for an
// operator and on a single-user server.
func (s *Server) groupsOf(ctx context.Context) []string {
	c := callerOf(ctx)
	if !s.multiUser || c == nil || c.operator() {
		return nil
	}
	return nonNil(c.Groups)
}

// namespacesOf are the namespaces whose resources the caller sees, nil for
// all (groupsOf; the default group's resources may have no namespace).
func (s *Server) namespacesOf(ctx context.Context) []string {
	gs := s.groupsOf(ctx)
	if gs != nil && slices.Contains(gs, store.DefaultGroup) {
		gs = append(slices.Clone(gs), "")
	}
	return gs
}

// seesGroup reports whether the caller sees a group's resources.
func (s *Server) seesGroup(ctx context.Context, group string) bool {
	c := callerOf(ctx)
	return !s.multiUser || c == nil || c.sees(group)
}

// inGroup checks that a resource named in a request (by id, in field) is
// in group, the group of what the request makes: one in another group is
// answered as missing. Single-user servers have one group.
func (s *Server) inGroup(ctx context.Context, kind, id, group string) error {
	if !s.multiUser {
		return nil
	}
	res, err := s.resourceOf(ctx, kind, id)
	if err != nil {
		return err
	}
	if groupOf(res.group) != groupOf(group) {
		return hidden(kind, id)
	}
	return nil
}

// scope is the version scope of a request: the group a new resource goes
// to and the caller; nothing on a single-user server.
func (s *Server) scope(ctx context.Context, group, owner string) context.Context {
	if !s.multiUser {
		return ctx
	}
	return versioning.WithScope(ctx, versioning.Scope{Group: groupOf(group), Owner: owner})
}

// visibleVersion is the dataset or model version a request names, as the
// caller sees it: one of another group's is missing.
func (s *Server) visibleVersion(ctx context.Context, kind, name string, n int) (store.ArtifactVersion, error) {
	v, err := s.store.GetArtifactVersion(ctx, kind, name, n)
	if err == nil && !s.seesGroup(ctx, v.Group) {
		return store.ArtifactVersion{}, store.MissingVersion(kind, name, n)
	}
	return v, err
}

// runVisible reports whether the caller sees run id (false when it is gone).
func (s *Server) runVisible(ctx context.Context, id string) bool {
	run, err := s.store.GetRun(ctx, id)
	return err == nil && s.seesGroup(ctx, run.Namespace)
}

// visibleLinks restricts the version links a lineage graph is built from to
// the runs the caller sees.
type visibleLinks struct {
	s   *Server
	ctx context.Context
}

func (v visibleLinks) Links(ctx context.Context, kind, name string, n int) ([]store.VersionLink, error) {
	if !v.s.multiUser {
		return v.s.store.Links(ctx, kind, name, n)
	}
	links, _, err := v.s.store.VersionUsage(ctx, kind, name, n, store.UsageQuery{Namespaces: v.s.namespacesOf(v.ctx)})
	if err != nil {
		return nil, err
	}
	out := make([]store.VersionLink, len(links))
	for i, l := range links {
		out[i] = l.VersionLink
	}
	return out, nil
}

// RunLinks are a run's links: lineage asks only for the runs it draws,
// which came from the links visible to the caller.
func (v visibleLinks) RunLinks(ctx context.Context, id string) ([]store.VersionLink, error) {
	return v.s.store.RunLinks(ctx, id)
}

func (v visibleLinks) GetRun(ctx context.Context, id string) (store.Run, error) {
	return v.s.store.GetRun(ctx, id)
}

func (v visibleLinks) RunMetrics(ctx context.Context, id string) ([]store.Metric, error) {
	return v.s.store.RunMetrics(ctx, id)
}

func (v visibleLinks) GetArtifactVersion(ctx context.Context, kind, name string, n int) (store.ArtifactVersion, error) {
	return v.s.store.GetArtifactVersion(ctx, kind, name, n)
}

// lineageOf is a version's lineage through the runs the caller sees,
// within lineage.DefaultLimit.
func (s *Server) lineageOf(ctx context.Context, v lineage.Version, up bool) (*lineage.Graph, error) {
	return s.lineageWithin(ctx, v, up, lineage.DefaultLimit)
}

// lineageWithin is a version's lineage through the runs the caller sees,
// bounded by lim.
func (s *Server) lineageWithin(ctx context.Context, v lineage.Version, up bool, lim lineage.Limit) (*lineage.Graph, error) {
	return versioning.LineageWithin(ctx, visibleLinks{s, ctx}, v, up, lim)
}

// deployed reports whether a local deployment of that name runs.
func (s *Server) deployed(name string) bool {
	if s.serving == nil {
		return false
	}
	_, err := s.serving.Get(name)
	return err == nil
}

// isMissing reports a store.ErrNotFound.
func isMissing(err error) bool { return errors.Is(err, store.ErrNotFound) }

// inGroupOrMissing is inGroup on every server: the resource must exist, and
// on a multi-user server be in group.
func (s *Server) inGroupOrMissing(ctx context.Context, kind, id, group string) error {
	if !s.multiUser {
		_, err := s.resourceOf(ctx, kind, id)
		return err
	}
	return s.inGroup(ctx, kind, id, group)
}
