package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// version is set with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes of every command (README, "Exit codes").
const (
	exitOK      = 0 // done
	exitFailure = 1 // the command ran and failed: a bad spec, a failed run, an error from the server
	exitUsage   = 2 // the command line is wrong: unknown command or flag, missing or extra arguments
)

// exitCode is returned by a command that has already said what went wrong;
// run turns it into the process's exit code.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }

// code turns a command's exit code into its RunE result.
func code(c int) error {
	if c == exitOK {
		return nil
	}
	return exitCode(c)
}

// usageError is a wrong command line found by a command itself.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// streams are the standard streams a command writes to.
type streams struct {
	in          io.Reader
	out, errOut io.Writer
}

// run executes the command line args and returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot(streams{in: stdin, out: stdout, errOut: stderr})
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if err == nil {
		return exitOK
	}
	var ec exitCode
	if errors.As(err, &ec) {
		return int(ec)
	}
	if cmd == nil {
		cmd = root
	}
	fmt.Fprintf(stderr, "%s: %v\n", cmd.CommandPath(), strings.TrimRight(err.Error(), "\n"))
	if cmd.Runnable() {
		fmt.Fprintf(stderr, "usage: %s\n", cmd.UseLine())
	}
	fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	return exitUsage
}

// newRoot builds the command tree. Each command's logic is a function of
// plain values; the cobra layer only binds flags and arguments to them.
func newRoot(s streams) *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:   "kubeline",
		Short: "compile KFP v2 pipelines into Argo Workflows and run them",
		Long: `kubeline compiles KFP v2 pipelines into Argo Workflows and runs them: on this machine with the
embedded engine, or on Kubernetes with Argo Workflows; it serves a KFP-compatible API and keeps
versions of datasets and models, their lineage, GPU pools, users and deployments.

Start with:  kubeline run examples/hello-params/pipeline.yaml`,
		Version:       version,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetVersionTemplate("kubeline {{.Version}}\n")
	root.SetOut(s.out)
	root.SetErr(s.errOut)
	root.SetIn(orEmpty(s.in))
	root.SetUsageFunc(printUsage)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err.Error()} })
	root.PersistentPreRun = func(c *cobra.Command, _ []string) { g.flags = c.Flags() }

	root.AddGroup(&cobra.Group{ID: "pipelines", Title: "Pipelines:"},
		&cobra.Group{ID: "resources", Title: "Resources (on the configured server, else the local store):"},
		&cobra.Group{ID: "server", Title: "Servers and what lives in one (--server, --token; default " + defaultServer + "):"},
		&cobra.Group{ID: "steps", Title: "Inside a step:"})
	add := func(group string, cmds ...*cobra.Command) {
		for _, c := range cmds {
			c.GroupID = group
			root.AddCommand(c)
		}
	}
	add("pipelines", newInitCmd(s), newCompileCmd(s, g), newRunCmd(s, g), newHPOCmd(s, g), newArgoRepositoryCmd(s))
	add("resources", newResourceCmd(s, g, "dataset"), newResourceCmd(s, g, "model"), newCodeCmd(s, g), newFeatureSetsCmd(s, g),
		newLineageCmd(s, g), newCatalogCmd(s, g), newAdminCmd(s, g, "projects"), newLeaderboardCmd(s, g), newCompareCmd(s, g),
		newClustersCmd(s, g), newImagesCmd(s, g))
	add("server", newServerCmd(s), newConfigCmd(s, g),
		newAdminCmd(s, g, "users"), newAdminCmd(s, g, "groups"), newAdminCmd(s, g, "pools"), newAdminCmd(s, g, "runs"),
		newDeployCmd(s, g), newDeploymentsCmd(s, g), newPredictCmd(s, g), newIDECmd(s, g), newMonitorsCmd(s, g))
	add("steps", newSuggestCmd(s), newLaunchCmd(s), newInstallCmd(s), newStepCmd(s, g))
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "print kubeline's version",
		Args:  noArgs,
		Run:   func(*cobra.Command, []string) { fmt.Fprintln(s.out, "kubeline", version) },
	})
	root.SetHelpCommandGroupID("")
	root.SetCompletionCommandGroupID("")
	return root
}

func orEmpty(r io.Reader) io.Reader {
	if r == nil {
		return strings.NewReader("")
	}
	return r
}

