package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/store"
)

// newStepCmd is `kubeline step version|metrics|publish|compare|gate`: what
// the reusable components of components/ run inside a step (their image is
// kubeline's; the embedded engine runs them on this machine with this
// binary). Each takes its component's inputs as flags and writes its
// outputs where the placeholders say.
func newStepCmd(s streams, g *globalFlags) *cobra.Command {
	return group("step", "what the components of components/ run inside a step (version, metrics, publish, compare, gate)",
		newStepVersionCmd(s), newStepMetricsCmd(s), newStepPublishCmd(s, g), newStepCompareCmd(s, g), newStepGateCmd(s))
}

// stepOutputs are where a step writes: executor_output.json (output
// artifacts' metadata) and output parameter files.
type stepOutputs struct{ executorOutput string }

// artifactMetadata writes executor_output.json giving output artifact
// name the metadata md.
func (o stepOutputs) artifactMetadata(name string, md map[string]any) error {
	if o.executorOutput == "" {
		return fmt.Errorf("--executor-output is required (the component passes {{$.outputs.output_file}})")
	}
	b, err := json.Marshal(map[string]any{"artifacts": map[string]any{name: map[string]any{"artifacts": []any{map[string]any{"metadata": md}}}}})
	if err != nil {
		return err
	}
	return writeOutputFile(o.executorOutput, string(b))
}

// writeOutputFile writes an output parameter's (or executor output's) file.
func writeOutputFile(path, value string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(value), 0o644)
}

func newStepVersionCmd(s streams) *cobra.Command {
	var kind, name, from, to, output string
	var o stepOutputs
	c := &cobra.Command{
		Use:   "version --kind dataset|model --name NAME --from PATH --to PATH",
		Short: "pass an artifact on as the output that becomes the next version of a dataset or model when the run succeeds",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			if kind != store.KindDataset && kind != store.KindModel {
				return reportErr(s, "kubeline step version", fmt.Errorf("--kind %q: want dataset or model", kind))
			}
			if err := store.CheckResourceName(kind, name); err != nil {
				return reportErr(s, "kubeline step version", fmt.Errorf("--name: %w", err))
			}
			if err := artifact.CopyTree(context.Background(), from, to); err != nil {
				return reportErr(s, "kubeline step version", fmt.Errorf("copy %s: %w", from, err))
			}
			if err := o.artifactMetadata(output, map[string]any{"kubeline.io/" + kind: name}); err != nil {
				return reportErr(s, "kubeline step version", err)
			}
			fmt.Fprintf(s.out, "output %s becomes the next version of %s %s when the run succeeds\n", output, kind, name)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&kind, "kind", store.KindDataset, "dataset or model")
	f.StringVar(&name, "name", "", "the dataset's or model's `NAME`")
	f.StringVar(&from, "from", "", "the input artifact's `PATH`")
	f.StringVar(&to, "to", "", "the output artifact's `PATH`")
	f.StringVar(&output, "output", "versioned", "the output artifact's `NAME`")
	f.StringVar(&o.executorOutput, "executor-output", "", "executor_output.json's `PATH` ({{$.outputs.output_file}})")
	return c
}

func newStepMetricsCmd(s streams) *cobra.Command {
	var metrics, to, output string
	var o stepOutputs
	c := &cobra.Command{
		Use:   "metrics --metrics JSON --to PATH",
		Short: "log metrics (a JSON object of numbers) as a system.Metrics output, recorded with the run",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			ms, err := parseMetrics(metrics)
			if err == nil {
				var b []byte
				b, _ = json.MarshalIndent(ms, "", "  ")
				err = writeOutputFile(to, string(b)+"\n")
			}
			if err == nil {
				err = o.artifactMetadata(output, ms)
			}
			if err != nil {
				return reportErr(s, "kubeline step metrics", err)
			}
			for _, k := range slices.Sorted(maps.Keys(ms)) {
				fmt.Fprintf(s.out, "metric %s = %g\n", k, ms[k])
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&metrics, "metrics", "", `the metrics, a JSON object of numbers: {"accuracy": 0.9}`)
	f.StringVar(&to, "to", "", "the metrics artifact's `PATH`")
	f.StringVar(&output, "output", "metrics", "the metrics artifact's `NAME`")
	f.StringVar(&o.executorOutput, "executor-output", "", "executor_output.json's `PATH` ({{$.outputs.output_file}})")
	return c
}

// parseMetrics reads a JSON object of finite numbers (a number written as
// a string is taken too: KFP passes parameters as text); every bad entry
// is named.
func parseMetrics(s string) (map[string]any, error) {
	var raw map[string]any
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, fmt.Errorf(`--metrics: want a JSON object of numbers like {"accuracy": 0.9}: %w`, err)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("--metrics: no metrics")
	}
	out := map[string]any{}
	var bad []string
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		v, err := number(raw[k])
		if err != nil || k == "" {
			bad = append(bad, fmt.Sprintf("%q: %v is not a number", k, raw[k]))
			continue
		}
		out[k] = v
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("--metrics: %s", strings.Join(bad, "; "))
	}
	return out, nil
}

