package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/lineage"
	"github.com/kubeline/kubeline/runtime/store"
	"github.com/kubeline/kubeline/runtime/versioning"
)

// answer is what a command prints: data for -o json|yaml, and its table.
type answer struct {
	data  any
	table func(*tableWriter)
}

// newResourceCmd is `kubeline datasets|models list|versions|create|usage`
// over the local metadata store (and, for models, `publish` through the
// server).
func newResourceCmd(s streams, g *globalFlags, kind string) *cobra.Command {
	var db, from, output string
	var arts storeFlags
	local := func(c *cobra.Command, f func(context.Context, *store.Store, []string) (answer, error)) *cobra.Command {
		c.RunE = func(_ *cobra.Command, args []string) error {
			verb := strings.Fields(c.Use)[0]
			return reportErr(s, fmt.Sprintf("kubeline %ss %s", kind, verb), withStore(db, func(ctx context.Context, st *store.Store) error {
				a, err := f(ctx, st, args)
				if err != nil {
					return err
				}
				return printOutput(s.out, output, a.data, a.table)
			}))
		}
		c.Flags().StringVar(&db, "db", "", "metadata store `URL` (default $KUBELINE_HOME/kubeline.db)")
		addOutputFlag(c, &output, "table", "json", "yaml")
		return c
	}
	create := local(&cobra.Command{
		Use:   "create NAME --from PATH",
		Short: fmt.Sprintf("make the file or directory PATH the next version of %s NAME", kind),
		Args:  exactArgs("NAME"),
	}, func(ctx context.Context, st *store.Store, args []string) (answer, error) {
		if from == "" {
			return answer{}, fmt.Errorf("--from PATH is required")
		}
		return createVersion(ctx, st, arts, kind, args[0], from)
	})
	create.Flags().StringVar(&from, "from", "", "the file or directory that becomes the version")
	arts.register(create.Flags())
	subs := []*cobra.Command{
		local(&cobra.Command{
			Use:   "list",
			Short: fmt.Sprintf("list the %ss and their latest versions", kind),
			Args:  noArgs,
		}, func(ctx context.Context, st *store.Store, _ []string) (answer, error) {
			return listResources(ctx, st, kind)
		}),
		local(&cobra.Command{
			Use:   "versions NAME",
			Short: fmt.Sprintf("list the versions of %s NAME", kind),
			Args:  exactArgs("NAME"),
		}, func(ctx context.Context, st *store.Store, args []string) (answer, error) {
			return listVersions(ctx, st, kind, args[0])
		}),
		create,
		local(&cobra.Command{
			Use:   "usage NAME@vN",
			Short: "list the runs that used a version and what they made",
			Args:  exactArgs("NAME@vN"),
		}, func(ctx context.Context, st *store.Store, args []string) (answer, error) {
			return listUsage(ctx, st, kind, args[0])
		}),
	}
	if kind == "model" {
		subs = append(subs, newPublishCmd(s, g))
	}
	return group(kind+"s", fmt.Sprintf("%ss and their versions (local store)", kind), subs...)
}

// createVersion makes the file or directory from the next version of
// kind name (`datasets create`).
func createVersion(ctx context.Context, st *store.Store, arts storeFlags, kind, name, from string) (answer, error) {
	objects, err := arts.open(ctx, kubelineHome())
	if err != nil {
		return answer{}, err
	}
	v := &versioning.Versioner{Objects: objects, Records: st}
	pv, err := v.CreateFrom(ctx, kind, name, from, nil)
	if err != nil {
		return answer{}, err
	}
	data := map[string]any{"kind": kind, "name": pv.Name, "version": pv.Version, "created": pv.Created, "sha256": pv.Digest, "size_bytes": pv.Size}
	return answer{data, func(w *tableWriter) {
		if pv.Created {
			w.line("%s %s@v%d created (sha256 %s, %d bytes)", kind, pv.Name, pv.Version, pv.Digest, pv.Size)
		} else {
			w.line("%s %s: same content as v%d, no new version", kind, pv.Name, pv.Version)
		}
	}}, nil
}

// listResources is the API's list of datasets or models, read from the
// local store.
func listResources(ctx context.Context, st *store.Store, kind string) (answer, error) {
	rs, err := st.ListResources(ctx, kind, nil)
	if err != nil {
		return answer{}, err
	}
	items := []map[string]any{}
	for _, r := range rs {
		items = append(items, map[string]any{"name": r.Name, "kind": r.Kind, "latest_version": r.Latest, "updated_at": r.UpdatedAt})
	}
	return answer{map[string]any{kind + "s": items, "total_size": len(items)}, func(w *tableWriter) {
		w.row("NAME", "LATEST", "UPDATED")
		for _, r := range rs {
			w.row(r.Name, fmt.Sprintf("v%d", r.Latest), r.UpdatedAt.Local().Format(time.DateTime))
		}
	}}, nil
}

func listVersions(ctx context.Context, st *store.Store, kind, name string) (answer, error) {
	vs, err := st.ListArtifactVersions(ctx, kind, name)
	if err != nil {
		return answer{}, err
	}
	if len(vs) == 0 {
		return answer{}, fmt.Errorf("no %s named %q", kind, name)
	}
	items := []map[string]any{}
	for _, v := range vs {
		items = append(items, map[string]any{"kind": v.Kind, "name": v.Name, "version": v.Version, "sha256": v.Digest, "size_bytes": v.Size,
			"uri": v.URI, "ref": fmt.Sprintf("%s://%s@v%d", v.Kind, v.Name, v.Version), "run_id": v.RunID, "task": v.Task,
			"metadata": v.Metadata, "created_at": v.CreatedAt})
	}
	return answer{map[string]any{"versions": items, "total_size": len(items)}, func(w *tableWriter) {
		w.row("VERSION", "SHA256", "SIZE", "RUN", "TASK", "CREATED")
		for _, v := range vs {
			run := v.RunID
			if run == "" {
				run = "-"
			}
			w.row(fmt.Sprintf("v%d", v.Version), v.Digest[:12], fmt.Sprint(v.Size), run, v.Task, v.CreatedAt.Local().Format(time.DateTime))
		}
	}}, nil
}

