package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kubeline/kubeline/runtime/apiserver"
	"github.com/kubeline/kubeline/runtime/store"
)

// adminFlags are the flags of the admin commands.
type adminFlags struct {
	output, db                                                                                 string
	roles, groups, pool, nodes, gpuType, file, group, metric, direction, description, pipeline string
}

// register adds the named flags to fs.
func (a *adminFlags) register(fs *pflag.FlagSet, names ...string) {
	for _, n := range names {
		switch n {
		case "roles":
			fs.StringVar(&a.roles, "roles", "", "`ROLES`, comma-separated: operator (op), data-scientist (ds), ml-engineer (ml), production-engineer (pe)")
		case "groups":
			fs.StringVar(&a.groups, "groups", "", "`GROUPS`, comma-separated (default: the default group)")
		case "pool":
			fs.StringVar(&a.pool, "pool", "", "the `POOL` the group's runs use (default: default)")
		case "nodes":
			fs.StringVar(&a.nodes, "nodes", "", "`NODE=GPUS,...` the pool takes from the cluster")
		case "gpu-type":
			fs.StringVar(&a.gpuType, "gpu-type", "", "the GPU `TYPE` (default: the nodes' type)")
		case "file":
			fs.StringVarP(&a.file, "file", "f", "", "a kind: Project YAML `FILE`")
		case "group":
			fs.StringVar(&a.group, "group", "", "the project's `GROUP`")
		case "metric":
			fs.StringVar(&a.metric, "metric", "", "the leaderboard `METRIC`")
		case "direction":
			fs.StringVar(&a.direction, "direction", "", "maximize (default) or minimize")
		case "description":
			fs.StringVar(&a.description, "description", "", "a description")
		case "db":
			fs.StringVar(&a.db, "db", "", "the server's store `URL` (a SQLite file or postgres://...): make the token in it directly, no server or token needed — the recovery of a lost operator token on the server's machine")
		case "pipeline":
			fs.StringVar(&a.pipeline, "pipeline", "", "the default pipeline's `ID`")
		default:
			panic("no admin flag " + n)
		}
	}
}

// adminVerb is one subcommand of users|groups|pools|projects|runs.
type adminVerb struct {
	use, short string
	args       cobra.PositionalArgs
	flags      []string
}

// adminVerbs are the admin commands; request maps each onto its API call.
var adminVerbs = map[string][]adminVerb{
	"users": {
		{"list", "list the users", noArgs, nil},
		{"get NAME", "show a user", exactArgs("NAME"), nil},
		{"create NAME --roles ROLES", "add a user", exactArgs("NAME"), []string{"roles", "groups"}},
		{"update NAME", "change a user's roles or groups", exactArgs("NAME"), []string{"roles", "groups"}},
		{"delete NAME", "remove a user", exactArgs("NAME"), nil},
		{"create-token NAME", "make a new bearer token for a user (printed once); with --db, directly in the store", exactArgs("NAME"), []string{"db"}},
		{"whoami", "who the token is, with roles and groups", noArgs, nil},
	},
	"groups": {
		{"list", "list the groups", noArgs, nil},
		{"get NAME", "show a group", exactArgs("NAME"), nil},
		{"create NAME", "add a group", exactArgs("NAME"), []string{"pool"}},
		{"set-pool NAME POOL", "change the pool a group's runs use", exactArgs("NAME", "POOL"), nil},
		{"delete NAME", "remove a group", exactArgs("NAME"), nil},
	},
	"pools": {
		{"list", "list the GPU pools with total, used and free GPUs", noArgs, nil},
		{"get NAME", "show a pool", exactArgs("NAME"), nil},
		{"create NAME --nodes NODE=GPUS,...", "make a pool of GPUs taken from the default pool", exactArgs("NAME"), []string{"nodes", "gpu-type"}},
		{"update NAME --nodes NODE=GPUS,...", "change a pool's nodes", exactArgs("NAME"), []string{"nodes", "gpu-type"}},
		{"delete NAME", "remove a pool (its GPUs return to default)", exactArgs("NAME"), nil},
	},
	"projects": {
		{"list", "list the projects", noArgs, []string{"group"}},
		{"get NAME", "show a project", exactArgs("NAME"), nil},
		{"create NAME --metric M | -f PROJECT.yaml", "make a project (a KFP experiment with a leaderboard)", projectCreateArgs,
			[]string{"file", "group", "metric", "direction", "description", "pipeline"}},
		{"delete NAME", "delete a project", exactArgs("NAME"), nil},
		{"archive NAME", "archive a project", exactArgs("NAME"), nil},
		{"unarchive NAME", "unarchive a project", exactArgs("NAME"), nil},
	},
	"runs": {
		{"status RUN", "a run's status, why it waits, its pool and GPUs", exactArgs("RUN"), nil},
		{"start-anyway RUN", "start a queued run now, whatever GPUs are free", exactArgs("RUN"), nil},
	},
}

var adminShort = map[string]string{
	"users":    "users, their roles, groups and tokens (operators)",
	"groups":   "groups of users that share resources, each using one GPU pool",
	"pools":    "GPU pools: GPUs of one type on named nodes",
	"projects": "projects: KFP experiments with a leaderboard metric",
	"runs":     "a run's admission: status, queue, start-anyway",
}

