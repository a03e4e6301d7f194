package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubeline/kubeline/runtime/coderepo"
	"github.com/kubeline/kubeline/runtime/store"
	"github.com/kubeline/kubeline/runtime/versioning"
)

// apiCmd gives c a RunE that sends f's requests to the configured server,
// else the local store, and prints f's answer as -o asks; what names the
// command in errors.
func apiCmd(s streams, g *globalFlags, what string, c *cobra.Command, f func(*apiClient, []string) (answer, error)) *cobra.Command {
	var output string
	c.RunE = func(_ *cobra.Command, args []string) error {
		verb := strings.Fields(c.Use)[0]
		return g.do(s, fmt.Sprintf("kubeline %s %s", what, verb), toLocalStore, func(cl *apiClient) error {
			a, err := f(cl, args)
			if err != nil {
				return err
			}
			return printOutput(s.out, output, a.data, a.table)
		})
	}
	addOutputFlag(c, &output, "table", "json", "yaml")
	return g.addStoreTo(c)
}

// newCodeCmd is `kubeline code create|list|versions|usage`: code
// repositories and their versions.
func newCodeCmd(s streams, g *globalFlags) *cobra.Command {
	var from, ref string
	create := apiCmd(s, g, "code", &cobra.Command{
		Use:   "create NAME --from DIR|GIT-URL [--ref REF]",
		Short: "make a commit of a git repository, or a directory's content, the next version of code NAME",
		Long: `Create records a version of code NAME: the commit REF (default HEAD) of the git repository at DIR
or GIT-URL — its tree, commit, author and message, read with go-git (no git program needed) — or,
for a directory that is not a git repository, its content. The same commit or content again is the
existing version. Runs name it code://NAME@vN (or @latest): as a pipeline parameter, a step that takes
the parameter finds the tree at $KUBELINE_CODE_DIR; as an importer's URI, the tree is its artifact.
A server clones GIT-URLs itself (a multi-user one only http://, https:// and git://); a directory of
this machine that is not a git repository is uploaded to it.`,
		Args: exactArgs("NAME"),
	}, func(c *apiClient, args []string) (answer, error) {
		if from == "" {
			return answer{}, fmt.Errorf("--from DIR|GIT-URL is required")
		}
		return createCode(c, args[0], coderepo.Source{Location: from, Ref: ref})
	})
	create.Flags().StringVar(&from, "from", "", "the git repository (`DIR|GIT-URL`) or a plain directory")
	create.Flags().StringVar(&ref, "ref", "", "the `REF`: a branch, tag or commit (default HEAD)")
	g.arts.register(create.Flags())
	return group("code", "code repositories and their versions",
		g.completeVersions(create, store.KindCode, false),
		apiCmd(s, g, "code", &cobra.Command{Use: "list", Short: "list the code repositories and their latest versions", Args: noArgs},
			func(c *apiClient, _ []string) (answer, error) {
				return listResources(c, store.KindCode)
			}),
		g.completeVersions(apiCmd(s, g, "code", &cobra.Command{Use: "versions NAME", Short: "list the versions of code NAME with their commits", Args: exactArgs("NAME")},
			func(c *apiClient, args []string) (answer, error) {
				return listVersions(c, store.KindCode, args[0])
			}), store.KindCode, false),
		g.completeVersions(apiCmd(s, g, "code", &cobra.Command{Use: "usage NAME@vN", Short: "list the runs that used a code version and what they made", Args: exactArgs("NAME@vN")},
			func(c *apiClient, args []string) (answer, error) {
				return listUsage(c, store.KindCode, args[0])
			}), store.KindCode, true),
	)
}

// createCode makes the next code version: the API clones a repository
// (a URL; on the local store also a directory of this machine, git or
// not), or a plain directory of this machine is uploaded to a server. A
// server cannot read a git repository of this machine: its URL is asked
// for.
func createCode(c *apiClient, name string, src coderepo.Source) (answer, error) {
	var v map[string]any
	var err error
	switch {
	case src.Remote():
		err = c.call(http.MethodPost, "/code/"+url.PathEscape(name)+"/versions", map[string]any{"git_url": src.Location, "ref": src.Ref}, &v)
	case c.local:
		dir, aerr := filepath.Abs(src.Path())
		if aerr != nil {
			return answer{}, aerr
		}
		err = c.call(http.MethodPost, "/code/"+url.PathEscape(name)+"/versions", map[string]any{"git_url": dir, "ref": src.Ref}, &v)
	case isGitRepo(src.Path()):
		return answer{}, fmt.Errorf("%s is a git repository of this machine, which the server %s cannot read: "+
			"give its URL (--from https://...), or create the version on the local store (--server local)", src.Location, c.server)
	case src.Ref != "":
		return answer{}, fmt.Errorf("--ref %s: %s is not a git repository (a directory has no revisions)", src.Ref, src.Location)
	default:
		v, err = c.uploadVersion(store.KindCode, name, src.Path(), "")
	}
	if err != nil {
		return answer{}, err
	}
	return answer{v, func(w *tableWriter) { printCodeVersion(w, v) }}, nil
}