// group makes a command that only holds subcommands: run alone it shows
// its help; an unknown subcommand is a usage error with suggestions.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
			if s := c.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
			}
			return usageError{msg}
		},
		RunE: func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	c.AddCommand(subs...)
	return c
}

// exactArgs wants exactly the named positional arguments.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return usagef("want %s, got %d argument(s)%s", strings.Join(names, " "), len(args), listArgs(args))
		}
		return nil
	}
}

// minArgs wants at least n positional arguments, described by what.
func minArgs(n int, what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) < n {
			return usagef("want %s", what)
		}
		return nil
	}
}

func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("takes no arguments, got%s", listArgs(args))
	}
	return nil
}

func listArgs(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return fmt.Sprintf(" %q", args)
}

// printUsage is every command's usage: its synopsis, subcommands (for a
// group, each with its own flags, so `kubeline hpo -h` shows what `hpo run`
// takes), flags and global flags.
func printUsage(c *cobra.Command) error {
	w := c.OutOrStderr()
	fmt.Fprint(w, "Usage:\n")
	if c.Runnable() && !c.HasAvailableSubCommands() {
		fmt.Fprintf(w, "  %s\n", c.UseLine())
	}
	if c.HasAvailableSubCommands() {
		fmt.Fprintf(w, "  %s COMMAND\n", c.CommandPath())
		printCommands(w, c)
	}
	if c.HasExample() {
		fmt.Fprintf(w, "\nExamples:\n%s\n", c.Example)
	}
	if c.HasAvailableLocalFlags() {
		fmt.Fprintf(w, "\nFlags:\n%s", c.LocalFlags().FlagUsages())
	}
	if c.HasAvailableInheritedFlags() {
		fmt.Fprintf(w, "\nGlobal flags:\n%s", c.InheritedFlags().FlagUsages())
	}
	if !c.HasParent() {
		fmt.Fprint(w, `
Exit codes: 0 done; 1 the command failed (bad spec, failed run, an error from the server);
2 wrong command line (unknown command or flag, missing arguments).
`)
	}
	if c.HasAvailableSubCommands() {
		fmt.Fprintf(w, "\nUse \"%s COMMAND --help\" for more about a command.\n", c.CommandPath())
	}
	return nil
}

func printCommands(w io.Writer, c *cobra.Command) {
	pad := 0
	for _, s := range c.Commands() {
		if s.IsAvailableCommand() && len(s.Name()) > pad {
			pad = len(s.Name())
		}
	}
	titles := map[string]string{"": "Commands:"}
	order := []string{}
	for _, g := range c.Groups() {
		titles[g.ID] = g.Title
		order = append(order, g.ID)
	}
	order = append(order, "")
	if len(c.Groups()) > 0 {
		titles[""] = "Other commands:"
	}
	for _, id := range order {
		var lines []string
		for _, s := range c.Commands() {
			if s.IsAvailableCommand() && s.GroupID == id {
				lines = append(lines, fmt.Sprintf("  %-*s  %s", pad, s.Name(), s.Short))
			}
		}
		if len(lines) > 0 {
			fmt.Fprintf(w, "\n%s\n%s\n", titles[id], strings.Join(lines, "\n"))
		}
	}
	if !c.HasParent() {
		return
	}
	// A group: each subcommand's synopsis and its own flags (not those
	// every client command has).
	common := map[string]bool{"help": true, "output": true, "server": true, "token": true}
	for _, s := range c.Commands() {
		if !s.IsAvailableCommand() {
			continue
		}
		fmt.Fprintf(w, "\n%s\n", s.UseLine())
		own := pflag.NewFlagSet(s.Name(), pflag.ContinueOnError)
		s.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if !common[f.Name] && f.Usage != dbUsage {
				own.AddFlag(f)
			}
		})
		fmt.Fprint(w, indent(own.FlagUsages(), "  "))
	}
}

func indent(s, by string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != "" {
			lines[i] = by + l
		}
	}
	return strings.Join(lines, "")
}

// paramFlag collects repeated --param NAME=VALUE flags.
type paramFlag map[string]string

func (p paramFlag) String() string { return "" }

func (p paramFlag) Type() string { return "NAME=VALUE" }

func (p paramFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", s)
	}
	if _, dup := p[name]; dup {
		return fmt.Errorf("parameter %q given twice", name)
	}
	p[name] = value
	return nil
}

var _ pflag.Value = paramFlag{}
