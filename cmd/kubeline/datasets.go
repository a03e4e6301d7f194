package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/store"
)

// answer is what a command prints: data for -o json|yaml, and its table.
type answer struct {
	data  any
	table func(*tableWriter)
}

// newResourceCmd is `kubeline datasets|models list|versions|create|usage`
// (and `models publish`): requests of the API, to the configured server or
// else the local store (backend.go).
func newResourceCmd(s streams, g *globalFlags, kind string) *cobra.Command {
	var from, inGroup, output string
	api := func(c *cobra.Command, f func(*apiClient, []string) (answer, error)) *cobra.Command {
		c.RunE = func(_ *cobra.Command, args []string) error {
			verb := strings.Fields(c.Use)[0]
			return g.do(s, fmt.Sprintf("kubeline %ss %s", kind, verb), toLocalStore, func(cl *apiClient) error {
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
	create := api(&cobra.Command{
		Use:   "create NAME --from PATH",
		Short: fmt.Sprintf("make the file or directory PATH the next version of %s NAME", kind),
		Args:  exactArgs("NAME"),
	}, func(c *apiClient, args []string) (answer, error) {
		if from == "" {
			return answer{}, fmt.Errorf("--from PATH is required")
		}
		return createVersion(c, kind, args[0], from, inGroup)
	})
	create.Flags().StringVar(&from, "from", "", "the file or directory that becomes the version")
	create.Flags().StringVar(&inGroup, "group", "", "the `GROUP` a new "+kind+" belongs to (default your first; on a server)")
	g.arts.register(create.Flags())
	subs := []*cobra.Command{
		api(&cobra.Command{
			Use:   "list",
			Short: fmt.Sprintf("list the %ss and their latest versions", kind),
			Args:  noArgs,
		}, func(c *apiClient, _ []string) (answer, error) {
			return listResources(c, kind)
		}),
		g.completeVersions(api(&cobra.Command{
			Use:   "versions NAME",
			Short: fmt.Sprintf("list the versions of %s NAME", kind),
			Args:  exactArgs("NAME"),
		}, func(c *apiClient, args []string) (answer, error) {
			return listVersions(c, kind, args[0])
		}), kind, false),
		g.completeVersions(create, kind, false),
		g.completeVersions(api(&cobra.Command{
			Use:   "usage NAME@vN",
			Short: "list the runs that used a version and what they made",
			Args:  exactArgs("NAME@vN"),
		}, func(c *apiClient, args []string) (answer, error) {
			return listUsage(c, kind, args[0])
		}), kind, true),
	}
	if kind == "model" {
		subs = append(subs, newPublishCmd(s, g))
	}
	return group(kind+"s", fmt.Sprintf("%ss and their versions", kind), subs...)
}

// createVersion makes the file or directory from the next version of
// kind name (`datasets create`).
func createVersion(c *apiClient, kind, name, from, group string) (answer, error) {
	v, err := c.uploadVersion(kind, name, from, group)
	if err != nil {
		return answer{}, err
	}
	return answer{v, func(w *tableWriter) {
		if v["created"] == true {
			w.line("%s %s@v%s created (sha256 %s, %s bytes)", kind, str(v["name"]), str(v["version"]), str(v["sha256"]), str(v["size_bytes"]))
		} else {
			w.line("%s %s: same content as v%s, no new version", kind, str(v["name"]), str(v["version"]))
		}
	}}, nil
}

// listResources lists the datasets or models.
func listResources(c *apiClient, kind string) (answer, error) {
	var out map[string]any
	if err := c.call("GET", kindPath(kind), nil, &out); err != nil {
		return answer{}, err
	}
	return answer{out, func(w *tableWriter) {
		w.row("NAME", "LATEST", "UPDATED")
		for _, r := range items(out, kind+"s") {
			w.row(str(r["name"]), "v"+str(r["latest_version"]), localTime(r["updated_at"]))
		}
	}}, nil
}

func listVersions(c *apiClient, kind, name string) (answer, error) {
	var out map[string]any
	if err := c.call("GET", kindPath(kind)+"/"+url.PathEscape(name)+"/versions", nil, &out); err != nil {
		return answer{}, err
	}
	return answer{out, func(w *tableWriter) {
		w.row("VERSION", "SHA256", "SIZE", "RUN", "TASK", "CREATED")
		for _, v := range items(out, "versions") {
			run := str(v["run_id"])
			if run == "" {
				run = "-"
			}
			digest := str(v["sha256"])
			w.row("v"+str(v["version"]), digest[:min(12, len(digest))], str(v["size_bytes"]), run, str(v["task"]), localTime(v["created_at"]))
		}
	}}, nil
}

// parseRef reads NAME@vN (or NAME@N, NAME@latest, NAME).
func parseRef(kind, ref string) (string, int, error) {
	_, name, n, _, err := artifact.ParseVersionURI(kind + "://" + ref)
	return name, n, err
}

// versionPath is the API path of a version: /KINDs/NAME/versions/vN (or
// latest).
func versionPath(kind, ref string) (string, error) {
	name, n, err := parseRef(kind, ref)
	if err != nil {
		return "", err
	}
	v := "latest"
	if n > 0 {
		v = fmt.Sprintf("v%d", n)
	}
	return kindPath(kind) + "/" + url.PathEscape(name) + "/versions/" + v, nil
}

// kindPath is the API path of a versioned kind's resources: /datasets,
// /models, /code, /featuresets.
func kindPath(kind string) string {
	if kind == store.KindCode {
		return "/code"
	}
	return "/" + kind + "s"
}

// listUsage lists the runs that used a version and what they produced
// (seed: "Dataset Usage").
func listUsage(c *apiClient, kind, ref string) (answer, error) {
	p, err := versionPath(kind, ref)
	if err != nil {
		return answer{}, err
	}
	var out map[string]any
	if err := c.call("GET", p+"/usage", nil, &out); err != nil {
		return answer{}, err
	}
	return answer{out, func(w *tableWriter) {
		w.row("RUN", "TASK", "HOW", "STATE", "WHEN")
		for _, u := range items(out, "usages") {
			w.row(str(u["run_id"]), str(u["task"]), str(u["how"]), str(u["state"]), localTime(u["created_at"]))
		}
	}}, nil
}

// items are the list answer's objects under key.
func items(out map[string]any, key string) []map[string]any {
	var ms []map[string]any
	list, _ := out[key].([]any)
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			ms = append(ms, m)
		}
	}
	return ms
}

// localTime shows an answer's RFC 3339 time in this machine's zone.
func localTime(v any) string {
	t, err := time.Parse(time.RFC3339Nano, str(v))
	if err != nil {
		return str(v)
	}
	return t.Local().Format(time.DateTime)
}

// newLineageCmd is `kubeline lineage model|dataset|code|featureset NAME@vN
// [-o text|json|dot|svg]`: a model's or featureset's upstream (what
// produced it) or a dataset's or code's downstream (where it was used, and
// what that made), drawn by the API.
func newLineageCmd(s streams, g *globalFlags) *cobra.Command {
	var output string
	var up, down bool
	var depth, runs int
	c := &cobra.Command{
		Use:   "lineage model|dataset|code|featureset NAME@vN",
		Short: "where a version came from, or where it went",
		Long: `Lineage shows a model or featureset version's upstream (the runs and tasks that produced it, with
the parameters each task received and the code versions and commits they ran, back to raw datasets)
or a dataset or code version's downstream (the runs that used it and what they made), as a text tree,
JSON, YAML, Graphviz DOT or SVG (a layered picture: versions, and runs holding their tasks).
The graph is bounded: of the runs that made or used one version in one task (sibling runs) the
newest --runs are shown and the rest are one item that counts them; it stops --depth runs away from
the version, and a version there says how many runs lie beyond it ("more…").`,
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
			return g.do(s, fmt.Sprintf("kubeline lineage %s %s", kind, ref), toLocalStore, func(c *apiClient) error {
				return printLineage(s.out, c, kind, ref, output, up || (!down && (kind == store.KindModel || kind == store.KindFeatureSet)), depth, runs)
			})
		},
	}
	c.ValidArgsFunction = func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		switch len(args) {
		case 0:
			return store.VersionedKinds, cobra.ShellCompDirectiveNoFileComp
		case 1:
			return g.versionNames(c, args[0], toComplete, true)
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	addOutputFlag(c, &output, "text", "json", "yaml", "dot", "svg")
	c.Flags().BoolVar(&up, "up", false, "upstream: what produced it (the default for models and featuresets)")
	c.Flags().BoolVar(&down, "down", false, "downstream: where it was used (the default for datasets and code)")
	c.Flags().IntVar(&depth, "depth", 0, "how many runs away from the version to go (default: the server's, 3)")
	c.Flags().IntVar(&runs, "runs", 0, "sibling runs shown one by one, the rest counted in one item (default: the server's, 5; at most 50)")
	return g.addStoreTo(c)
}

// printLineage prints the lineage of a version (upstream or not) as the
// format asks: the API's text tree, DOT or SVG as they come, its JSON
// indented, or that JSON as YAML.
func printLineage(w io.Writer, c *apiClient, kind, ref, format string, up bool, depth, runs int) error {
	p, err := versionPath(kind, ref)
	if err != nil {
		return err
	}
	q := url.Values{"direction": {map[bool]string{true: "up", false: "down"}[up]}, "format": {format}}
	if format == "yaml" {
		q.Set("format", "json")
	}
	if depth != 0 {
		q.Set("depth", strconv.Itoa(depth))
	}
	if runs != 0 {
		q.Set("runs", strconv.Itoa(runs))
	}
	raw, err := c.get(p + "/lineage?" + q.Encode())
	if err != nil {
		return err
	}
	switch format {
	case "json":
		var buf bytes.Buffer
		if err := json.Indent(&buf, bytes.TrimSpace(raw), "", "  "); err != nil {
			return fmt.Errorf("lineage: the answer is not JSON: %w", err)
		}
		buf.WriteByte('\n')
		_, err = w.Write(buf.Bytes())
		return err
	case "yaml":
		y, err := yaml.JSONToYAML(raw)
		if err != nil {
			return fmt.Errorf("lineage: the answer is not JSON: %w", err)
		}
		_, err = w.Write(y)
		return err
	}
	_, err = w.Write(raw)
	return err
}
