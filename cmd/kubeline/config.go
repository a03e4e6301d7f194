package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"
)

// defaultServer is the server a client command talks to when nothing
// names one: a `kubeline server` started on this machine.
const defaultServer = "http://127.0.0.1:8888"

// localName is the server name of the local store: `--server local`,
// KUBELINE_SERVER=local or a context whose server is local.
const localName = "local"

// globalFlags are --server and --token of the commands that talk to a
// server, and --db and --artifacts of those that may use the local store.
type globalFlags struct {
	server, token string
	db            string
	arts          storeFlags
	// flags are the running command's, to tell a flag given from none.
	flags *pflag.FlagSet
}

// addTo gives c the flags --server and --token of a command that needs a
// running server.
func (g *globalFlags) addTo(c *cobra.Command) *cobra.Command {
	fs := c.Flags()
	fs.StringVar(&g.server, "server", "", "kubeline server `URL` (default $KUBELINE_SERVER, else the current context of the config file, else "+defaultServer+")")
	fs.StringVar(&g.token, "token", "", "bearer `TOKEN` of a multi-user server (default $KUBELINE_TOKEN, else the current context's token)")
	return c
}

// addStoreTo gives c the flags of a command that works on a server when
// one is configured, else on the local store: --server, --token and --db.
func (g *globalFlags) addStoreTo(c *cobra.Command) *cobra.Command {
	fs := c.Flags()
	fs.StringVar(&g.server, "server", "", "kubeline server `URL`, or local for the local store (default $KUBELINE_SERVER, else the current context of the config file, else the local store)")
	fs.StringVar(&g.token, "token", "", "bearer `TOKEN` of a multi-user server (default $KUBELINE_TOKEN, else the current context's token)")
	fs.StringVar(&g.db, "db", "", dbUsage)
	return c
}

// dbUsage is --db's of the commands that may use the local store.
const dbUsage = "use the local store at `URL` (a SQLite file or postgres://...; default $KUBELINE_HOME/kubeline.db), not a server"

// fallback is where a command's requests go when nothing names a server.
type fallback int

const (
	// toLocalStore: the local store, through the API in this process.
	toLocalStore fallback = iota
	// toServer: the server on this machine (defaultServer); the command
	// needs one running (runs, pools, deployments live in its process).
	toServer
)

// dial resolves where the command's requests go (endpoint's order; --db
// names the local store) and opens it. Wrong flags are a usageError.
func (g *globalFlags) dial(ctx context.Context, fb fallback) (*apiClient, error) {
	e, err := g.endpoint()
	if err != nil {
		return nil, err
	}
	db := g.flags != nil && g.flags.Lookup("db") != nil && g.flags.Changed("db")
	switch {
	case db && e.from == "--server" && e.server != localName:
		return nil, usagef("--db names the local store and --server a server: give one of them")
	case db:
		return openLocal(ctx, g.db, g.arts)
	case e.server == localName && fb == toServer:
		return nil, fmt.Errorf("the server is %s (from %s), but this needs a running kubeline server: "+
			"start one with `kubeline server` and name it with --server URL, $KUBELINE_SERVER or a context", localName, e.from)
	case e.server == localName, e.from == "the default" && fb == toLocalStore:
		return openLocal(ctx, g.db, g.arts)
	}
	if g.flags != nil && g.flags.Lookup("artifacts") != nil && g.flags.Changed("artifacts") {
		return nil, usagef("--artifacts is for the local store; the server %s (from %s) keeps versions in its own", e.server, e.from)
	}
	return newAPIClient(e), nil
}

// do runs f with the client of dial and reports its error under what
// (exit 1); a wrong command line is a usage error (exit 2).
func (g *globalFlags) do(s streams, what string, fb fallback, f func(*apiClient) error) error {
	c, err := g.dial(context.Background(), fb)
	var ue usageError
	if errors.As(err, &ue) {
		return ue
	}
	if err != nil {
		return reportErr(s, what, err)
	}
	defer c.Close()
	return reportErr(s, what, f(c))
}

// explicitServer is the server given by --server, or "".
func (g *globalFlags) explicitServer() string {
	if g.flags != nil && g.flags.Changed("server") {
		return g.server
	}
	return ""
}

// endpoint is a resolved server and token, and where the server came from.
type endpoint struct {
	server, token, from string
}