func number(v any) (float64, error) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case string:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
			return 0, err
		}
	default:
		return 0, fmt.Errorf("not a number")
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("not finite")
	}
	return f, nil
}

func newStepPublishCmd(s streams, g *globalFlags) *cobra.Command {
	var name, from, group, versionFile string
	c := &cobra.Command{
		Use:   "publish --name NAME --from PATH",
		Short: "make a model artifact a version of model NAME now and put it in the catalog (through the API)",
		Long: `Publish makes the model artifact at PATH the next version of model NAME (or finds the version with
the same content) and publishes it to the catalog, through kubeline's API: the configured server
($KUBELINE_SERVER, $KUBELINE_TOKEN or the config file's context, as for every command), else the
local store. It writes NAME@vN to --version-file. When the run succeeds, its own record links the
same version (same content) to the run, so lineage holds.`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			return g.do(s, "kubeline step publish", toLocalStore, func(c *apiClient) error {
				return publishStep(c, s.out, name, from, group, versionFile)
			})
		},
	}
	f := c.Flags()
	f.StringVar(&name, "name", "", "the model's `NAME`")
	f.StringVar(&from, "from", "", "the model artifact's `PATH`")
	f.StringVar(&group, "group", "", "the `GROUP` of a new model (default your first)")
	f.StringVar(&versionFile, "version-file", "", "where NAME@vN is written (the output parameter's file)")
	return c
}

func publishStep(c *apiClient, w io.Writer, name, from, group, versionFile string) error {
	if name == "" || from == "" {
		return fmt.Errorf("--name and --from are required")
	}
	v, err := c.uploadVersion(store.KindModel, name, from, group)
	if err != nil {
		return err
	}
	ref := fmt.Sprintf("%s@v%s", name, str(v["version"]))
	if err := c.call("POST", "/models/"+url.PathEscape(name)+"/versions/v"+str(v["version"])+":publish", nil, nil); err != nil {
		return fmt.Errorf("publish %s: %w", ref, err)
	}
	how := "a new version"
	if v["created"] != true {
		how = "the version with the same content"
	}
	fmt.Fprintf(w, "published model %s (%s) to the catalog\n", ref, how)
	if versionFile != "" {
		return writeOutputFile(versionFile, ref)
	}
	return nil
}

// compareFlags are `kubeline step compare`'s.
type compareFlags struct {
	model, metric, deployment, direction string
	value                                float64
	betterFile, baselineFile             string
}

func newStepCompareCmd(s streams, g *globalFlags) *cobra.Command {
	var f compareFlags
	c := &cobra.Command{
		Use:   "compare --model NAME --metric M --value V",
		Short: "compare a candidate's metric with the deployed model version's",
		Long: `Compare compares the candidate's metric value with the same metric of the deployed model version:
the version deployment --deployment serves on the server (a running server is needed for a
deployment), else model NAME's latest version in the catalog. It writes true to --better-file when
the candidate is at least as good (by --direction) or nothing is deployed, and the deployed value (or
nothing) to --baseline-file.`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			if f.direction != "maximize" && f.direction != "minimize" {
				return reportErr(s, "kubeline step compare", fmt.Errorf("--direction %q: want maximize or minimize", f.direction))
			}
			fb := toLocalStore
			if f.deployment != "" {
				fb = toServer
			}
			return g.do(s, "kubeline step compare", fb, func(c *apiClient) error { return compareStep(c, s.out, f) })
		},
	}
	fs := c.Flags()
	fs.StringVar(&f.model, "model", "", "the model's `NAME`")
	fs.StringVar(&f.metric, "metric", "", "the metric's `NAME` (TASK.NAME or NAME)")
	fs.Float64Var(&f.value, "value", 0, "the candidate's value")
	fs.StringVar(&f.deployment, "deployment", "", "the `DEPLOYMENT` whose model version is the baseline")
	fs.StringVar(&f.direction, "direction", "maximize", "maximize or minimize")
	fs.StringVar(&f.betterFile, "better-file", "", "where true or false is written")
	fs.StringVar(&f.baselineFile, "baseline-file", "", "where the deployed version's value is written")
	return c
}

