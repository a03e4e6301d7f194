package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

const adminUsage = `usage:
  kubeline users list | get NAME | create NAME --roles ds,ml [--groups G,...] | update NAME [--roles ...] [--groups ...]
                 | delete NAME | create-token NAME | whoami
  kubeline groups list | get NAME | create NAME [--pool POOL] | set-pool NAME POOL | delete NAME
  kubeline pools list | get NAME | create NAME --nodes NODE=GPUS,... [--gpu-type T] | update NAME --nodes ... | delete NAME
  kubeline projects list [--group G] | get NAME | create -f PROJECT.yaml | create NAME --metric M [--direction maximize|minimize] [--group G]
                    | delete NAME | archive NAME | unarchive NAME
  kubeline runs status RUN | start-anyway RUN
common flags: --server URL ($KUBELINE_SERVER, default http://127.0.0.1:8888), --token TOKEN ($KUBELINE_TOKEN), -o json`

// adminFlags are the flags of the admin commands.
type adminFlags struct {
	clientFlags
	roles, groups, pool, nodes, gpuType, file, group, metric, direction, description, pipeline string
}

func (a *adminFlags) register(fs *flag.FlagSet) {
	a.clientFlags.register(fs)
	fs.StringVar(&a.roles, "roles", "", "users: `ROLES`, comma-separated: operator (op), data-scientist (ds), ml-engineer (ml), production-engineer (pe)")
	fs.StringVar(&a.groups, "groups", "", "users: `GROUPS`, comma-separated (default: the default group)")
	fs.StringVar(&a.pool, "pool", "", "groups: the `POOL` the group's runs use (default: default)")
	fs.StringVar(&a.nodes, "nodes", "", "pools: `NODE=GPUS,...` the pool takes from the cluster")
	fs.StringVar(&a.gpuType, "gpu-type", "", "pools: the GPU `TYPE` (default: the nodes' type)")
	fs.StringVar(&a.file, "f", "", "projects create: a kind: Project YAML `FILE`")
	fs.StringVar(&a.group, "group", "", "projects: the `GROUP`")
	fs.StringVar(&a.metric, "metric", "", "projects create: the leaderboard `METRIC`")
	fs.StringVar(&a.direction, "direction", "", "projects create: maximize (default) or minimize")
	fs.StringVar(&a.description, "description", "", "projects create: a description")
	fs.StringVar(&a.pipeline, "pipeline", "", "projects create: the default pipeline's id")
}