// endpoint resolves the server and token: --server/--token, then
// $KUBELINE_SERVER/$KUBELINE_TOKEN, then the config file's current context
// ($KUBELINE_CONTEXT names another), then the local default. A context's
// token is sent only to that context's server.
func (g *globalFlags) endpoint() (endpoint, error) {
	e := endpoint{server: g.explicitServer(), from: "--server"}
	if e.server == "" {
		e.server, e.from = os.Getenv("KUBELINE_SERVER"), "$KUBELINE_SERVER"
	}
	ctx, err := currentContext()
	if err != nil {
		return e, err
	}
	if e.server == "" && ctx != nil {
		e.server, e.from = ctx.Server, "context "+ctx.Name+" of "+configPath()
	}
	if e.server == "" {
		e.server, e.from = defaultServer, "the default"
	}
	e.server = strings.TrimSuffix(e.server, "/")
	switch {
	case g.flags != nil && g.flags.Changed("token"):
		e.token = g.token
	case os.Getenv("KUBELINE_TOKEN") != "":
		e.token = os.Getenv("KUBELINE_TOKEN")
	case ctx != nil && strings.TrimSuffix(ctx.Server, "/") == e.server:
		e.token = ctx.Token
	}
	return e, nil
}

// optionalServer is the server a command may read from (an Experiment's
// pipelineVersionReference): as endpoint, but "" when nothing names one
// or it is the local store.
func (g *globalFlags) optionalServer() (endpoint, error) {
	e, err := g.endpoint()
	if e.from == "the default" || e.server == localName {
		return endpoint{}, err
	}
	return e, err
}

// configFile is ~/.kubeline/config: named contexts, each a server and its
// token, and the current one — like kubectl's kubeconfig.
type configFile struct {
	CurrentContext string          `json:"current-context,omitempty"`
	Contexts       []configContext `json:"contexts,omitempty"`
}

type configContext struct {
	Name   string `json:"name"`
	Server string `json:"server"`
	Token  string `json:"token,omitempty"`
}

// configPath is $KUBELINE_CONFIG, default $KUBELINE_HOME/config
// (~/.kubeline/config).
func configPath() string {
	if p := os.Getenv("KUBELINE_CONFIG"); p != "" {
		return p
	}
	return filepath.Join(kubelineHome(), "config")
}

// readConfig reads the config file; a missing file is an empty config.
func readConfig() (*configFile, error) {
	path := configPath()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &configFile{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the config file: %w", err)
	}
	var c configFile
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	for i, ctx := range c.Contexts {
		if ctx.Name == "" {
			return nil, fmt.Errorf("config file %s: contexts[%d].name is empty", path, i)
		}
	}
	return &c, nil
}

// writeConfig writes the config file readable by its owner only (it holds
// tokens), replacing the old one whole.
func writeConfig(c *configFile) error {
	path := configPath()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write the config file: %w", err)
	}
	data, err := yaml.Marshal(c)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config-*")
	if err != nil {
		return fmt.Errorf("write the config file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write the config file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write the config file: %w", err)
	}
	return os.Rename(tmp.Name(), path)
}

func (c *configFile) find(name string) int {
	return slices.IndexFunc(c.Contexts, func(x configContext) bool { return x.Name == name })
}

// currentContext is the context $KUBELINE_CONTEXT or the file's
// current-context names; nil when none is set.
func currentContext() (*configContext, error) {
	c, err := readConfig()
	if err != nil {
		return nil, err
	}
	name := c.CurrentContext
	if env := os.Getenv("KUBELINE_CONTEXT"); env != "" {
		name = env
	}
	if name == "" {
		return nil, nil
	}
	i := c.find(name)
	if i < 0 {
		return nil, fmt.Errorf("context %q is not in %s (kubeline config get-contexts lists them)", name, configPath())
	}
	return &c.Contexts[i], nil
}

