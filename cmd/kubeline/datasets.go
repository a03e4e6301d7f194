package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/lineage"
	"github.com/kubeline/kubeline/runtime/store"
	"github.com/kubeline/kubeline/runtime/versioning"
)

// resourceCmd is `kubeline datasets|models list|versions|create|usage`.
func resourceCmd(kind string, args []string, stdout, stderr io.Writer) int {
	usage := fmt.Sprintf("usage: kubeline %ss list | versions NAME | create NAME --from PATH | usage NAME@vN  [--db URL]", kind)
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet(kind+"s", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "metadata store `URL` (default $KUBELINE_HOME/kubeline.db)")
	from := fs.String("from", "", "create: the file or directory that becomes the version")
	var arts storeFlags
	arts.register(fs)
	if err := fs.Parse(interleave(args[1:], fs)); err != nil {
		return 2
	}
	ctx := context.Background()
	home := kubelineHome()
	st, err := openStore(ctx, home, *db)
	if err != nil {
		fmt.Fprintf(stderr, "kubeline %ss: %v\n", kind, err)
		return 1
	}
	defer st.Close()
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	defer w.Flush()
	switch {
	case args[0] == "list" && fs.NArg() == 0:
		err = listResources(ctx, w, st, kind)
	case args[0] == "versions" && fs.NArg() == 1:
		err = listVersions(ctx, w, st, kind, fs.Arg(0))
	case args[0] == "usage" && fs.NArg() == 1:
		err = listUsage(ctx, w, st, kind, fs.Arg(0))
	case args[0] == "create" && fs.NArg() == 1 && *from != "":
		var pv versioning.ProducedVersion
		var objects artifact.Store
		if objects, err = arts.open(ctx, home); err == nil {
			v := &versioning.Versioner{Objects: objects, Records: st}
			pv, err = v.CreateFrom(ctx, kind, fs.Arg(0), *from, nil)
		}
		if err == nil {
			if pv.Created {
				fmt.Fprintf(w, "%s %s@v%d created (sha256 %s, %d bytes)\n", kind, pv.Name, pv.Version, pv.Digest, pv.Size)
			} else {
				fmt.Fprintf(w, "%s %s: same content as v%d, no new version\n", kind, pv.Name, pv.Version)
			}
		}
	default:
		fmt.Fprintln(stderr, usage)
		return 2
	}
	if err != nil {
		w.Flush()
		fmt.Fprintf(stderr, "kubeline %ss %s: %v\n", kind, args[0], err)
		return 1
	}
	return 0
}

func listResources(ctx context.Context, w io.Writer, st *store.Store, kind string) error {
	rs, err := st.ListResources(ctx, kind)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "NAME\tLATEST\tUPDATED")
	for _, r := range rs {
		fmt.Fprintf(w, "%s\tv%d\t%s\n", r.Name, r.Latest, r.UpdatedAt.Local().Format(time.DateTime))
	}
	return nil
}

func listVersions(ctx context.Context, w io.Writer, st *store.Store, kind, name string) error {
	vs, err := st.ListArtifactVersions(ctx, kind, name)
	if err != nil {
		return err
	}
	if len(vs) == 0 {
		return fmt.Errorf("no %s named %q", kind, name)
	}
	fmt.Fprintln(w, "VERSION\tSHA256\tSIZE\tRUN\tTASK\tCREATED")
	for _, v := range vs {
		run := v.RunID
		if run == "" {
			run = "-"
		}
		fmt.Fprintf(w, "v%d\t%s\t%d\t%s\t%s\t%s\n", v.Version, v.Digest[:12], v.Size, run, v.Task, v.CreatedAt.Local().Format(time.DateTime))
	}
	return nil
}

// parseRef reads NAME@vN (or NAME@N, NAME@latest, NAME).
func parseRef(kind, ref string) (string, int, error) {
	_, name, n, _, err := artifact.ParseVersionURI(kind + "://" + ref)
	return name, n, err
}

