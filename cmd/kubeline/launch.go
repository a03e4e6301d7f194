package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubeline/kubeline/cmd/internal/launchcmd"
	"github.com/kubeline/kubeline/runtime/launcher"
)

// newLaunchCmd is `kubeline launch`, the step wrapper (launchcmd.Launch)
// whose contract is in the compiler/argo package doc. Its flags are the
// launcher's own (launcher.ParseArgs), so the command line compiled into
// workflows stays as it is.
func newLaunchCmd(s streams) *cobra.Command {
	c := &cobra.Command{
		Use:   "launch --task T --component JSON [--in NAME=VALUE ...] -- COMMAND...",
		Short: "the step wrapper inside a pod: run a KFP component's command with its inputs and outputs",
		Long: `Launch is what every compiled step runs: it builds the KFP executor_input, resolves the component's
placeholders, runs COMMAND and turns its outputs into Argo outputs. Inputs are under /kubeline/in,
outputs under /kubeline/out ($KUBELINE_INPUTS_DIR, $KUBELINE_OUTPUTS_DIR). Its contract is
documented in compiler/argo/doc.go.`,
		DisableFlagParsing: true,
		RunE: func(c *cobra.Command, args []string) error {
			if wantsHelp(args) {
				return c.Help()
			}
			return code(launchcmd.Launch(args, s.out, s.errOut))
		},
	}
	c.SetHelpFunc(func(c *cobra.Command, _ []string) {
		var flags strings.Builder
		launcher.ParseArgs([]string{"-h"}, &flags) // the launcher's flag list
		fmt.Fprintf(c.OutOrStdout(), "%s\n\nUsage:\n  kubeline %s\n\nFlags:\n%s", c.Long, c.Use,
			strings.TrimPrefix(flags.String(), "Usage of launch:\n"))
	})
	return c
}

// wantsHelp says whether -h or --help comes before "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "--help", "-help":
			return true
		}
	}
	return false
}

// newInstallCmd is `kubeline install DIR` (launchcmd.Install): the init
// container copies the kubeline binary into the shared volume. Its command
// line (help, usage errors) is launchcmd's, as the in-pod binary's is.
func newInstallCmd(s streams) *cobra.Command {
	c := &cobra.Command{
		Use:                "install DIR",
		Short:              launchcmd.InstallShort,
		DisableFlagParsing: true,
		RunE: func(_ *cobra.Command, args []string) error {
			return code(launchcmd.Install(args, s.out, s.errOut))
		},
	}
	c.SetHelpFunc(func(c *cobra.Command, _ []string) { fmt.Fprint(c.OutOrStdout(), launchcmd.InstallHelp) })
	return c
}
