package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// newPublishCmd is `kubeline models publish NAME@vN`: an ML Engineer puts a
// model version in the catalog.
func newPublishCmd(s streams, g *globalFlags) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "publish NAME@vN",
		Short: "put a model version into the catalog (ML Engineer; through the server)",
		Args:  exactArgs("NAME@vN"),
		RunE: func(_ *cobra.Command, args []string) error {
			name, ref, ok := strings.Cut(args[0], "@")
			if !ok {
				return usagef("want NAME@vN, got %q", args[0])
			}
			return serverCall(s, g, toLocalStore, "kubeline models publish", "POST", "/models/"+url.PathEscape(name)+"/versions/"+url.PathEscape(ref)+":publish", nil, output,
				func(w *tableWriter, out map[string]any) {
					w.line("published model %s@v%s to the catalog (by %s)", name, str(out["version"]), str(out["published_by"]))
				})
		},
	}
	addOutputFlag(c, &output, "table", "json", "yaml")
	return g.completeVersions(g.addStoreTo(c), "model", true)
}

// newCatalogCmd is `kubeline catalog`: the published models, with their
// metrics and the datasets they came from.
func newCatalogCmd(s streams, g *globalFlags) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "catalog",
		Short: "the published model versions, their metrics and source datasets",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			return serverCall(s, g, toLocalStore, "kubeline catalog", "GET", "/catalog", nil, output, printCatalog)
		},
	}
	addOutputFlag(c, &output, "table", "json", "yaml")
	return g.addStoreTo(c)
}

func printCatalog(w *tableWriter, out map[string]any) {
	w.row("MODEL", "PUBLISHED BY", "DATASETS", "METRICS")
	models, _ := out["models"].([]any)
	for _, x := range models {
		m, _ := x.(map[string]any)
		var ms []string
		metrics, _ := m["metrics"].([]any)
		for _, x := range metrics {
			mm, _ := x.(map[string]any)
			ms = append(ms, fmt.Sprintf("%s=%s", str(mm["name"]), str(mm["number_value"])))
		}
		lin, _ := m["lineage"].(map[string]any)
		w.row(str(m["ref"]), str(m["published_by"]), str(lin["datasets"]), strings.Join(ms, " "))
	}
}

// newDeployCmd is `kubeline deploy FILE [--cluster NAME]`: deploy a
// Deployment on the server: target local is served by the server itself;
// with --cluster, a target kserve Deployment's InferenceService is applied
// on that registered cluster. Relative command paths that exist beside
// FILE become absolute, so the server (on this machine) finds the scripts.
func newDeployCmd(s streams, g *globalFlags) *cobra.Command {
	var output, cluster string
	c := &cobra.Command{
		Use:   "deploy DEPLOYMENT.yaml",
		Short: "serve a catalog model version, here or on a registered cluster (Production Engineer; through the server)",
		Args:  exactArgs("DEPLOYMENT.yaml"),
		RunE: func(_ *cobra.Command, args []string) error {
			doc, err := readDeployment(args[0])
			if err != nil {
				return reportErr(s, "kubeline deploy", err)
			}
			path := "/deployments"
			if cluster != "" {
				path += "?cluster=" + url.QueryEscape(cluster)
			}
			return serverCall(s, g, toServer, "kubeline deploy "+args[0], "POST", path, doc, output, func(w *tableWriter, out map[string]any) {
				if out["cluster"] != nil {
					w.line("deployment %s %s: InferenceService %s/%s on cluster %s, model %s, POST %s", str(out["name"]), str(out["state"]),
						str(out["namespace"]), str(out["inference_service"]), str(out["cluster"]), str(out["model"]), str(out["url"]))
					return
				}
				server := ""
				if e, err := g.endpoint(); err == nil {
					server = e.server
				}
				w.line("deployment %s %s: model %s, POST %s%s", str(out["name"]), str(out["state"]), str(out["model"]), server, str(out["url"]))
			})
		},
	}
	c.Flags().StringVar(&cluster, "cluster", "", "apply the KServe InferenceService on the registered `CLUSTER` (kubeline clusters add; target kserve)")
	addOutputFlag(c, &output, "table", "json", "yaml")
	return g.addTo(c)
}