// newConfigCmd is `kubeline config`: the contexts of the config file.
func newConfigCmd(s streams, g *globalFlags) *cobra.Command {
	var use bool
	set := &cobra.Command{
		Use:   "set-context NAME --server URL [--token TOKEN]",
		Short: "add or change a context (a server and its token)",
		Args:  exactArgs("NAME"),
		RunE: func(c *cobra.Command, args []string) error {
			return reportErr(s, "kubeline config set-context", setContext(s, args[0], g, use))
		},
	}
	set.Flags().BoolVar(&use, "use", false, "make it the current context")
	g.addTo(set)
	var output string
	get := &cobra.Command{
		Use:   "get-contexts",
		Short: "list the contexts (* marks the current one; tokens are not shown)",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return reportErr(s, "kubeline config get-contexts", getContexts(s, output))
		},
	}
	addOutputFlag(get, &output, "table", "json", "yaml")
	return group("config", "contexts of the config file (~/.kubeline/config): servers and their tokens",
		set, get,
		&cobra.Command{
			Use:   "use-context NAME",
			Short: "make NAME the current context",
			Args:  exactArgs("NAME"),
			RunE: func(c *cobra.Command, args []string) error {
				return reportErr(s, "kubeline config use-context", editConfig(func(cf *configFile) error {
					if cf.find(args[0]) < 0 {
						return fmt.Errorf("no context %q", args[0])
					}
					cf.CurrentContext = args[0]
					fmt.Fprintf(s.out, "current context: %s\n", args[0])
					return nil
				}))
			},
		},
		&cobra.Command{
			Use:   "current-context",
			Short: "print the current context's name",
			Args:  noArgs,
			RunE: func(c *cobra.Command, _ []string) error {
				ctx, err := currentContext()
				if err == nil && ctx == nil {
					err = fmt.Errorf("no current context in %s", configPath())
				}
				if err == nil {
					fmt.Fprintln(s.out, ctx.Name)
				}
				return reportErr(s, "kubeline config current-context", err)
			},
		},
		&cobra.Command{
			Use:   "delete-context NAME",
			Short: "remove a context",
			Args:  exactArgs("NAME"),
			RunE: func(c *cobra.Command, args []string) error {
				return reportErr(s, "kubeline config delete-context", editConfig(func(cf *configFile) error {
					i := cf.find(args[0])
					if i < 0 {
						return fmt.Errorf("no context %q", args[0])
					}
					cf.Contexts = slices.Delete(cf.Contexts, i, i+1)
					if cf.CurrentContext == args[0] {
						cf.CurrentContext = ""
					}
					fmt.Fprintf(s.out, "context %s deleted\n", args[0])
					return nil
				}))
			},
		},
	)
}

// reportErr prints a command's error under its name: exit 1.
func reportErr(s streams, what string, err error) error {
	if err == nil {
		return nil
	}
	fmt.Fprintf(s.errOut, "%s: %v\n", what, err)
	return exitCode(exitFailure)
}

func editConfig(edit func(*configFile) error) error {
	c, err := readConfig()
	if err != nil {
		return err
	}
	if err := edit(c); err != nil {
		return err
	}
	return writeConfig(c)
}

func setContext(s streams, name string, g *globalFlags, use bool) error {
	return editConfig(func(c *configFile) error {
		i := c.find(name)
		if i < 0 {
			if !g.flags.Changed("server") {
				return fmt.Errorf("a new context needs --server URL")
			}
			c.Contexts = append(c.Contexts, configContext{Name: name})
			i = len(c.Contexts) - 1
		}
		if g.flags.Changed("server") {
			c.Contexts[i].Server = g.server
		}
		if g.flags.Changed("token") {
			c.Contexts[i].Token = g.token
		}
		if use || c.CurrentContext == "" {
			c.CurrentContext = name
		}
		fmt.Fprintf(s.out, "context %s: server %s (config %s)\n", name, c.Contexts[i].Server, configPath())
		return nil
	})
}

func getContexts(s streams, output string) error {
	c, err := readConfig()
	if err != nil {
		return err
	}
	type row struct {
		Name    string `json:"name"`
		Server  string `json:"server"`
		Token   bool   `json:"token_set"`
		Current bool   `json:"current"`
	}
	rows := []row{}
	for _, x := range c.Contexts {
		rows = append(rows, row{Name: x.Name, Server: x.Server, Token: x.Token != "", Current: x.Name == c.CurrentContext})
	}
	return printOutput(s.out, output, map[string]any{"contexts": rows}, func(w *tableWriter) {
		w.row("CURRENT", "NAME", "SERVER", "TOKEN")
		for _, r := range rows {
			w.row(map[bool]string{true: "*"}[r.Current], r.Name, r.Server, map[bool]string{true: "set", false: "-"}[r.Token])
		}
	})
}