func projectCreateArgs(c *cobra.Command, args []string) error {
	if f, _ := c.Flags().GetString("file"); f != "" {
		return noArgs(c, args)
	}
	return exactArgs("NAME")(c, args)
}

// newAdminCmd is `kubeline users|groups|pools|projects|runs VERB ...`: thin
// calls of the server's /apis/kubeline/v1 API.
func newAdminCmd(s streams, g *globalFlags, noun string) *cobra.Command {
	var subs []*cobra.Command
	for _, v := range adminVerbs[noun] {
		var a adminFlags
		verb := strings.Fields(v.use)[0]
		c := &cobra.Command{
			Use:   v.use,
			Short: v.short,
			Args:  v.args,
			RunE: func(_ *cobra.Command, args []string) error {
				return adminCall(s, g, &a, noun, verb, args)
			},
		}
		if noun == "projects" {
			g.addStoreTo(c)
		} else {
			g.addTo(c)
		}
		if strings.Contains(v.use, " NAME") && noun != "runs" && verb != "create" {
			g.completeNames(c, noun)
		}
		a.register(c.Flags(), v.flags...)
		addOutputFlag(c, &a.output, "table", "json", "yaml")
		subs = append(subs, c)
	}
	return group(noun, adminShort[noun], subs...)
}

// adminCall makes the API call of noun verb and prints its answer.
func adminCall(s streams, g *globalFlags, a *adminFlags, noun, verb string, pos []string) error {
	if noun == "users" && verb == "create-token" && a.db != "" {
		return code(reportCode(s, "kubeline users create-token", withStore(a.db, func(ctx context.Context, st *store.Store) error {
			return createTokenInStore(ctx, st, pos[0], s.out)
		})))
	}
	req, err := a.request(noun, verb, pos)
	if err == errUsage {
		fmt.Fprintf(s.errOut, "kubeline %s %s: wrong arguments\n", noun, verb)
		return exitCode(exitUsage)
	}
	if err != nil {
		return reportErr(s, "kubeline "+noun+" "+verb, err)
	}
	return g.do(s, "kubeline "+noun+" "+verb, adminFallback(noun), func(c *apiClient) error {
		var out map[string]any
		if err := c.call(req.method, req.path, req.body, &out); err != nil {
			return err
		}
		return printOutput(s.out, a.output, out, func(w *tableWriter) { req.print(w.tw, out) })
	})
}

// adminFallback is where an admin command goes when no server is
// configured: projects are in the store; users, groups, pools and runs
// are a running server's (its --gpus, admission, tokens).
func adminFallback(noun string) fallback {
	if noun == "projects" {
		return toLocalStore
	}
	return toServer
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
	case "pools get":
		return adminRequest{"GET", "/pools/" + name, nil, printPool}, nil
	case "users get", "groups get", "projects get":
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
		return adminRequest{method, path, map[string]any{"name": pos[0], "gpu_type": a.gpuType, "nodes": nodes}, printPool}, nil
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

// createTokenInStore makes a new token for user name in the store itself:
// whoever holds the store (the server's machine, its database) recovers an
// operator whose token is lost, as the first start made one.
func createTokenInStore(ctx context.Context, st *store.Store, name string, out io.Writer) error {
	u, err := st.GetUser(ctx, name)
	if err != nil {
		return fmt.Errorf("user %s: %w", name, err)
	}
	token, hash := apiserver.NewToken()
	if err := st.AddToken(ctx, u.Name, hash); err != nil {
		return fmt.Errorf("add a token for %s: %w", name, err)
	}
	fmt.Fprintln(out, token)
	return nil
}

// reportCode is reportErr as an exit code.
func reportCode(s streams, what string, err error) int {
	if err != nil {
		fmt.Fprintf(s.errOut, "%s: %v\n", what, err)
		return exitFailure
	}
	return exitOK
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
				cells[i] = orDash(str(row[strings.ToLower(c)]))
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

// nodeList renders a pool's nodes as NODE=GPUS,...
func nodeList(v any) string {
	var nodes []string
	ns, _ := v.([]any)
	for _, n := range ns {
		nm, _ := n.(map[string]any)
		nodes = append(nodes, fmt.Sprintf("%s=%s", str(nm["name"]), str(nm["gpus"])))
	}
	return strings.Join(nodes, ",")
}

// printPool prints one pool, its nodes as NODE=GPUS.
func printPool(w io.Writer, m map[string]any) {
	rest := map[string]any{}
	for k, v := range m {
		if k != "nodes" {
			rest[k] = v
		}
	}
	rest["nodes"] = nodeList(m["nodes"])
	record()(w, rest)
}

func printPools(w io.Writer, m map[string]any) {
	fmt.Fprintln(w, "NAME\tGPU_TYPE\tTOTAL\tUSED\tFREE\tQUEUED\tNODES\tGROUPS")
	items, _ := m["pools"].([]any)
	for _, it := range items {
		p, _ := it.(map[string]any)
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", str(p["name"]), str(p["gpu_type"]), str(p["total_gpus"]), str(p["used_gpus"]),
			str(p["free_gpus"]), str(p["queued_runs"]), nodeList(p["nodes"]), str(p["groups"]))
	}
	fmt.Fprintf(w, "cluster: %s GPUs\n", str(m["cluster_gpus"]))
}