// adminCmd is `kubeline users|groups|pools|projects|runs VERB ...`: thin
// calls of the server's /apis/kubeline/v1 API.
func adminCmd(noun string, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, adminUsage)
		return 2
	}
	fs := flag.NewFlagSet(noun, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var a adminFlags
	a.register(fs)
	if err := fs.Parse(interleave(args[1:], fs)); err != nil {
		return 2
	}
	verb, pos := args[0], fs.Args()
	req, err := a.request(noun, verb, pos)
	if err == errUsage {
		fmt.Fprintf(stderr, "kubeline %s %s: wrong arguments\n%s\n", noun, verb, adminUsage)
		return 2
	}
	var out map[string]any
	if err == nil {
		err = a.client().call(req.method, req.path, req.body, &out)
	}
	if err != nil {
		fmt.Fprintf(stderr, "kubeline %s %s: %v\n", noun, verb, err)
		return 1
	}
	if a.output == "json" {
		b, _ := json.MarshalIndent(out, "", "  ")
		fmt.Fprintln(stdout, string(b))
		return 0
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	defer w.Flush()
	req.print(w, out)
	return 0
}

type adminRequest struct {
	method, path string
	body         any
	print        func(io.Writer, map[string]any)
}

var errUsage = fmt.Errorf("usage")

// request turns a command line into its API call and printer.
func (a *adminFlags) request(noun, verb string, pos []string) (adminRequest, error) {
	one := len(pos) == 1
	name := ""
	if len(pos) > 0 {
		name = url.PathEscape(pos[0])
	}
	done := func(w io.Writer, _ map[string]any) {
		fmt.Fprintf(w, "%s %s: %s\n", strings.TrimSuffix(noun, "s"), pos[0], verb+"d")
	}
	switch noun + " " + verb {
	case "users list":
		return adminRequest{"GET", "/users?page_size=200", nil, table("users", "NAME", "ROLES", "GROUPS")}, nil
	case "users whoami":
		return adminRequest{"GET", "/whoami", nil, record("name", "roles", "groups", "multi_user")}, nil
	case "groups list":
		return adminRequest{"GET", "/groups?page_size=200", nil, table("groups", "NAME", "POOL", "MEMBERS")}, nil
	case "pools list":
		return adminRequest{"GET", "/pools", nil, printPools}, nil
	case "projects list":
		q := ""
		if a.group != "" {
			q = "&group=" + url.QueryEscape(a.group)
		}
		return adminRequest{"GET", "/projects?page_size=200" + q, nil, table("projects", "NAME", "GROUP", "METRIC", "DIRECTION", "OWNER", "STORAGE_STATE")}, nil
	}
	if !one && !(noun == "groups" && verb == "set-pool" && len(pos) == 2) && !(noun == "projects" && verb == "create" && a.file != "" && len(pos) == 0) {
		return adminRequest{}, errUsage
	}
	switch noun + " " + verb {
	case "users get", "groups get", "pools get", "projects get":
		return adminRequest{"GET", "/" + noun + "/" + name, nil, record()}, nil
	case "users delete", "groups delete", "pools delete", "projects delete":
		return adminRequest{"DELETE", "/" + noun + "/" + name, nil, done}, nil
	case "projects archive", "projects unarchive":
		return adminRequest{"POST", "/projects/" + name + ":" + verb, nil, done}, nil
	case "users create":
		return adminRequest{"POST", "/users", map[string]any{"name": pos[0], "roles": splitList(a.roles), "groups": splitList(a.groups)}, record()}, nil
	case "users update":
		body := map[string]any{}
		if a.roles != "" {
			body["roles"] = splitList(a.roles)
		}
		if a.groups != "" {
			body["groups"] = splitList(a.groups)
		}
		return adminRequest{"PATCH", "/users/" + name, body, record()}, nil
	case "users create-token":
		return adminRequest{"POST", "/users/" + name + "/tokens", nil, func(w io.Writer, m map[string]any) { fmt.Fprintln(w, str(m["token"])) }}, nil
	case "groups create":
		return adminRequest{"POST", "/groups", map[string]any{"name": pos[0], "pool": a.pool}, record()}, nil
	case "groups set-pool":
		return adminRequest{"PATCH", "/groups/" + name, map[string]any{"pool": pos[1]}, record()}, nil
	case "pools create", "pools update":
		nodes, err := parseNodes(a.nodes)
		if err != nil {
			return adminRequest{}, err
		}
		method, path := "POST", "/pools"
		if verb == "update" {
			method, path = "PATCH", "/pools/"+name
		}
		return adminRequest{method, path, map[string]any{"name": pos[0], "gpu_type": a.gpuType, "nodes": nodes}, record()}, nil
	case "projects create":
		body, err := a.project(pos)
		return adminRequest{"POST", "/projects", body, record()}, err
	case "runs status":
		return adminRequest{"GET", "/runs/" + name, nil, record("run_id", "display_name", "status", "state", "reason", "group", "pool", "gpus", "allocation", "owner")}, nil
	case "runs start-anyway":
		return adminRequest{"POST", "/runs/" + name + ":start_anyway", nil, record("run_id", "status", "start_anyway")}, nil
	}
	return adminRequest{}, errUsage
}

// parseNodes reads --nodes NODE=GPUS,...
func parseNodes(v string) ([]map[string]any, error) {
	var out []map[string]any
	for i, n := range splitList(v) {
		node, gpus, ok := strings.Cut(n, "=")
		count, err := strconv.ParseInt(gpus, 10, 64)
		if !ok || node == "" || err != nil {
			return nil, fmt.Errorf("--nodes[%d]: want NODE=GPUS, got %q", i, n)
		}
		out = append(out, map[string]any{"name": node, "gpus": count})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--nodes: give the pool's nodes as NODE=GPUS,...")
	}
	return out, nil
}

// table prints a list answer's items under key with the given columns
// (lower-cased column names are the fields).
func table(key string, cols ...string) func(io.Writer, map[string]any) {
	return func(w io.Writer, m map[string]any) {
		fmt.Fprintln(w, strings.Join(cols, "\t"))
		items, _ := m[key].([]any)
		for _, it := range items {
			row, _ := it.(map[string]any)
			cells := make([]string, len(cols))
			for i, c := range cols {
				cells[i] = str(row[strings.ToLower(c)])
			}
			fmt.Fprintln(w, strings.Join(cells, "\t"))
		}
	}
}

// record prints fields of one answer, one per line (all, sorted, when none
// are named).
func record(fields ...string) func(io.Writer, map[string]any) {
	return func(w io.Writer, m map[string]any) {
		if len(fields) == 0 {
			for k := range m {
				fields = append(fields, k)
			}
			slices.Sort(fields)
		}
		for _, f := range fields {
			if v, ok := m[f]; ok {
				fmt.Fprintf(w, "%s:\t%s\n", f, str(v))
			}
		}
	}
}

func printPools(w io.Writer, m map[string]any) {
	fmt.Fprintln(w, "NAME\tGPU_TYPE\tTOTAL\tUSED\tFREE\tQUEUED\tNODES\tGROUPS")
	items, _ := m["pools"].([]any)
	for _, it := range items {
		p, _ := it.(map[string]any)
		var nodes []string
		ns, _ := p["nodes"].([]any)
		for _, n := range ns {
			nm, _ := n.(map[string]any)
			nodes = append(nodes, fmt.Sprintf("%s=%s", str(nm["name"]), str(nm["gpus"])))
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", str(p["name"]), str(p["gpu_type"]), str(p["total_gpus"]), str(p["used_gpus"]),
			str(p["free_gpus"]), str(p["queued_runs"]), strings.Join(nodes, ","), str(p["groups"]))
	}
	fmt.Fprintf(w, "cluster: %s GPUs\n", str(m["cluster_gpus"]))
}