func compareStep(c *apiClient, w io.Writer, f compareFlags) error {
	if f.model == "" || f.metric == "" {
		return fmt.Errorf("--model and --metric are required")
	}
	ref, err := deployedVersion(c, f.model, f.deployment)
	if err != nil {
		return err
	}
	baseline, found := 0.0, false
	if ref != "" {
		if baseline, found, err = versionMetric(c, ref, f.metric); err != nil {
			return err
		}
	}
	better := candidateBetter(f.value, baseline, found, f.direction)
	switch {
	case ref == "":
		fmt.Fprintf(w, "nothing deployed for model %s: the candidate (%s %g) goes ahead\n", f.model, f.metric, f.value)
	case !found:
		fmt.Fprintf(w, "the deployed %s has no metric %s: the candidate (%g) goes ahead\n", ref, f.metric, f.value)
	default:
		fmt.Fprintf(w, "candidate %s %g vs deployed %s %g (%s): %s\n", f.metric, f.value, ref, baseline, f.direction,
			map[bool]string{true: "better or equal", false: "worse"}[better])
	}
	if f.baselineFile != "" {
		b := ""
		if found {
			b = strconv.FormatFloat(baseline, 'g', -1, 64)
		}
		if err := writeOutputFile(f.baselineFile, b); err != nil {
			return err
		}
	}
	if f.betterFile != "" {
		return writeOutputFile(f.betterFile, strconv.FormatBool(better))
	}
	return nil
}

// candidateBetter decides a comparison: with no baseline the candidate
// wins; otherwise it must be at least as good in direction.
func candidateBetter(value, baseline float64, found bool, direction string) bool {
	if !found {
		return true
	}
	if direction == "minimize" {
		return value <= baseline
	}
	return value >= baseline
}

// deployedVersion is the model version deployment serves, or model's
// latest version in the catalog ("" when there is none).
func deployedVersion(c *apiClient, model, deployment string) (string, error) {
	if deployment != "" {
		var d map[string]any
		if err := c.call("GET", "/deployments/"+url.PathEscape(deployment), nil, &d); err != nil {
			return "", fmt.Errorf("deployment %s: %w", deployment, err)
		}
		return str(d["model"]), nil
	}
	var cat map[string]any
	if err := c.call("GET", "/catalog", nil, &cat); err != nil {
		return "", err
	}
	best, ref := 0, ""
	for _, m := range items(cat, "models") {
		r := strings.TrimPrefix(str(m["ref"]), "model://")
		name, n, err := parseRef(store.KindModel, r)
		if err == nil && name == model && n > best {
			best, ref = n, r
		}
	}
	return ref, nil
}

// versionMetric is a model version's metric (from the run that produced
// it): by TASK.NAME, or by NAME when one task has it.
func versionMetric(c *apiClient, ref, metric string) (float64, bool, error) {
	p, err := versionPath(store.KindModel, ref)
	if err != nil {
		return 0, false, err
	}
	var v map[string]any
	if err := c.call("GET", p, nil, &v); err != nil {
		return 0, false, err
	}
	for _, m := range items(v, "metrics") {
		if str(m["name"]) == metric || str(m["task"])+"."+str(m["name"]) == metric {
			n, _ := m["number_value"].(float64)
			return n, true, nil
		}
	}
	return 0, false, nil
}

func newStepGateCmd(s streams) *cobra.Command {
	var metric, direction, passedFile string
	var value, threshold float64
	c := &cobra.Command{
		Use:   "gate --metric M --value V --threshold T",
		Short: "gate a deployment on a metric: passed when the value meets the threshold",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			if direction != "maximize" && direction != "minimize" {
				return reportErr(s, "kubeline step gate", fmt.Errorf("--direction %q: want maximize or minimize", direction))
			}
			passed := gatePassed(value, threshold, direction)
			verb := map[string]string{"maximize": "at least", "minimize": "at most"}[direction]
			fmt.Fprintf(s.out, "gate %s: %g, wanted %s %g: %s\n", metric, value, verb, threshold, map[bool]string{true: "passed", false: "not passed"}[passed])
			if passedFile != "" {
				return reportErr(s, "kubeline step gate", writeOutputFile(passedFile, strconv.FormatBool(passed)))
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&metric, "metric", "metric", "the metric's `NAME` (for the message)")
	f.Float64Var(&value, "value", 0, "the metric's value")
	f.Float64Var(&threshold, "threshold", 0, "the threshold the value must meet")
	f.StringVar(&direction, "direction", "maximize", "maximize (value >= threshold) or minimize (value <= threshold)")
	f.StringVar(&passedFile, "passed-file", "", "where true or false is written")
	return c
}

// gatePassed decides a gate.
func gatePassed(value, threshold float64, direction string) bool {
	if direction == "minimize" {
		return value <= threshold
	}
	return value >= threshold
}

// stepEnv is the environment of the steps the embedded engine runs for
// this process without a sandbox: this process's, with this kubeline
// binary's directory first on PATH, so a component's `kubeline step ...`
// runs this kubeline, as kubeline's image runs its own. A binary not named
// kubeline (a test binary) leaves PATH as it is.
func stepEnv() []string {
	env := os.Environ()
	self, err := os.Executable()
	if err != nil || filepath.Base(self) != "kubeline" {
		return env
	}
	dir := filepath.Dir(self)
	for i, kv := range env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			env[i] = "PATH=" + dir + string(os.PathListSeparator) + p
			return env
		}
	}
	return append(env, "PATH="+dir)
}
