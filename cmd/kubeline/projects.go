package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"

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

// leaderboardCmd is `kubeline leaderboard PROJECT`: each user's best run.
func leaderboardCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("leaderboard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
	if err := fs.Parse(interleave(args, fs)); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: kubeline leaderboard PROJECT [--server URL] [--token TOKEN] [-o json]")
		return 2
	}
	var out map[string]any
	if err := cf.client().call("GET", "/projects/"+url.PathEscape(fs.Arg(0))+"/leaderboard", nil, &out); err != nil {
		fmt.Fprintf(stderr, "kubeline leaderboard: %v\n", err)
		return 1
	}
	if cf.output == "json" {
		return printJSON(stdout, out)
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	defer w.Flush()
	fmt.Fprintf(w, "project %s: best run of each user by %s (%s)\n", str(out["project"]), str(out["metric"]), str(out["direction"]))
	fmt.Fprintln(w, "RANK\tUSER\tRUN\tNAME\t"+strings.ToUpper(str(out["metric"])))
	entries, _ := out["entries"].([]any)
	for _, e := range entries {
		m, _ := e.(map[string]any)
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", str(m["rank"]), str(m["owner"]), str(m["run_id"]), str(m["display_name"]), str(m["value"]))
	}
	return 0
}

// compareCmd is `kubeline compare RUN|MODEL@vN...`: runs, and model
// versions by the runs that produced them, side by side by metrics.
func compareCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
	if err := fs.Parse(interleave(args, fs)); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: kubeline compare RUN|MODEL@vN... [--server URL] [--token TOKEN] [-o json]")
		return 2
	}
	q := url.Values{}
	for _, a := range fs.Args() {
		if strings.Contains(a, "@") {
			q.Add("model", a)
		} else {
			q.Add("run_id", a)
		}
	}
	var out map[string]any
	if err := cf.client().call("GET", "/compare?"+q.Encode(), nil, &out); err != nil {
		fmt.Fprintf(stderr, "kubeline compare: %v\n", err)
		return 1
	}
	if cf.output == "json" {
		return printJSON(stdout, out)
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	defer w.Flush()
	names, _ := out["metrics"].([]any)
	head := []string{"RUN", "NAME", "OWNER", "STATE"}
	for _, n := range names {
		head = append(head, str(n))
	}
	fmt.Fprintln(w, strings.Join(head, "\t"))
	runs, _ := out["runs"].([]any)
	for _, r := range runs {
		m, _ := r.(map[string]any)
		id := str(m["run_id"])
		if mv := str(m["model_version"]); mv != "" {
			id = mv + " (" + id + ")"
		}
		row := []string{id, str(m["display_name"]), str(m["owner"]), str(m["state"])}
		metrics, _ := m["metrics"].(map[string]any)
		for _, n := range names {
			v, ok := metrics[str(n)]
			if !ok {
				row = append(row, "-")
				continue
			}
			row = append(row, str(v))
		}
		fmt.Fprintln(w, strings.Join(row, "\t"))
	}
	return 0
}

func printJSON(w io.Writer, v any) int { return printIndented(w, v) }