// readDeployment reads a Deployment file, with its scripts' paths made
// absolute.
func readDeployment(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	absolutise(doc, filepath.Dir(path))
	return doc, nil
}

// absolutise rewrites the predictor's and transformer's command words that
// name files beside the Deployment file into absolute paths.
func absolutise(doc map[string]any, dir string) {
	spec, _ := doc["spec"].(map[string]any)
	for _, k := range []string{"predictor", "transformer"} {
		c, _ := spec[k].(map[string]any)
		for _, field := range []string{"command", "args"} {
			words, _ := c[field].([]any)
			for i, w := range words {
				s, ok := w.(string)
				if !ok || s == "" || filepath.IsAbs(s) {
					continue
				}
				if p := filepath.Join(dir, s); fileExists(p) {
					abs, _ := filepath.Abs(p)
					words[i] = abs
				}
			}
		}
	}
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// newDeploymentsCmd is `kubeline deployments list | stop NAME`.
func newDeploymentsCmd(s streams, g *globalFlags) *cobra.Command {
	var output string
	list := &cobra.Command{
		Use:   "list",
		Short: "list the deployments",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			return serverCall(s, g, toServer, "kubeline deployments list", "GET", "/deployments", nil, output, printDeployments)
		},
	}
	addOutputFlag(list, &output, "table", "json", "yaml")
	stop := &cobra.Command{
		Use:   "stop NAME",
		Short: "stop a deployment",
		Args:  exactArgs("NAME"),
		RunE: func(_ *cobra.Command, args []string) error {
			return serverCall(s, g, toServer, "kubeline deployments stop", "POST", "/deployments/"+url.PathEscape(args[0])+":stop", nil, "table",
				func(w *tableWriter, _ map[string]any) { w.line("deployment %s stopped", args[0]) })
		},
	}
	return group("deployments", "the server's model deployments", g.addTo(list), g.completeNames(g.addTo(stop), "deployments"),
		g.addTo(newImportCmd(s, g)))
}

// newImportCmd is `kubeline deployments import NAME --cluster C
// --inference-service IS [--namespace NS] [--model M@vN]`: register a
// deployment running on a registered cluster for monitoring; kubeline's
// endpoint routes /v1/models/NAME to it and records its predictions.
func newImportCmd(s streams, g *globalFlags) *cobra.Command {
	var b struct{ cluster, isvc, namespace, model, output string }
	c := &cobra.Command{
		Use:   "import NAME --cluster C --inference-service IS",
		Short: "register an InferenceService running on a registered cluster, routed through kubeline for monitoring",
		Long: `Import registers a KServe InferenceService that runs on a registered cluster (kubeline clusters add)
under the deployment name NAME. kubeline's inference endpoint then routes /v1/models/NAME and
/v2/models/NAME to the service's URL, so its predictions are recorded and monitors can watch it:
predictions are recorded by routing through kubeline, not by polling the service's logs (nothing
needs configuring on the service or access to its pods; requests sent to the service directly are
not seen). kubeline never changes or deletes an imported service; deployments stop only forgets it.`,
		Args: exactArgs("NAME"),
		RunE: func(_ *cobra.Command, args []string) error {
			if b.cluster == "" || b.isvc == "" {
				return usagef("--cluster and --inference-service are required")
			}
			body := map[string]any{"name": args[0], "cluster": b.cluster, "inference_service": b.isvc, "namespace": b.namespace, "model": b.model}
			return serverCall(s, g, toServer, "kubeline deployments import", "POST", "/deployments:import", body, b.output, func(w *tableWriter, out map[string]any) {
				w.line("deployment %s imported: InferenceService %s/%s on cluster %s (%s), POST %s", str(out["name"]), str(out["namespace"]),
					str(out["inference_service"]), str(out["cluster"]), str(out["state"]), str(out["url"]))
			})
		},
	}
	c.Flags().StringVar(&b.cluster, "cluster", "", "the registered `CLUSTER` it runs on")
	c.Flags().StringVar(&b.isvc, "inference-service", "", "the InferenceService's `NAME`")
	c.Flags().StringVar(&b.namespace, "namespace", "", "its `NAMESPACE` (default the cluster's)")
	c.Flags().StringVar(&b.model, "model", "", "the model version it serves, `NAME@vN` (default from kubeline's labels on it)")
	addOutputFlag(c, &b.output, "table", "json", "yaml")
	return c
}

