package main

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

// ideStart are the flags of `kubeline ide start`.
type ideStart struct {
	image, code, project, group string
	gpus                        int64
	datasets, command           []string
	startAnyway                 bool
}

// body is the API's IDE body for an IDE named name.
func (o ideStart) body(name string) map[string]any {
	b := map[string]any{"name": name, "image": o.image, "gpus": o.gpus, "code": o.code, "project": o.project, "group": o.group,
		"datasets": o.datasets, "start_anyway": o.startAnyway}
	if len(o.command) > 0 {
		b["command"] = o.command
	}
	return b
}

// newIDECmd is `kubeline ide start|list|get|stop`: notebook sessions on the
// server, admitted on the group's GPU pool like runs.
func newIDECmd(s streams, g *globalFlags) *cobra.Command {
	var o ideStart
	var output string
	start := &cobra.Command{
		Use:   "start NAME --image CATALOG-NAME|IMAGE",
		Short: "start an IDE: a notebook admitted on the group's GPU pool like a run",
		Long: `Start starts an IDE on the server: its notebook (JupyterLab, or the image's command) runs with the
code and dataset versions mounted under its directory (code/NAME, datasets/NAME). It waits Queued until
its group's pool has its GPUs free (--start-anyway does not wait), holds them while it runs and gives
them back when it is stopped. A command may name its port as $(PORT).`,
		Args: exactArgs("NAME"),
		RunE: func(_ *cobra.Command, args []string) error {
			if o.image == "" {
				return usagef("--image is required: a catalog name (kubeline images list) or an image reference")
			}
			return serverCall(s, g, toServer, "kubeline ide start", "POST", "/ides", o.body(args[0]), output, printIDE)
		},
	}
	f := start.Flags()
	f.StringVar(&o.image, "image", "", "catalog `NAME` (kubeline images list) or image reference")
	f.Int64Var(&o.gpus, "gpus", 0, "GPUs the IDE holds while it runs")
	f.StringVar(&o.code, "code", "", "code version to mount: `NAME@vN` (or NAME@latest)")
	f.StringArrayVar(&o.datasets, "dataset", nil, "dataset version to mount: `NAME@vN` (repeatable)")
	f.StringVar(&o.project, "project", "", "the `PROJECT` whose group the IDE belongs to")
	f.StringVar(&o.group, "group", "", "the `GROUP` the IDE belongs to (users of several groups)")
	f.StringArrayVar(&o.command, "command", nil, "the notebook's command, one `ARG` per flag (default: the catalog entry's, or JupyterLab)")
	f.BoolVar(&o.startAnyway, "start-anyway", false, "start at once, whatever GPUs are free")
	addOutputFlag(start, &output, "table", "json", "yaml")

	var listOut, getOut, stopOut string
	list := &cobra.Command{
		Use:   "list",
		Short: "list the IDEs of your groups",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			return serverCall(s, g, toServer, "kubeline ide list", "GET", "/ides", nil, listOut, printIDEs)
		},
	}
	addOutputFlag(list, &listOut, "table", "json", "yaml")
	get := &cobra.Command{
		Use:   "get NAME",
		Short: "show an IDE: status and its history, URL, allocation, mounted versions",
		Args:  exactArgs("NAME"),
		RunE: func(_ *cobra.Command, args []string) error {
			return serverCall(s, g, toServer, "kubeline ide get", "GET", "/ides/"+url.PathEscape(args[0]), nil, getOut, printIDE)
		},
	}
	addOutputFlag(get, &getOut, "table", "json", "yaml")
	stop := &cobra.Command{
		Use:   "stop NAME",
		Short: "stop an IDE (its processes end, its GPUs go back to the pool)",
		Args:  exactArgs("NAME"),
		RunE: func(_ *cobra.Command, args []string) error {
			return serverCall(s, g, toServer, "kubeline ide stop", "POST", "/ides/"+url.PathEscape(args[0])+":stop", nil, stopOut, printIDE)
		},
	}
	addOutputFlag(stop, &stopOut, "table", "json", "yaml")
	return group("ide", "IDEs: notebook sessions on the server's GPU pools",
		g.addTo(start), g.addTo(list), g.completeNames(g.addTo(get), "ides"), g.completeNames(g.addTo(stop), "ides"))
}

func printIDEs(w *tableWriter, out map[string]any) {
	w.row("NAME", "GROUP", "STATUS", "GPUS", "IMAGE", "URL")
	ides, _ := out["ides"].([]any)
	for _, x := range ides {
		i, _ := x.(map[string]any)
		w.row(str(i["name"]), str(i["group"]), str(i["status"]), str(i["gpus"]), str(i["image"]), str(i["url"]))
	}
}

func printIDE(w *tableWriter, i map[string]any) {
	w.line("IDE %s (group %s, owner %s): %s", str(i["name"]), str(i["group"]), str(i["owner"]), str(i["status"]))
	var hist []string
	h, _ := i["status_history"].([]any)
	for _, x := range h {
		m, _ := x.(map[string]any)
		hist = append(hist, str(m["status"]))
	}
	w.line("  statuses: %s", strings.Join(hist, " → "))
	if r := str(i["reason"]); r != "" {
		w.line("  waits: %s", r)
	}
	w.line("  image: %s (%s), %s GPUs", str(i["image"]), str(i["image_ref"]), str(i["gpus"]))
	if u := str(i["url"]); u != "" {
		if t := str(i["token"]); t != "" {
			u += "?token=" + t
		}
		w.line("  url: %s", u)
	}
	if m := str(i["message"]); m != "" {
		w.line("  message: %s", m)
	}
	ds, _ := i["datasets"].([]any)
	if c := str(i["code"]); c != "" || len(ds) > 0 {
		w.line("  mounts: code %s, datasets %s", orDash(c), orDash(fmt.Sprint(ds...)))
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
