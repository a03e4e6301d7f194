package versioning

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/runtime/lineage"
	"github.com/kubeline/kubeline/runtime/store"
)

// LineageRecords is what a lineage graph is built from: the version links
// (a version's, oldest first, and a run's) and the runs they name
// (runtime/store implements it).
type LineageRecords interface {
	Links(ctx context.Context, kind, name string, n int) ([]store.VersionLink, error)
	RunLinks(ctx context.Context, runID string) ([]store.VersionLink, error)
	GetRun(ctx context.Context, id string) (store.Run, error)
	RunMetrics(ctx context.Context, runID string) ([]store.Metric, error)
	GetArtifactVersion(ctx context.Context, kind, name string, n int) (store.ArtifactVersion, error)
}

// Lineage returns a version's lineage within lineage.DefaultLimit.
func Lineage(ctx context.Context, rec LineageRecords, v lineage.Version, up bool) (*lineage.Graph, error) {
	return LineageWithin(ctx, rec, v, up, lineage.DefaultLimit)
}

// LineageWithin returns a version's lineage: upstream (what produced it)
// or downstream (where it was used), bounded by lim (lineage.Prune: sibling
// runs beyond lim collapse into counted items, versions at the depth limit
// say how many runs lie beyond). A version no run touched is a graph of
// itself alone. It reads the links of the versions it reaches and of the
// runs it draws, and only the runs it draws.
func LineageWithin(ctx context.Context, rec LineageRecords, v lineage.Version, up bool, lim lineage.Limit) (*lineage.Graph, error) {
	var keep []string // the run that made the version is drawn whatever the bound
	if av, err := rec.GetArtifactVersion(ctx, string(v.Kind), v.Name, v.Version); err == nil && av.RunID != "" {
		keep = append(keep, av.RunID)
	}
	p, err := lineage.PruneFrom(linkSource{ctx, rec}, v, up, lim, keep...)
	if err != nil {
		return nil, err
	}
	var runs []lineage.Run
	for _, id := range p.Runs {
		r, err := rec.GetRun(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("run %s of a version link: %w", id, err)
		}
		wf := &wfv1.Workflow{}
		if r.Workflow != "" {
			if err := json.Unmarshal([]byte(r.Workflow), wf); err != nil {
				return nil, fmt.Errorf("run %s: workflow: %w", id, err)
			}
		}
		ms, err := rec.RunMetrics(ctx, id)
		if err != nil {
			return nil, err
		}
		var metrics map[string]float64
		for _, m := range ms {
			if metrics == nil {
				metrics = map[string]float64{}
			}
			metrics[m.Task+"."+m.Name] = m.Value
		}
		runs = append(runs, lineage.Run{ID: id, Name: r.DisplayName, Workflow: wf, Metrics: metrics})
	}
	g := lineage.Build(runs, p.Links)
	if _, ok := g.Node(v.ID()); !ok {
		g = &lineage.Graph{Nodes: []lineage.Node{{ID: v.ID(), Kind: v.Kind, Label: fmt.Sprintf("%s %s@v%d", v.Kind, v.Name, v.Version)}}}
	} else if up {
		g, err = g.Upstream(v.ID())
	} else {
		g, err = g.Downstream(v.ID())
	}
	if err != nil {
		return nil, err
	}
	g.Annotate(p)
	return g, commits(ctx, rec, g)
}

// linkSource reads the links lineage.PruneFrom walks from the records.
type linkSource struct {
	ctx context.Context
	rec LineageRecords
}

func (s linkSource) VersionLinks(v lineage.Version) ([]lineage.Link, error) {
	ls, err := s.rec.Links(s.ctx, string(v.Kind), v.Name, v.Version)
	if err != nil {
		return nil, fmt.Errorf("links of %s: %w", v.ID(), err)
	}
	return lineageLinks(ls), nil
}

func (s linkSource) RunLinks(id string) ([]lineage.Link, error) {
	ls, err := s.rec.RunLinks(s.ctx, id)
	if err != nil {
		return nil, fmt.Errorf("links of run %s: %w", id, err)
	}
	return lineageLinks(ls), nil
}

func lineageLinks(ls []store.VersionLink) []lineage.Link {
	out := make([]lineage.Link, 0, len(ls))
	for _, l := range ls {
		out = append(out, lineage.Link{Version: lineage.Version{Kind: lineage.Kind(l.Kind), Name: l.Name, Version: l.Version},
			RunID: l.RunID, Key: l.Key, Produced: l.Produced, Task: l.Task})
	}
	return out
}

// commits names the git commit of every code version in g (in its node
// and label: "code app@v2 (commit 1a2b3c4d5e6f)").
func commits(ctx context.Context, rec LineageRecords, g *lineage.Graph) error {
	for i, n := range g.Nodes {
		if n.Kind != lineage.KindCode {
			continue
		}
		name, ver, _ := strings.Cut(strings.TrimPrefix(n.ID, "code:"), "@v")
		num, _ := strconv.Atoi(ver)
		av, err := rec.GetArtifactVersion(ctx, "code", name, num)
		if err != nil {
			return fmt.Errorf("code version of %s: %w", n.ID, err)
		}
		if c, ok := av.Metadata[MetaCommit].(string); ok && c != "" {
			g.Nodes[i].Commit = c
			g.Nodes[i].Label = fmt.Sprintf("%s (commit %.12s)", n.Label, c)
		}
	}
	return nil
}
