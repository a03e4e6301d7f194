package main

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	yamlv3 "gopkg.in/yaml.v3"
	"sigs.k8s.io/yaml"
)

// newMonitorsCmd is `kubeline monitors create FILE | list | status NAME |
// get NAME | delete NAME`: the monitors of deployments, through the
// server.
func newMonitorsCmd(s streams, g *globalFlags) *cobra.Command {
	var output, listOutput, statusOutput, getOutput, deployment string
	create := &cobra.Command{
		Use:   "create MONITOR.yaml",
		Short: "watch a deployment: drift, latency and error-rate goals, alerts, retraining (Production Engineer)",
		Args:  exactArgs("MONITOR.yaml"),
		RunE: func(_ *cobra.Command, args []string) error {
			doc, err := readYAMLDoc(args[0])
			if err != nil {
				return reportErr(s, "kubeline monitors create", err)
			}
			return serverCall(s, g, toServer, "kubeline monitors create "+args[0], "POST", "/monitors", doc, output, func(w *tableWriter, out map[string]any) {
				w.line("monitor %s watches deployment %s", str(out["name"]), str(out["deployment"]))
			})
		},
	}
	addOutputFlag(create, &output, "table", "json", "yaml")
	list := &cobra.Command{
		Use:   "list",
		Short: "list the monitors, with their windows and active alerts",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			path := "/monitors"
			if deployment != "" {
				path += "?deployment=" + url.QueryEscape(deployment)
			}
			return serverCall(s, g, toServer, "kubeline monitors list", "GET", path, nil, listOutput, printMonitors)
		},
	}
	list.Flags().StringVar(&deployment, "deployment", "", "only the monitors of `DEPLOYMENT`")
	addOutputFlag(list, &listOutput, "table", "json", "yaml")
	status := &cobra.Command{
		Use:   "status NAME",
		Short: "each metric of the newest window against its goal and tolerance, the active alerts, the action",
		Args:  exactArgs("NAME"),
		RunE: func(_ *cobra.Command, args []string) error {
			return serverCall(s, g, toServer, "kubeline monitors status", "GET", "/monitors/"+url.PathEscape(args[0])+"/status", nil, statusOutput, printMonitorStatus)
		},
	}
	addOutputFlag(status, &statusOutput, "table", "json", "yaml")
	get := &cobra.Command{
		Use:   "get NAME",
		Short: "a monitor's spec, owner and action",
		Args:  exactArgs("NAME"),
		RunE: func(_ *cobra.Command, args []string) error {
			return serverCall(s, g, toServer, "kubeline monitors get", "GET", "/monitors/"+url.PathEscape(args[0]), nil, getOutput, func(w *tableWriter, out map[string]any) {
				b, _ := yaml.Marshal(out)
				w.line("%s", strings.TrimRight(string(b), "\n"))
			})
		},
	}
	addOutputFlag(get, &getOutput, "yaml", "json")
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "delete a monitor, its windows and alerts (its owner or an operator)",
		Args:  exactArgs("NAME"),
		RunE: func(_ *cobra.Command, args []string) error {
			return serverCall(s, g, toServer, "kubeline monitors delete", "DELETE", "/monitors/"+url.PathEscape(args[0]), nil, "table",
				func(w *tableWriter, _ map[string]any) { w.line("monitor %s deleted", args[0]) })
		},
	}
	return group("monitors", "monitors of deployments: recorded predictions against a baseline, goals, alerts, retraining",
		g.addTo(create), g.addTo(list), g.completeNames(g.addTo(status), "monitors"), g.completeNames(g.addTo(get), "monitors"),
		g.completeNames(g.addTo(del), "monitors"))
}

// readYAMLDoc reads one YAML document as a map, in YAML 1.2 as the
// server does (YAML 1.1 would make a feature named y or no a boolean).
func readYAMLDoc(path string) (map[string]any, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := yamlv3.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return doc, nil
}

func printMonitors(w *tableWriter, out map[string]any) {
	w.row("NAME", "DEPLOYMENT", "WINDOWS", "ACTIVE ALERTS", "ACTION", "OWNER")
	ms, _ := out["monitors"].([]any)
	for _, x := range ms {
		m, _ := x.(map[string]any)
		a, _ := m["action"].(map[string]any)
		action := "-"
		if a["state"] != nil {
			action = str(a["state"])
		}
		w.row(str(m["name"]), str(m["deployment"]), str(m["windows"]), str(m["active_alerts"]), action, str(m["owner"]))
	}
}

func printMonitorStatus(w *tableWriter, out map[string]any) {
	win, _ := out["window"].(map[string]any)
	w.line("monitor %s of deployment %s (model %s): %s windows of %s requests, %s recorded since", str(out["name"]), str(out["deployment"]),
		str(out["model"]), str(out["windows"]), str(win["requests"]), str(win["recorded_since"]))
	if st := out["deployment_state"]; st != nil {
		w.line("deployment: %s", str(st))
	}
	if last, ok := out["last_window"].(map[string]any); ok {
		w.line("window %s against %s:", str(last["index"]), str(last["baseline"]))
		if e := last["error"]; e != nil {
			w.line("  %s", str(e))
		}
		w.row("  METRIC", "FEATURE", "VALUE", "GOAL", "TOLERANCE", "STATE")
		ms, _ := last["measures"].([]any)
		for _, x := range ms {
			m, _ := x.(map[string]any)
			state := "ok"
			if m["violated"] == true {
				state = "VIOLATED"
			}
			w.row("  "+str(m["metric"]), str(m["feature"]), fmt.Sprintf("%.4g", num(m["value"])), str(m["goal"]), str(m["tolerance"]), state)
		}
	}
	as, _ := out["active_alerts"].([]any)
	w.line("active alerts: %d", len(as))
	var lines []string
	for _, x := range as {
		a, _ := x.(map[string]any)
		lines = append(lines, fmt.Sprintf("  %s %s: %.4g > %.4g since window %s", str(a["metric"]), str(a["feature"]), num(a["value"]), num(a["limit"]), str(a["raised_window"])))
	}
	sort.Strings(lines)
	for _, l := range lines {
		w.line("%s", l)
	}
	if a, ok := out["action"].(map[string]any); ok && a["state"] != nil {
		w.line("action: %s %s %s", str(a["state"]), str(a["model"]), str(a["message"]))
	}
	if r, ok := out["recording"].(map[string]any); ok {
		w.line("recording: rate %s, %s recorded, %s dropped (queue full), %s lost (store faults)", str(r["sample_rate"]), str(r["recorded"]),
			str(r["dropped_queue_full"]), str(r["lost_to_store_faults"]))
	}
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}
