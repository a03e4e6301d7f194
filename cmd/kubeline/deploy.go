package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"sigs.k8s.io/yaml"
)

// publishCmd is `kubeline models publish NAME@vN`: an ML Engineer puts a
// model version in the catalog.
func publishCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("models publish", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
	if err := fs.Parse(interleave(args, fs)); err != nil {
		return 2
	}
	name, ref, ok := strings.Cut(fs.Arg(0), "@")
	if fs.NArg() != 1 || !ok {
		fmt.Fprintln(stderr, "usage: kubeline models publish NAME@vN [--server URL] [--token TOKEN]")
		return 2
	}
	var out map[string]any
	if err := cf.client().call("POST", "/models/"+name+"/versions/"+ref+":publish", nil, &out); err != nil {
		fmt.Fprintf(stderr, "kubeline models publish: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "published model %s@v%s to the catalog (by %s)\n", name, str(out["version"]), str(out["published_by"]))
	return 0
}

// catalogCmd is `kubeline catalog`: the published models, with their
// metrics and the datasets they came from.
func catalogCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("catalog", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var out struct {
		Models []map[string]any `json:"models"`
	}
	if err := cf.client().call("GET", "/catalog", nil, &out); err != nil {
		fmt.Fprintf(stderr, "kubeline catalog: %v\n", err)
		return 1
	}
	if cf.output == "json" {
		b, _ := json.MarshalIndent(out, "", "  ")
		fmt.Fprintln(stdout, string(b))
		return 0
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "MODEL\tPUBLISHED BY\tDATASETS\tMETRICS")
	for _, m := range out.Models {
		var ms []string
		for _, x := range m["metrics"].([]any) {
			mm := x.(map[string]any)
			ms = append(ms, fmt.Sprintf("%s=%s", str(mm["name"]), str(mm["number_value"])))
		}
		lin, _ := m["lineage"].(map[string]any)
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", str(m["ref"]), str(m["published_by"]), str(lin["datasets"]), strings.Join(ms, " "))
	}
	w.Flush()
	return 0
}

// deployCmd is `kubeline deploy FILE`: deploy a Deployment (target local)
// on the server. Relative command paths that exist beside FILE become
// absolute, so the server (on this machine) finds the scripts.
func deployCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("deploy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
	if err := fs.Parse(interleave(args, fs)); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: kubeline deploy DEPLOYMENT.yaml [--server URL] [--token TOKEN]")
		return 2
	}
	data, err := os.ReadFile(fs.Arg(0))
	var doc map[string]any
	if err == nil {
		err = yaml.Unmarshal(data, &doc)
	}
	if err != nil {
		fmt.Fprintf(stderr, "kubeline deploy: %v\n", err)
		return 1
	}
	absolutise(doc, filepath.Dir(fs.Arg(0)))
	var out map[string]any
	if err := cf.client().call("POST", "/deployments", doc, &out); err != nil {
		fmt.Fprintf(stderr, "kubeline deploy %s:\n%v\n", fs.Arg(0), err)
		return 1
	}
	fmt.Fprintf(stdout, "deployment %s %s: model %s, POST %s%s\n", str(out["name"]), str(out["state"]), str(out["model"]), cf.server, str(out["url"]))
	return 0
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

// deploymentsCmd is `kubeline deployments list | stop NAME`.
func deploymentsCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("deployments", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: kubeline deployments list | stop NAME [--server URL] [--token TOKEN]")
		return 2
	}
	if err := fs.Parse(interleave(args[1:], fs)); err != nil {
		return 2
	}
	c := cf.client()
	switch {
	case args[0] == "list" && fs.NArg() == 0:
		var out struct {
			Deployments []map[string]any `json:"deployments"`
		}
		if err := c.call("GET", "/deployments", nil, &out); err != nil {
			fmt.Fprintf(stderr, "kubeline deployments list: %v\n", err)
			return 1
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tSTATE\tMODEL\tCANARY\tTRANSFORMER\tREQUESTS")
		for _, d := range out.Deployments {
			canary := "-"
			if d["canary"] != nil {
				canary = fmt.Sprintf("%s (%s%%)", str(d["canary"]), str(d["canary_traffic_percent"]))
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", str(d["name"]), str(d["state"]), str(d["model"]), canary, str(d["transformer"]), str(d["requests"]))
		}
		w.Flush()
	case args[0] == "stop" && fs.NArg() == 1:
		if err := c.call("POST", "/deployments/"+fs.Arg(0)+":stop", nil, nil); err != nil {
			fmt.Fprintf(stderr, "kubeline deployments stop: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "deployment %s stopped\n", fs.Arg(0))
	default:
		fmt.Fprintln(stderr, "usage: kubeline deployments list | stop NAME [--server URL] [--token TOKEN]")
		return 2
	}
	return 0
}

// predictCmd is `kubeline predict NAME -d JSON|@FILE [--v2]`: a request to
// the deployment through kubeline's inference endpoint.
func predictCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
	data := fs.String("d", "", "the request body: JSON, or @FILE")
	v2 := fs.Bool("v2", false, "KServe's V2 protocol (/v2/models/NAME/infer) instead of V1 (/v1/models/NAME:predict)")
	if err := fs.Parse(interleave(args, fs)); err != nil {
		return 2
	}
	if fs.NArg() != 1 || *data == "" {
		fmt.Fprintln(stderr, "usage: kubeline predict NAME -d JSON|@FILE [--v2] [--server URL] [--token TOKEN]")
		return 2
	}
	body := []byte(*data)
	if f, ok := strings.CutPrefix(*data, "@"); ok {
		var err error
		if body, err = os.ReadFile(f); err != nil {
			fmt.Fprintf(stderr, "kubeline predict: %v\n", err)
			return 1
		}
	}
	path := "/v1/models/" + fs.Arg(0) + ":predict"
	if *v2 {
		path = "/v2/models/" + fs.Arg(0) + "/infer"
	}
	c := cf.client()
	req, err := http.NewRequest("POST", c.server+path, bytes.NewReader(body))
	if err != nil {
		fmt.Fprintf(stderr, "kubeline predict: %v\n", err)
		return 1
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "kubeline predict: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "kubeline predict %s: %s: %s\n", fs.Arg(0), resp.Status, strings.TrimSpace(string(out)))
		return 1
	}
	fmt.Fprintln(stdout, strings.TrimSpace(string(out)))
	return 0
}
