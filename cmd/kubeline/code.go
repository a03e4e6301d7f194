package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeline/kubeline/runtime/coderepo"
	"github.com/kubeline/kubeline/runtime/featureset"
	"github.com/kubeline/kubeline/runtime/store"
	"github.com/kubeline/kubeline/runtime/versioning"
)

// localCmd gives c a RunE over the local metadata store (--db) that prints
// f's answer as -o asks; what names the command in errors.
func localCmd(s streams, what string, c *cobra.Command, f func(context.Context, *store.Store, []string) (answer, error)) *cobra.Command {
	var db, output string
	c.RunE = func(_ *cobra.Command, args []string) error {
		verb := strings.Fields(c.Use)[0]
		return reportErr(s, fmt.Sprintf("kubeline %s %s", what, verb), withStore(db, func(ctx context.Context, st *store.Store) error {
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

// newCodeCmd is `kubeline code create|list|versions|usage`: code
// repositories and their versions (local store).
func newCodeCmd(s streams) *cobra.Command {
	var from, ref string
	var arts storeFlags
	create := localCmd(s, "code", &cobra.Command{
		Use:   "create NAME --from DIR|GIT-URL [--ref REF]",
		Short: "make a commit of a git repository, or a directory's content, the next version of code NAME",
		Long: `Create records a version of code NAME: the commit REF (default HEAD) of the git repository at DIR
or GIT-URL — its tree, commit, author and message, read with go-git (no git program needed) — or,
for a directory that is not a git repository, its content. The same commit or content again is the
existing version. Runs name it code://NAME@vN (or @latest): as a pipeline parameter, a step that takes
the parameter finds the tree at $KUBELINE_CODE_DIR; as an importer's URI, the tree is its artifact.`,
		Args: exactArgs("NAME"),
	}, func(ctx context.Context, st *store.Store, args []string) (answer, error) {
		if from == "" {
			return answer{}, fmt.Errorf("--from DIR|GIT-URL is required")
		}
		return createCode(ctx, st, arts, args[0], coderepo.Source{Location: from, Ref: ref})
	})
	create.Flags().StringVar(&from, "from", "", "the git repository (`DIR|GIT-URL`) or a plain directory")
	create.Flags().StringVar(&ref, "ref", "", "the `REF`: a branch, tag or commit (default HEAD)")
	arts.register(create.Flags())
	return group("code", "code repositories and their versions (local store)",
		create,
		localCmd(s, "code", &cobra.Command{Use: "list", Short: "list the code repositories and their latest versions", Args: noArgs},
			func(ctx context.Context, st *store.Store, _ []string) (answer, error) {
				return listResources(ctx, st, store.KindCode)
			}),
		localCmd(s, "code", &cobra.Command{Use: "versions NAME", Short: "list the versions of code NAME with their commits", Args: exactArgs("NAME")},
			func(ctx context.Context, st *store.Store, args []string) (answer, error) {
				return listVersions(ctx, st, store.KindCode, args[0])
			}),
		localCmd(s, "code", &cobra.Command{Use: "usage NAME@vN", Short: "list the runs that used a code version and what they made", Args: exactArgs("NAME@vN")},
			func(ctx context.Context, st *store.Store, args []string) (answer, error) {
				return listUsage(ctx, st, store.KindCode, args[0])
			}),
	)
}

func createCode(ctx context.Context, st *store.Store, arts storeFlags, name string, src coderepo.Source) (answer, error) {
	objects, err := arts.open(ctx, kubelineHome())
	if err != nil {
		return answer{}, err
	}
	v := &versioning.Versioner{Objects: objects, Records: st}
	pv, err := v.CreateCode(ctx, name, src)
	if err != nil {
		return answer{}, err
	}
	commit, _ := pv.Metadata[versioning.MetaCommit].(string)
	data := map[string]any{"kind": "code", "name": pv.Name, "version": pv.Version, "created": pv.Created, "sha256": pv.Digest,
		"size_bytes": pv.Size, "commit": commit, "author": pv.Metadata[versioning.MetaAuthor], "message": pv.Metadata[versioning.MetaMessage],
		"tree_sha256": pv.Metadata[versioning.MetaTree], "source": pv.Metadata[versioning.MetaSource]}
	return answer{data, func(w *tableWriter) {
		what := fmt.Sprintf("tree sha256 %.12s", pv.Metadata[versioning.MetaTree])
		if commit != "" {
			what = fmt.Sprintf("commit %.12s by %s: %s", commit, pv.Metadata[versioning.MetaAuthor], firstLine(fmt.Sprint(pv.Metadata[versioning.MetaMessage])))
		}
		if pv.Created {
			w.line("code %s@v%d created (%s)", pv.Name, pv.Version, what)
		} else {
			w.line("code %s: same %s as v%d, no new version", pv.Name, map[bool]string{true: "commit", false: "content"}[commit != ""], pv.Version)
		}
	}}, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// newFeatureSetsCmd is `kubeline featuresets create|list|get|versions|usage`.
func newFeatureSetsCmd(s streams) *cobra.Command {
	var file string
	create := localCmd(s, "featuresets", &cobra.Command{
		Use:   "create -f FILE",
		Short: "declare a featureset (kind: FeatureSet): its features and the datasets it is extracted from",
		Long: `Create declares the featureset a FILE of kind: FeatureSet describes (apiVersion kubeline.io/v1alpha1;
metadata.name; spec.features, each a name, a type — int, float, string, bool or timestamp — and a
description; spec.datasets, the dataset versions it is extracted from). A run's output named for it
(metadata kubeline.io/featureset: NAME, or --version TASK.OUTPUT=featureset:NAME) becomes its next
version only when the data matches the features — CSV, JSON lines or Parquet — else the run fails
naming the mismatched columns. Runs read a version as featureset://NAME@vN.`,
		Args: noArgs,
	}, func(ctx context.Context, st *store.Store, _ []string) (answer, error) {
		if file == "" {
			return answer{}, fmt.Errorf("-f FILE is required")
		}
		return declareFeatureSet(ctx, st, file)
	})
	create.Flags().StringVarP(&file, "file", "f", "", "a kind: FeatureSet YAML `FILE`")
	return group("featuresets", "featuresets: declared features and their checked versions (local store)",
		create,
		localCmd(s, "featuresets", &cobra.Command{Use: "list", Short: "list the featuresets, their features and latest versions", Args: noArgs},
			func(ctx context.Context, st *store.Store, _ []string) (answer, error) {
				return listFeatureSets(ctx, st)
			}),
		localCmd(s, "featuresets", &cobra.Command{Use: "get NAME", Short: "show a featureset's declared features", Args: exactArgs("NAME")},
			func(ctx context.Context, st *store.Store, args []string) (answer, error) {
				return getFeatureSet(ctx, st, args[0])
			}),
		localCmd(s, "featuresets", &cobra.Command{Use: "versions NAME", Short: "list the versions of featureset NAME", Args: exactArgs("NAME")},
			func(ctx context.Context, st *store.Store, args []string) (answer, error) {
				return listVersions(ctx, st, store.KindFeatureSet, args[0])
			}),
		localCmd(s, "featuresets", &cobra.Command{Use: "usage NAME@vN", Short: "list the runs that made or used a featureset version", Args: exactArgs("NAME@vN")},
			func(ctx context.Context, st *store.Store, args []string) (answer, error) {
				return listUsage(ctx, st, store.KindFeatureSet, args[0])
			}),
	)
}

func declareFeatureSet(ctx context.Context, st *store.Store, file string) (answer, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return answer{}, err
	}
	spec, err := featureset.Decode(data)
	if err != nil {
		return answer{}, fmt.Errorf("%s:\n%w", file, err)
	}
	f := &store.FeatureSet{Name: spec.Name, Spec: spec.JSON(), Group: spec.Group}
	if err := st.CreateFeatureSet(ctx, f); err != nil {
		return answer{}, err
	}
	return answer{featureSetJSON(*f, spec, 0), func(w *tableWriter) {
		w.line("featureset %s declared: %d features", spec.Name, len(spec.Features))
	}}, nil
}

func featureSetJSON(f store.FeatureSet, spec featureset.Spec, latest int) map[string]any {
	return map[string]any{"name": f.Name, "group": f.Group, "owner": f.Owner, "description": spec.Description, "features": spec.Features,
		"datasets": spec.Datasets, "latest_version": latest, "created_at": f.CreatedAt}
}

func listFeatureSets(ctx context.Context, st *store.Store) (answer, error) {
	fs, err := st.ListFeatureSets(ctx, nil)
	if err != nil {
		return answer{}, err
	}
	latest := map[string]int{}
	rs, err := st.ListResources(ctx, store.KindFeatureSet, nil)
	if err != nil {
		return answer{}, err
	}
	for _, r := range rs {
		latest[r.Name] = r.Latest
	}
	items := []map[string]any{}
	var rows [][]string
	for _, f := range fs {
		spec, err := featureset.FromJSON(f.Spec)
		if err != nil {
			return answer{}, err
		}
		items = append(items, featureSetJSON(f, spec, latest[f.Name]))
		var names []string
		for _, ft := range spec.Features {
			names = append(names, ft.Name+":"+ft.Type)
		}
		v := "-"
		if latest[f.Name] > 0 {
			v = fmt.Sprintf("v%d", latest[f.Name])
		}
		rows = append(rows, []string{f.Name, v, strings.Join(names, ","), f.CreatedAt.Local().Format(time.DateTime)})
	}
	return answer{map[string]any{"featuresets": items, "total_size": len(items)}, func(w *tableWriter) {
		w.row("NAME", "LATEST", "FEATURES", "CREATED")
		for _, r := range rows {
			w.row(r...)
		}
	}}, nil
}

func getFeatureSet(ctx context.Context, st *store.Store, name string) (answer, error) {
	f, err := st.GetFeatureSet(ctx, name)
	if err != nil {
		return answer{}, err
	}
	spec, err := featureset.FromJSON(f.Spec)
	if err != nil {
		return answer{}, err
	}
	latest := 0
	if v, err := st.GetArtifactVersion(ctx, store.KindFeatureSet, name, 0); err == nil {
		latest = v.Version
	}
	return answer{featureSetJSON(f, spec, latest), func(w *tableWriter) {
		w.row("FEATURE", "TYPE", "DESCRIPTION")
		for _, ft := range spec.Features {
			w.row(ft.Name, ft.Type, ft.Description)
		}
	}}, nil
}