// printCodeVersion says which code version was made, by its commit or its
// tree's digest.
func printCodeVersion(w *tableWriter, v map[string]any) {
	md, _ := v["metadata"].(map[string]any)
	commit := str(md[versioning.MetaCommit])
	tree := str(md[versioning.MetaTree])
	if tree == "" {
		tree = str(v["sha256"])
	}
	what := fmt.Sprintf("tree sha256 %.12s", tree)
	if commit != "" {
		what = fmt.Sprintf("commit %.12s by %s: %s", commit, str(md[versioning.MetaAuthor]), firstLine(str(md[versioning.MetaMessage])))
	}
	if v["created"] == true {
		w.line("code %s@v%s created (%s)", str(v["name"]), str(v["version"]), what)
	} else {
		w.line("code %s: same %s as v%s, no new version", str(v["name"]), map[bool]string{true: "commit", false: "content"}[commit != ""], str(v["version"]))
	}
}

// isGitRepo reports whether dir holds a git repository (a work tree's
// .git, or a bare repository).
func isGitRepo(dir string) bool {
	for _, p := range []string{filepath.Join(dir, ".git"), filepath.Join(dir, "objects")} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// newFeatureSetsCmd is `kubeline featuresets create|list|get|versions|usage`.
func newFeatureSetsCmd(s streams, g *globalFlags) *cobra.Command {
	var file string
	create := apiCmd(s, g, "featuresets", &cobra.Command{
		Use:   "create -f FILE",
		Short: "declare a featureset (kind: FeatureSet): its features and the datasets it is extracted from",
		Long: `Create declares the featureset a FILE of kind: FeatureSet describes (apiVersion kubeline.io/v1alpha1;
metadata.name; spec.features, each a name, a type — int, float, string, bool or timestamp — and a
description; spec.datasets, the dataset versions it is extracted from). A run's output named for it
(metadata kubeline.io/featureset: NAME, or --version TASK.OUTPUT=featureset:NAME) becomes its next
version only when the data matches the features — CSV, JSON lines or Parquet — else the run fails
naming the mismatched columns. Runs read a version as featureset://NAME@vN.`,
		Args: noArgs,
	}, func(c *apiClient, _ []string) (answer, error) {
		if file == "" {
			return answer{}, fmt.Errorf("-f FILE is required")
		}
		return declareFeatureSet(c, file)
	})
	create.Flags().StringVarP(&file, "file", "f", "", "a kind: FeatureSet YAML `FILE`")
	return group("featuresets", "featuresets: declared features and their checked versions",
		create,
		apiCmd(s, g, "featuresets", &cobra.Command{Use: "list", Short: "list the featuresets, their features and latest versions", Args: noArgs},
			func(c *apiClient, _ []string) (answer, error) {
				return listFeatureSets(c)
			}),
		g.completeVersions(apiCmd(s, g, "featuresets", &cobra.Command{Use: "get NAME", Short: "show a featureset's declared features", Args: exactArgs("NAME")},
			func(c *apiClient, args []string) (answer, error) {
				return getFeatureSet(c, args[0])
			}), store.KindFeatureSet, false),
		g.completeVersions(apiCmd(s, g, "featuresets", &cobra.Command{Use: "versions NAME", Short: "list the versions of featureset NAME", Args: exactArgs("NAME")},
			func(c *apiClient, args []string) (answer, error) {
				return listVersions(c, store.KindFeatureSet, args[0])
			}), store.KindFeatureSet, false),
		g.completeVersions(apiCmd(s, g, "featuresets", &cobra.Command{Use: "usage NAME@vN", Short: "list the runs that made or used a featureset version", Args: exactArgs("NAME@vN")},
			func(c *apiClient, args []string) (answer, error) {
				return listUsage(c, store.KindFeatureSet, args[0])
			}), store.KindFeatureSet, true),
	)
}

// declareFeatureSet sends the kind: FeatureSet document as it is.
func declareFeatureSet(c *apiClient, file string) (answer, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return answer{}, err
	}
	raw, err := c.send(c.http, http.MethodPost, "/featuresets", "application/yaml", strings.NewReader(string(data)))
	if err != nil {
		return answer{}, fmt.Errorf("%s: %w", file, err)
	}
	var f map[string]any
	if err := json.Unmarshal(raw, &f); err != nil {
		return answer{}, fmt.Errorf("declare %s: the answer is not JSON: %w", file, err)
	}
	features, _ := f["features"].([]any)
	return answer{f, func(w *tableWriter) {
		w.line("featureset %s declared: %d features", str(f["name"]), len(features))
	}}, nil
}

func listFeatureSets(c *apiClient) (answer, error) {
	var out map[string]any
	if err := c.call(http.MethodGet, "/featuresets", nil, &out); err != nil {
		return answer{}, err
	}
	return answer{out, func(w *tableWriter) {
		w.row("NAME", "LATEST", "FEATURES", "CREATED")
		for _, f := range items(out, "featuresets") {
			var names []string
			for _, ft := range items(f, "features") {
				names = append(names, str(ft["name"])+":"+str(ft["type"]))
			}
			latest := "-"
			if n, _ := f["latest_version"].(float64); n > 0 {
				latest = "v" + str(n)
			}
			w.row(str(f["name"]), latest, strings.Join(names, ","), localTime(f["created_at"]))
		}
	}}, nil
}

func getFeatureSet(c *apiClient, name string) (answer, error) {
	var f map[string]any
	if err := c.call(http.MethodGet, "/featuresets/"+url.PathEscape(name), nil, &f); err != nil {
		return answer{}, err
	}
	return answer{f, func(w *tableWriter) {
		w.row("FEATURE", "TYPE", "DESCRIPTION")
		for _, ft := range items(f, "features") {
			w.row(str(ft["name"]), str(ft["type"]), str(ft["description"]))
		}
	}}, nil
}