// listUsage lists the runs that used a version and what they produced
// (seed: "Dataset Usage").
func listUsage(ctx context.Context, w io.Writer, st *store.Store, kind, ref string) error {
	name, n, err := parseRef(kind, ref)
	if err != nil {
		return err
	}
	v, err := st.GetArtifactVersion(ctx, kind, name, n)
	if err != nil {
		return err
	}
	links, err := st.Links(ctx, kind, name, v.Version)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "RUN\tTASK\tHOW\tSTATE\tWHEN")
	for _, l := range links {
		how := "used"
		if l.Produced {
			how = "produced"
		}
		state := "?"
		if r, err := st.GetRun(ctx, l.RunID); err == nil {
			state = r.State
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", l.RunID, l.Task, how, state, l.CreatedAt.Local().Format(time.DateTime))
	}
	return nil
}

// lineageCmd is `kubeline lineage model|dataset NAME@vN [-o text|json|dot|svg]`:
// a model's upstream (what produced it) or a dataset's downstream (where it
// was used, and what that made).
func lineageCmd(args []string, stdout, stderr io.Writer) int {
	const usage = "usage: kubeline lineage model|dataset NAME@vN [-o text|json|dot|svg] [--up|--down] [--db URL]"
	fs := flag.NewFlagSet("lineage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "text", "output: text, json, dot or svg")
	db := fs.String("db", "", "metadata store `URL` (default $KUBELINE_HOME/kubeline.db)")
	up := fs.Bool("up", false, "upstream: what produced it (the default for models)")
	down := fs.Bool("down", false, "downstream: where it was used (the default for datasets)")
	if err := fs.Parse(interleave(args, fs)); err != nil {
		return 2
	}
	if fs.NArg() != 2 || (fs.Arg(0) != "model" && fs.Arg(0) != "dataset") || (*up && *down) {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	kind := fs.Arg(0)
	ctx := context.Background()
	st, err := openStore(ctx, kubelineHome(), *db)
	if err != nil {
		fmt.Fprintf(stderr, "kubeline lineage: %v\n", err)
		return 1
	}
	defer st.Close()
	g, err := versionLineage(ctx, st, kind, fs.Arg(1), *up || (!*down && kind == "model"))
	if err == nil {
		err = renderLineage(stdout, g, *out)
	}
	if err != nil {
		fmt.Fprintf(stderr, "kubeline lineage %s %s: %v\n", kind, fs.Arg(1), err)
		return 1
	}
	return 0
}

func versionLineage(ctx context.Context, st *store.Store, kind, ref string, up bool) (*lineage.Graph, error) {
	name, n, err := parseRef(kind, ref)
	if err != nil {
		return nil, err
	}
	v, err := st.GetArtifactVersion(ctx, kind, name, n)
	if err != nil {
		return nil, err
	}
	return versioning.Lineage(ctx, st, lineage.Version{Kind: lineage.Kind(kind), Name: name, Version: v.Version}, up)
}

func renderLineage(w io.Writer, g *lineage.Graph, format string) error {
	switch format {
	case "json":
		b, _ := json.MarshalIndent(g, "", "  ")
		_, err := fmt.Fprintln(w, string(b))
		return err
	case "dot":
		_, err := w.Write(g.DOT())
		return err
	case "svg":
		_, err := w.Write(g.SVG())
		return err
	case "text":
	default:
		return fmt.Errorf("-o %s: want text, json, dot or svg", format)
	}
	for _, k := range []lineage.Kind{lineage.KindDataset, lineage.KindModel, lineage.KindRun, lineage.KindTask} {
		for _, n := range g.Of(k) {
			var ps []string
			for _, k := range slices.Sorted(maps.Keys(n.Params)) {
				ps = append(ps, k+"="+n.Params[k])
			}
			extra := ""
			if n.Phase != "" {
				extra = " " + n.Phase
			}
			if len(ps) > 0 {
				extra += " " + strings.Join(ps, " ")
			}
			fmt.Fprintf(w, "%-8s %s%s\n", k, strings.TrimPrefix(n.Label, string(k)+" "), extra)
		}
	}
	return nil
}