// parseRef reads NAME@vN (or NAME@N, NAME@latest, NAME).
func parseRef(kind, ref string) (string, int, error) {
	_, name, n, _, err := artifact.ParseVersionURI(kind + "://" + ref)
	return name, n, err
}

// listUsage lists the runs that used a version and what they produced
// (seed: "Dataset Usage").
func listUsage(ctx context.Context, st *store.Store, kind, ref string) (answer, error) {
	name, n, err := parseRef(kind, ref)
	if err != nil {
		return answer{}, err
	}
	v, err := st.GetArtifactVersion(ctx, kind, name, n)
	if err != nil {
		return answer{}, err
	}
	links, err := st.Links(ctx, kind, name, v.Version)
	if err != nil {
		return answer{}, err
	}
	items := []map[string]any{}
	var rows [][]string
	for _, l := range links {
		how := "used"
		if l.Produced {
			how = "produced"
		}
		state := "?"
		if r, err := st.GetRun(ctx, l.RunID); err == nil {
			state = r.State
		}
		items = append(items, map[string]any{"run_id": l.RunID, "task": l.Task, "how": how, "state": state, "artifact_key": l.Key, "created_at": l.CreatedAt})
		rows = append(rows, []string{l.RunID, l.Task, how, state, l.CreatedAt.Local().Format(time.DateTime)})
	}
	return answer{map[string]any{"usages": items, "total_size": len(items)}, func(w *tableWriter) {
		w.row("RUN", "TASK", "HOW", "STATE", "WHEN")
		for _, r := range rows {
			w.row(r...)
		}
	}}, nil
}

// newLineageCmd is `kubeline lineage model|dataset|code|featureset NAME@vN
// [-o text|json|dot|svg]`: a model's or featureset's upstream (what
// produced it) or a dataset's or code's downstream (where it was used, and
// what that made).
func newLineageCmd(s streams) *cobra.Command {
	var db, output string
	var up, down bool
	c := &cobra.Command{
		Use:   "lineage model|dataset|code|featureset NAME@vN",
		Short: "where a version came from, or where it went (local store)",
		Long: `Lineage shows a model or featureset version's upstream (the runs and tasks that produced it, with
the parameters each task received and the code versions and commits they ran, back to raw datasets)
or a dataset or code version's downstream (the runs that used it and what they made), as a text tree,
JSON, YAML, Graphviz DOT or SVG (a layered picture: versions, and runs holding their tasks).`,
		ValidArgs: []string{"model", "dataset", "code", "featureset"},
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usagef("want model|dataset|code|featureset NAME@vN, got %d argument(s)%s", len(args), listArgs(args))
			}
			if !slices.Contains(store.VersionedKinds, args[0]) {
				return usagef("unknown kind %q: want model, dataset, code or featureset", args[0])
			}
			if up && down {
				return usagef("--up and --down exclude each other")
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			kind, ref := args[0], args[1]
			err := withStore(db, func(ctx context.Context, st *store.Store) error {
				upstream := up || (!down && (kind == "model" || kind == "featureset"))
				g, root, err := versionLineage(ctx, st, kind, ref, upstream)
				if err != nil {
					return err
				}
				return renderLineage(s.out, g, output, root, upstream)
			})
			return reportErr(s, fmt.Sprintf("kubeline lineage %s %s", kind, ref), err)
		},
	}
	addOutputFlag(c, &output, "text", "json", "yaml", "dot", "svg")
	c.Flags().StringVar(&db, "db", "", "metadata store `URL` (default $KUBELINE_HOME/kubeline.db)")
	c.Flags().BoolVar(&up, "up", false, "upstream: what produced it (the default for models and featuresets)")
	c.Flags().BoolVar(&down, "down", false, "downstream: where it was used (the default for datasets and code)")
	return c
}

func versionLineage(ctx context.Context, st *store.Store, kind, ref string, up bool) (*lineage.Graph, string, error) {
	name, n, err := parseRef(kind, ref)
	if err != nil {
		return nil, "", err
	}
	v, err := st.GetArtifactVersion(ctx, kind, name, n)
	if err != nil {
		return nil, "", err
	}
	lv := lineage.Version{Kind: lineage.Kind(kind), Name: name, Version: v.Version}
	g, err := versioning.Lineage(ctx, st, lv, up)
	return g, lv.ID(), err
}

// renderLineage prints the lineage of root (upstream or not) as the
// format asks: a text tree, JSON, YAML, DOT or SVG.
func renderLineage(w io.Writer, g *lineage.Graph, format, root string, up bool) error {
	switch format {
	case "json", "yaml":
		return printOutput(w, format, g, nil)
	case "dot":
		_, err := w.Write(g.DOT())
		return err
	case "svg":
		_, err := w.Write(g.SVG())
		return err
	case "text":
		_, err := w.Write(g.Tree(root, up))
		return err
	}
	return fmt.Errorf("-o %s: want text, json, yaml, dot or svg", format)
}
