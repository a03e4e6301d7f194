package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// projectDoc is a `kind: Project` file.
type projectDoc struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Group       string `json:"group"`
		Description string `json:"description"`
		Pipeline    string `json:"pipeline"`
		Leaderboard struct {
			Metric    string `json:"metric"`
			Direction string `json:"direction"`
		} `json:"leaderboard"`
	} `json:"spec"`
}

// readProject reads a Project file strictly; every problem names its field.
func readProject(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read project: %w", err)
	}
	var d projectDoc
	if err := yaml.UnmarshalStrict(data, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var errs []error
	if d.APIVersion != "kubeline.io/v1alpha1" {
		errs = append(errs, fmt.Errorf("apiVersion: want kubeline.io/v1alpha1, got %q", d.APIVersion))
	}
	if d.Kind != "Project" {
		errs = append(errs, fmt.Errorf("kind: want Project, got %q", d.Kind))
	}
	if d.Metadata.Name == "" {
		errs = append(errs, fmt.Errorf("metadata.name is required"))
	}
	if d.Spec.Leaderboard.Metric == "" {
		errs = append(errs, fmt.Errorf("spec.leaderboard.metric is required"))
	}
	if dir := d.Spec.Leaderboard.Direction; dir != "" && dir != "maximize" && dir != "minimize" {
		errs = append(errs, fmt.Errorf("spec.leaderboard.direction: want maximize or minimize, got %q", dir))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return map[string]any{"name": d.Metadata.Name, "group": d.Spec.Group, "description": d.Spec.Description, "pipeline": d.Spec.Pipeline,
		"metric": d.Spec.Leaderboard.Metric, "direction": d.Spec.Leaderboard.Direction}, nil
}

// project is the body of `projects create`: a file, or flags.
func (a *adminFlags) project(pos []string) (map[string]any, error) {
	if a.file != "" {
		if len(pos) > 0 {
			return nil, errUsage
		}
		return readProject(a.file)
	}
	return map[string]any{"name": pos[0], "group": a.group, "metric": a.metric, "direction": a.direction,
		"description": a.description, "pipeline": a.pipeline}, nil
}

// newLeaderboardCmd is `kubeline leaderboard PROJECT`: each user's best run.
func newLeaderboardCmd(s streams, g *globalFlags) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "leaderboard PROJECT",
		Short: "each user's best run of a project by its metric",
		Args:  exactArgs("PROJECT"),
		RunE: func(_ *cobra.Command, args []string) error {
			return serverCall(s, g, toLocalStore, "kubeline leaderboard", "GET", "/projects/"+url.PathEscape(args[0])+"/leaderboard", nil, output, printLeaderboard)
		},
	}
	addOutputFlag(c, &output, "table", "json", "yaml")
	return g.completeNames(g.addStoreTo(c), "projects")
}

// serverCall makes one API call (to the configured server, else as fb
// says) and prints its answer as the output format asks (table: with
// print).
func serverCall(s streams, g *globalFlags, fb fallback, what, method, path string, body any, output string, print func(*tableWriter, map[string]any)) error {
	return g.do(s, what, fb, func(c *apiClient) error {
		var out map[string]any
		if err := c.call(method, path, body, &out); err != nil {
			return err
		}
		return printOutput(s.out, output, out, func(w *tableWriter) { print(w, out) })
	})
}

func printLeaderboard(w *tableWriter, out map[string]any) {
	w.line("project %s: best run of each user by %s (%s)", str(out["project"]), str(out["metric"]), str(out["direction"]))
	w.row("RANK", "USER", "RUN", "NAME", strings.ToUpper(str(out["metric"])))
	entries, _ := out["entries"].([]any)
	for _, e := range entries {
		m, _ := e.(map[string]any)
		w.row(str(m["rank"]), orDash(str(m["owner"])), str(m["run_id"]), str(m["display_name"]), str(m["value"]))
	}
}

// newCompareCmd is `kubeline compare RUN|MODEL@vN...`: runs, and model
// versions by the runs that produced them, side by side by metrics.
func newCompareCmd(s streams, g *globalFlags) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "compare RUN|MODEL@vN...",
		Short: "runs and model versions side by side by their metrics",
		Args:  minArgs(1, "RUN|MODEL@vN..."),
		RunE: func(_ *cobra.Command, args []string) error {
			q := url.Values{}
			for _, a := range args {
				if strings.Contains(a, "@") {
					q.Add("model", a)
				} else {
					q.Add("run_id", a)
				}
			}
			return serverCall(s, g, toLocalStore, "kubeline compare", "GET", "/compare?"+q.Encode(), nil, output, printCompare)
		},
	}
	addOutputFlag(c, &output, "table", "json", "yaml")
	return g.addStoreTo(c)
}

func printCompare(w *tableWriter, out map[string]any) {
	names, _ := out["metrics"].([]any)
	head := []string{"RUN", "NAME", "OWNER", "STATE"}
	for _, n := range names {
		head = append(head, str(n))
	}
	w.row(head...)
	runs, _ := out["runs"].([]any)
	for _, r := range runs {
		m, _ := r.(map[string]any)
		id := str(m["run_id"])
		if mv := str(m["model_version"]); mv != "" {
			id = mv + " (" + id + ")"
		}
		row := []string{id, str(m["display_name"]), orDash(str(m["owner"])), str(m["state"])}
		metrics, _ := m["metrics"].(map[string]any)
		for _, n := range names {
			v, ok := metrics[str(n)]
			if !ok {
				row = append(row, "-")
				continue
			}
			row = append(row, str(v))
		}
		w.row(row...)
	}
}
