package main

import (
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

// globalFlags are --server and --token of the commands that talk to a
// server.
type globalFlags struct {
	server, token string
	// flags are the running command's, to tell a flag given from none.
	flags *pflag.FlagSet
}

// addTo gives c the flags --server and --token.
func (g *globalFlags) addTo(c *cobra.Command) *cobra.Command {
	fs := c.Flags()
	fs.StringVar(&g.server, "server", "", "kubeline server `URL` (default $KUBELINE_SERVER, else the current context of the config file, else "+defaultServer+")")
	fs.StringVar(&g.token, "token", "", "bearer `TOKEN` of a multi-user server (default $KUBELINE_TOKEN, else the current context's token)")
	return c
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
// pipelineVersionReference): as endpoint, but "" when nothing names one.
func (g *globalFlags) optionalServer() (endpoint, error) {
	e, err := g.endpoint()
	if e.from == "the default" {
		return endpoint{}, err
	}
	return e, err
}

// client is the API client of the resolved endpoint.
func (g *globalFlags) client() (*apiClient, error) {
	e, err := g.endpoint()
	if err != nil {
		return nil, err
	}
	return newAPIClient(e), nil
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