func printDeployments(w *tableWriter, out map[string]any) {
	w.row("NAME", "STATE", "MODEL", "CANARY", "TRANSFORMER", "CLUSTER", "REQUESTS")
	ds, _ := out["deployments"].([]any)
	for _, x := range ds {
		d, _ := x.(map[string]any)
		canary := "-"
		if d["canary"] != nil {
			canary = fmt.Sprintf("%s (%s%%)", str(d["canary"]), str(d["canary_traffic_percent"]))
		}
		cluster := "-"
		if d["cluster"] != nil {
			cluster = str(d["cluster"])
			if d["imported"] == true {
				cluster += " (imported)"
			}
		}
		w.row(str(d["name"]), str(d["state"]), str(d["model"]), canary, str(d["transformer"]), cluster, str(d["requests"]))
	}
}

// newPredictCmd is `kubeline predict NAME -d JSON|@FILE [--v2]`: a request
// to the deployment through kubeline's inference endpoint.
func newPredictCmd(s streams, g *globalFlags) *cobra.Command {
	var data string
	var v2 bool
	c := &cobra.Command{
		Use:   "predict NAME -d JSON|@FILE",
		Short: "send an inference request to a deployment (KServe V1, or V2 with --v2)",
		Args:  exactArgs("NAME"),
		RunE: func(_ *cobra.Command, args []string) error {
			if data == "" {
				return usagef("-d JSON|@FILE is required")
			}
			return code(predict(s, g, args[0], data, v2))
		},
	}
	c.Flags().StringVarP(&data, "data", "d", "", "the request body: JSON, or @FILE")
	c.Flags().BoolVar(&v2, "v2", false, "KServe's V2 protocol (/v2/models/NAME/infer) instead of V1 (/v1/models/NAME:predict)")
	return g.completeNames(g.addTo(c), "deployments")
}

func predict(s streams, g *globalFlags, name, data string, v2 bool) int {
	body := []byte(data)
	if f, ok := strings.CutPrefix(data, "@"); ok {
		var err error
		if body, err = os.ReadFile(f); err != nil {
			fmt.Fprintf(s.errOut, "kubeline predict: %v\n", err)
			return exitFailure
		}
	}
	path := "/v1/models/" + url.PathEscape(name) + ":predict"
	if v2 {
		path = "/v2/models/" + url.PathEscape(name) + "/infer"
	}
	c, err := g.dial(context.Background(), toServer)
	if err != nil {
		fmt.Fprintf(s.errOut, "kubeline predict: %v\n", err)
		return exitFailure
	}
	defer c.Close()
	req, err := http.NewRequest("POST", c.server+path, bytes.NewReader(body))
	if err != nil {
		fmt.Fprintf(s.errOut, "kubeline predict: %v\n", err)
		return exitFailure
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		fmt.Fprintf(s.errOut, "kubeline predict: %v\n", c.unreachable(err))
		return exitFailure
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(s.errOut, "kubeline predict %s: %s: %s\n", name, resp.Status, strings.TrimSpace(string(out)))
		return exitFailure
	}
	fmt.Fprintln(s.out, strings.TrimSpace(string(out)))
	return exitOK
}
